"""Which files Verity reads, by extension, and their media types."""

from __future__ import annotations

from pathlib import PurePath

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

MEDIA_TYPES: dict[str, str] = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".txt": "text/plain",
    ".text": "text/plain",
    ".rst": "text/plain",
    ".pdf": "application/pdf",
    ".docx": DOCX,
}

TEXT_TYPES = frozenset({"text/markdown", "text/html", "text/plain"})


def media_type_for(name: str) -> str | None:
    """The media type of a supported file name, or None if Verity does not read it."""
    return MEDIA_TYPES.get(PurePath(name).suffix.lower())
