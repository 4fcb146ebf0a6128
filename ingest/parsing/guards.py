"""Checks on a file's bytes before any parser sees them.

They refuse executables under a document's name, PDFs that are not PDFs, DOCX zip bombs
(counting bytes actually inflated, never the sizes the archive declares), XML entity
tricks inside a DOCX, binary or non-UTF-8 text.
"""

from __future__ import annotations

import io
import re
import zipfile

from core.errors import RejectedFile
from ingest.parsing.media import DOCX, TEXT_TYPES
from schemas import ReasonCode

EXECUTABLE_MAGIC = (b"\x7fELF", b"MZ", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa")
#: XML parts may be UTF-8, UTF-16 or UTF-32 (either byte order): a DTD is looked for in each.
_XML_ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
_DTD = re.compile(
    b"|".join(
        re.escape(f"<!{word}".encode(encoding))
        for encoding in _XML_ENCODINGS
        for word in ("DOCTYPE", "ENTITY")
    ),
    re.IGNORECASE,
)
_TAIL = 64  # bytes kept from one block to the next: the longest marker (UTF-32) spans 36
_READ_SIZE = 1 << 16


def check_bytes(data: bytes, media_type: str, max_inflated: int) -> None:
    """Raise `RejectedFile` if `data` is not a safe document of `media_type`."""
    if data.startswith(EXECUTABLE_MAGIC):
        raise RejectedFile(f"the file is an executable, not {media_type}", ReasonCode.TYPE_MISMATCH)
    if media_type == "application/pdf":
        if b"%PDF-" not in data[:1024]:
            raise RejectedFile("not a PDF: no %PDF- header", ReasonCode.TYPE_MISMATCH)
    elif media_type == DOCX:
        check_docx(data, max_inflated)
    elif media_type in TEXT_TYPES:
        decode_text(data)


def decode_text(data: bytes) -> str:
    """Text files must be UTF-8 (a BOM is allowed) and hold no NUL bytes."""
    if b"\x00" in data:
        raise RejectedFile("binary content (NUL bytes) in a text file", ReasonCode.TYPE_MISMATCH)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RejectedFile(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8",
            ReasonCode.ENCODING,
        ) from exc


def check_docx(data: bytes, max_inflated: int) -> None:
    """Inflate every part under a byte budget; refuse DTDs and entities in XML parts."""
    if not data.startswith(b"PK\x03\x04"):
        raise RejectedFile("not a DOCX: not a zip archive", ReasonCode.TYPE_MISMATCH)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if "word/document.xml" not in names:
                raise RejectedFile("not a DOCX: no word/document.xml", ReasonCode.TYPE_MISMATCH)
            budget = max_inflated
            for info in archive.infolist():
                budget -= _inflate_part(archive, info, budget)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise RejectedFile(f"corrupt DOCX archive: {exc}", ReasonCode.CORRUPT) from exc


def _inflate_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> int:
    """Inflate one part, counting real bytes; returns how many it produced."""
    is_xml = info.filename.endswith((".xml", ".rels"))
    produced, tail = 0, b""
    with archive.open(info) as part:
        while block := part.read(_READ_SIZE):
            produced += len(block)
            if produced > budget:
                raise RejectedFile(
                    f"archive inflates past {budget:,} bytes at {info.filename!r} "
                    "(a zip bomb?); raise VERITY_MAX_INFLATED_MB if it is real",
                    ReasonCode.ARCHIVE_BOMB,
                )
            if is_xml and _DTD.search(tail + block):
                raise RejectedFile(
                    f"{info.filename!r} declares a DTD or entities, which DOCX never needs",
                    ReasonCode.XML_ENTITIES,
                )
            tail = block[-_TAIL:]
    return produced
