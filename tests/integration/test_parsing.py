"""Parsing real files in the real parser process: formats, hostile PDFs, limits, offline."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from core.errors import IngestError, ParseMemoryExceeded, ParseTimeout
from ingest.parsing import ParserPool
from ingest.parsing.media import DOCX
from schemas import ReasonCode
from tests.helpers.documents import build_docx, build_pdf, encrypt_pdf

MB = 2**20
MARKDOWN = b"# Billing\n\nIntro to billing.\n\n## Refunds\n\nRefunds take five days.\n\n- by card\n"
HTML = b"<html><body><h1>Accounts</h1><p>Intro.</p><h2>Login</h2><p>Reset it.</p></body></html>"
REST = b"=====\nFAQ\n=====\n\nIntro.\n\nHow do I log in?\n================\n\nUse the form.\n"
GOOD_PDF = build_pdf(
    [["Billing guide", "Refunds take five days."], ["Accounts are locked after five tries."]]
)


def test_markdown_keeps_heading_paths(parser_pool: ParserPool) -> None:
    blocks = parser_pool.parse(MARKDOWN, "a.md", "text/markdown")
    assert [(b.heading_path, b.text) for b in blocks] == [
        (("Billing",), "Intro to billing."),
        (("Billing", "Refunds"), "Refunds take five days."),
        (("Billing", "Refunds"), "- by card"),
    ]


def test_html_keeps_heading_paths(parser_pool: ParserPool) -> None:
    blocks = parser_pool.parse(HTML, "a.html", "text/html")
    assert [(b.heading_path, b.text) for b in blocks] == [
        (("Accounts",), "Intro."),
        (("Accounts", "Login"), "Reset it."),
    ]


def test_rest_text_keeps_heading_paths(parser_pool: ParserPool) -> None:
    blocks = parser_pool.parse(REST, "faq.txt", "text/plain")
    assert [(b.heading_path, b.text) for b in blocks] == [
        (("FAQ",), "Intro."),
        (("FAQ", "How do I log in?"), "Use the form."),
    ]


def test_docx_keeps_heading_paths(parser_pool: ParserPool) -> None:
    data = build_docx([("Setup", ["Install the app."]), ("Usage", ["Open it."])])
    blocks = parser_pool.parse(data, "a.docx", DOCX)
    assert [(b.heading_path, b.text) for b in blocks] == [
        (("Setup",), "Install the app."),
        (("Usage",), "Open it."),
    ]


def test_pdf_blocks_carry_page_numbers(parser_pool: ParserPool) -> None:
    blocks = parser_pool.parse(GOOD_PDF, "a.pdf", "application/pdf")
    text_by_page = {b.page: b.text for b in blocks}
    assert "five days" in " ".join(b.text for b in blocks if b.page == 1)
    assert "locked after five tries" in text_by_page[2]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (encrypt_pdf(GOOD_PDF), ReasonCode.PDF_ENCRYPTED),
        (GOOD_PDF[: len(GOOD_PDF) // 2], ReasonCode.PDF_CORRUPT),
        (build_pdf([["looping pages"]], recursive=True), ReasonCode.PDF_CORRUPT),
        (b"%PDF-1.4\n%%EOF\n", ReasonCode.PDF_CORRUPT),
    ],
    ids=["encrypted", "truncated", "recursive-page-tree", "no-pages"],
)
def test_hostile_pdfs_fail_clearly_never_as_empty_documents(
    parser_pool: ParserPool, data: bytes, reason: ReasonCode
) -> None:
    with pytest.raises(IngestError) as info:
        parser_pool.parse(data, "bad.pdf", "application/pdf")
    assert info.value.reason == reason
    assert str(info.value)


def test_a_pdf_without_text_is_no_text_not_an_empty_document(parser_pool: ParserPool) -> None:
    with pytest.raises(IngestError) as info:
        parser_pool.parse(build_pdf([[]]), "scan.pdf", "application/pdf")
    assert info.value.reason == ReasonCode.NO_TEXT


def test_whitespace_only_markdown_has_no_text(parser_pool: ParserPool) -> None:
    with pytest.raises(IngestError) as info:
        parser_pool.parse(b"\n\n   \n", "blank.md", "text/markdown")
    assert info.value.reason == ReasonCode.NO_TEXT


@pytest.fixture(scope="module")
def hanging_pool() -> Iterator[ParserPool]:
    pool = ParserPool(
        timeout_s=1.0, memory_mb=512, max_inflated_bytes=MB, target="tests.helpers.parsers:hang"
    )
    yield pool
    pool.close()


def test_a_parser_past_its_time_limit_is_killed_and_the_next_file_gets_a_fresh_one(
    hanging_pool: ParserPool,
) -> None:
    for _ in range(2):
        with pytest.raises(ParseTimeout, match="1 s limit"):
            hanging_pool.parse(MARKDOWN, "a.md", "text/markdown")
    assert hanging_pool.restarts == 2


def test_a_parser_past_its_memory_cap_is_stopped() -> None:
    pool = ParserPool(
        timeout_s=60, memory_mb=256, max_inflated_bytes=MB, target="tests.helpers.parsers:balloon"
    )
    try:
        with pytest.raises(ParseMemoryExceeded, match="256 MB"):
            pool.parse(MARKDOWN, "a.md", "text/markdown")
    finally:
        pool.close()


NO_NETWORK = textwrap.dedent("""
    import json, sys
    attempts = []
    def guard(event, args):
        if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname",
                     "urllib.Request"):
            attempts.append([event, repr(args)[:120]])
            raise OSError(f"network use during parsing: {event}")
    sys.addaudithook(guard)
    from ingest.parsing.document import parse_document
    from tests.integration.test_parsing import MARKDOWN, HTML, REST, GOOD_PDF
    from tests.helpers.documents import build_docx
    from ingest.parsing.media import DOCX
    samples = [(MARKDOWN, "a.md", "text/markdown"), (HTML, "a.html", "text/html"),
               (REST, "a.txt", "text/plain"), (GOOD_PDF, "a.pdf", "application/pdf"),
               (build_docx([("T", ["body"])]), "a.docx", DOCX)]
    counts = [len(parse_document(d, n, m, 1 << 24)) for d, n, m in samples]
    print(json.dumps({"attempts": attempts, "counts": counts}))
""")


def test_parsing_every_format_opens_no_network_connection() -> None:
    """A fresh interpreter (nothing cached) parses each format with sockets forbidden."""
    run = subprocess.run(
        [sys.executable, "-c", NO_NETWORK], capture_output=True, text=True, timeout=300, check=False
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["attempts"] == []
    assert all(count > 0 for count in report["counts"])


def test_without_the_pdf_extra_a_pdf_is_refused_saying_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ingest.parsing.document import parse_document, pdf_support

    monkeypatch.setitem(sys.modules, "unstructured.partition.pdf", None)  # not installed
    pdf_support.cache_clear()
    try:
        with pytest.raises(IngestError) as refused:
            parse_document(build_pdf([["A manual page."]]), "m.pdf", "application/pdf", 1 << 20)
        assert refused.value.reason == ReasonCode.UNSUPPORTED_TYPE
        assert "verity[pdf]" in str(refused.value)
        blocks = parse_document(b"# Still fine\n\nMarkdown.", "a.md", "text/markdown", 1 << 20)
        assert [b.text for b in blocks][-1] == "Markdown."
    finally:
        monkeypatch.undo()
        pdf_support.cache_clear()
    assert pdf_support()  # installed here: PDFs parse
