"""Checks before parsing: names, links, sizes, types, archive bombs, XML entities, encodings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.errors import RejectedFile
from ingest.files import check_name, inspect, is_ignored, printable_path
from ingest.parsing.guards import check_bytes, check_docx, decode_text
from ingest.parsing.media import DOCX
from schemas import ReasonCode
from tests.helpers.documents import (
    BILLION_LAUGHS,
    EXTERNAL_ENTITY,
    build_docx,
    entity_docx,
    write,
    zip_bomb_docx,
)

MB = 2**20


@pytest.mark.parametrize(
    "name",
    [
        ".hidden.md",
        "notes.md~",
        "~$report.docx",
        ".~lock.report.docx#",
        "#draft.md#",
        "draft.md.swp",
        "draft.tmp",
        "download.pdf.part",
        "4913",
        ".git/config",
        "a/.cache/x.md",
    ],
)
def test_temp_hidden_and_lock_files_are_ignored(name: str) -> None:
    assert is_ignored(name)


@pytest.mark.parametrize("name", ["guide.md", "sub/dir/manual.pdf", "faq.txt", "q&a.html"])
def test_ordinary_files_are_not_ignored(name: str) -> None:
    assert not is_ignored(name)


def test_a_name_that_is_not_utf8_is_refused_and_shown_escaped() -> None:
    name = os.fsdecode(b"caf\xe9.md")
    with pytest.raises(RejectedFile) as info:
        check_name(name)
    assert info.value.reason == ReasonCode.BAD_FILENAME
    assert printable_path(name) == "caf\\xe9.md"


def test_a_name_with_a_newline_is_refused() -> None:
    with pytest.raises(RejectedFile, match="control character") as info:
        check_name("two\nlines.md")
    assert info.value.reason == ReasonCode.BAD_FILENAME


def test_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    secret = write(tmp_path / "outside" / "secret.md", "# Secret\n\nkeys")
    root.mkdir()
    (root / "link.md").symlink_to(secret)
    with pytest.raises(RejectedFile, match="outside the source folder") as info:
        inspect(root, "link.md", MB)
    assert info.value.reason == ReasonCode.OUTSIDE_ROOT


def test_symlink_inside_the_root_is_followed(tmp_path: Path) -> None:
    target = write(tmp_path / "kb" / "real.md", "# Real\n\ntext")
    (tmp_path / "kb" / "alias.md").symlink_to(target)
    facts = inspect(tmp_path / "kb", "alias.md", MB)
    assert facts.size == target.stat().st_size


def test_hard_link_is_refused(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside.md", "# Outside\n\ntext")
    (tmp_path / "kb").mkdir()
    os.link(outside, tmp_path / "kb" / "linked.md")
    with pytest.raises(RejectedFile, match="hard links") as info:
        inspect(tmp_path / "kb", "linked.md", MB)
    assert info.value.reason == ReasonCode.HARD_LINK


def test_a_2gb_file_is_refused_by_size_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "kb" / "huge.pdf"
    big.parent.mkdir()
    with open(big, "wb") as handle:
        handle.truncate(2 * 1024 * MB)  # sparse: 2 GB on paper, nothing on disk
    with pytest.raises(RejectedFile, match=r"over the 50\.0 MB limit") as info:
        inspect(tmp_path / "kb", "huge.pdf", 50 * MB)
    assert info.value.reason == ReasonCode.TOO_LARGE


def test_empty_and_unsupported_files_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "empty.md", b"")
    write(tmp_path / "photo.png", b"\x89PNG....")
    with pytest.raises(RejectedFile) as empty:
        inspect(tmp_path, "empty.md", MB)
    with pytest.raises(RejectedFile, match=r"unsupported file type '\.png'") as png:
        inspect(tmp_path, "photo.png", MB)
    assert (empty.value.reason, png.value.reason) == (ReasonCode.EMPTY, ReasonCode.UNSUPPORTED_TYPE)


def test_an_executable_renamed_pdf_is_refused() -> None:
    with pytest.raises(RejectedFile, match="executable") as info:
        check_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 100, "application/pdf", MB)
    assert info.value.reason == ReasonCode.TYPE_MISMATCH


def test_a_pdf_without_pdf_header_is_refused() -> None:
    with pytest.raises(RejectedFile, match="not a PDF"):
        check_bytes(b"<html>not a pdf</html>", "application/pdf", MB)


def test_docx_zip_bomb_is_stopped_by_bytes_actually_inflated() -> None:
    with pytest.raises(RejectedFile, match="zip bomb") as info:
        check_docx(zip_bomb_docx(30), 10 * MB)
    assert info.value.reason == ReasonCode.ARCHIVE_BOMB


def test_docx_bomb_that_lies_about_its_size_is_still_refused() -> None:
    with pytest.raises(RejectedFile) as info:
        check_docx(zip_bomb_docx(30, forge_declared_size=True), 10 * MB)
    assert info.value.reason in {ReasonCode.ARCHIVE_BOMB, ReasonCode.CORRUPT}


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "xxe"])
def test_docx_with_xml_entities_is_refused(xml: bytes) -> None:
    with pytest.raises(RejectedFile, match="DTD or entities") as info:
        check_bytes(entity_docx(xml), DOCX, 10 * MB)
    assert info.value.reason == ReasonCode.XML_ENTITIES


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-32-be"])
def test_docx_entities_in_utf16_or_utf32_parts_are_refused_too(encoding: str) -> None:
    xml = BILLION_LAUGHS.decode().replace('"1.0"?>', f'"1.0" encoding="{encoding}"?>')
    with pytest.raises(RejectedFile, match="DTD or entities") as info:
        check_bytes(entity_docx(xml.encode(encoding)), DOCX, 10 * MB)
    assert info.value.reason == ReasonCode.XML_ENTITIES


def test_a_real_docx_passes() -> None:
    check_bytes(build_docx([("Title", ["Body"])]), DOCX, 10 * MB)


def test_a_zip_without_a_word_document_is_not_a_docx() -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(RejectedFile, match=r"no word/document\.xml"):
        check_docx(buffer.getvalue(), MB)


def test_non_utf8_text_is_refused_with_the_offset() -> None:
    with pytest.raises(RejectedFile, match=r"byte 0xe9 at offset 3") as info:
        decode_text("caf\u00e9 au lait".encode("latin-1"))
    assert info.value.reason == ReasonCode.ENCODING


def test_binary_in_a_text_file_is_refused() -> None:
    with pytest.raises(RejectedFile, match="NUL"):
        decode_text(b"abc\x00def")


def test_utf8_with_bom_is_read() -> None:
    assert decode_text("\ufeffhello".encode()) == "hello"
