"""Stable identifiers: content hashes, document ids and chunk ids."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def sha256_hex(data: bytes) -> str:
    """The sha256 of `data`, as lowercase hex."""
    return hashlib.sha256(data).hexdigest()


def document_id(source: str, rel_path: str) -> str:
    """A document's id: its source name and its path relative to the source root."""
    return f"{source}/{rel_path}"


def chunk_id(
    doc_id: str, heading_path: Sequence[str], page: int | None, text: str, occurrence: int
) -> str:
    """A chunk's id: the same text at the same place (heading path, page) gets the same id.

    `occurrence` tells apart identical texts under one heading (the n-th copy).
    """
    key = "\x1f".join([doc_id, "\x1e".join(heading_path), str(page or 0), str(occurrence), text])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
