"""Builders of real test documents: PDFs (good and hostile), DOCX (good and hostile)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path


def build_pdf(pages: list[list[str]], recursive: bool = False) -> bytes:
    """A minimal, valid PDF with one text line per entry; `recursive` loops the page tree."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    pages_id = len(objects) + 1 + 2 * len(pages)
    page_ids = []
    for lines in pages:
        ops = [b"BT /F1 12 Tf 72 720 Td 14 TL"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(b"(" + escaped.encode("latin-1") + b") Tj T*")
        ops.append(b"ET")
        stream = b"\n".join(ops)
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        page_ids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (pages_id, content, font)
            )
        )
    kids = " ".join(f"{p} 0 R" for p in page_ids) + (f" {pages_id} 0 R" if recursive else "")
    assert add(f"<< /Type /Pages /Kids [{kids}] /Count {len(page_ids)} >>".encode()) == pages_id
    root = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        root,
        xref,
    )
    return bytes(out)


def encrypt_pdf(data: bytes, password: str = "secret") -> bytes:
    """The same PDF, encrypted with a user password."""
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(data))
    writer.encrypt(password)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def build_docx(sections: list[tuple[str, list[str]]]) -> bytes:
    """A real DOCX (python-docx): a level-1 heading and its paragraphs per section."""
    import docx

    document = docx.Document()
    for heading, paragraphs in sections:
        document.add_heading(heading, 1)
        for paragraph in paragraphs:
            document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def replace_docx_part(data: bytes, name: str, content: bytes) -> bytes:
    """The DOCX with one part's bytes replaced (or added)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            if info.filename != name:
                out.writestr(info, source.read(info.filename))
        out.writestr(name, content)
    return buffer.getvalue()


def zip_bomb_docx(inflated_mb: int, forge_declared_size: bool = False) -> bytes:
    """A valid-looking DOCX with a part that inflates to `inflated_mb` MB of zeros.

    With `forge_declared_size` the archive claims that part is 100 bytes.
    """
    base = build_docx([("Bomb", ["a harmless paragraph"])])
    bomb = replace_docx_part(base, "word/media/zeros.bin", b"\0" * (inflated_mb * 2**20))
    return _forge_sizes(bomb, "word/media/zeros.bin", 100) if forge_declared_size else bomb


def _forge_sizes(data: bytes, name: str, size: int) -> bytes:
    """Rewrite the uncompressed size the archive declares for `name` (both headers)."""
    out = bytearray(data)
    encoded = name.encode()
    # (signature, offset of uncompressed size, offset of name length, header length)
    for signature, size_at, name_len_at, header in (
        (b"PK\x03\x04", 22, 26, 30),
        (b"PK\x01\x02", 24, 28, 46),
    ):
        pos = out.find(signature)
        while pos != -1:
            name_len = int.from_bytes(out[pos + name_len_at : pos + name_len_at + 2], "little")
            if out[pos + header : pos + header + name_len] == encoded:
                out[pos + size_at : pos + size_at + 4] = size.to_bytes(4, "little")
            pos = out.find(signature, pos + 4)
    return bytes(out)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE doc [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:body><w:p><w:r><w:t>&secret;</w:t></w:r></w:p></w:body></w:document>"""


def entity_docx(document_xml: bytes) -> bytes:
    """A DOCX whose main part is `document_xml` (billion laughs, external entity...)."""
    base = build_docx([("Entities", ["placeholder"])])
    return replace_docx_part(base, "word/document.xml", document_xml)


def write(path: Path, data: bytes | str) -> Path:
    """Write a file, creating folders; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path
