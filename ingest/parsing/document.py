"""Parse one document's bytes into `Block`s (runs inside the parser process).

Markdown and reStructuredText go to our own readers, which keep code and structure as display
Markdown; HTML, DOCX, PDF and other plain text to unstructured. PDFs use the fast strategy
(pdfminer), never `hi_res`; a PDF that yields nothing is a failure (encrypted, damaged or
scanned), never an empty document.
"""

from __future__ import annotations

import importlib
import io
import logging
from functools import cache
from typing import Any

from core.errors import ParseError, RejectedFile
from ingest.parsing.blocks import Block
from ingest.parsing.classify import use_cheap_classification
from ingest.parsing.guards import check_bytes, decode_text
from ingest.parsing.markdown import markdown_blocks
from ingest.parsing.media import DOCX
from ingest.parsing.offline_nlp import prepare_unstructured
from ingest.parsing.rest import looks_like_rest, rest_blocks
from ingest.parsing.structure import to_blocks
from schemas import ReasonCode

LANGUAGES = ["eng"]
WARMUP_DOCUMENT = b"# Warm up\n\nLoads the parsers once, before the memory cap.\n"


def warm_up() -> None:
    """Import every partitioner and load spaCy, so none of it counts against a parse's cap.

    (The PDF path imports torch, onnxruntime and OpenCV: large address-space reservations.)
    """
    prepare_unstructured()
    use_cheap_classification()
    import unstructured.partition.docx
    import unstructured.partition.html
    import unstructured.partition.text  # noqa: F401

    pdf_support()

    parse_document(WARMUP_DOCUMENT, "warmup.md", "text/markdown", 1 << 20)
    parse_document(WARMUP_DOCUMENT, "warmup.txt", "text/plain", 1 << 20)


def parse_document(data: bytes, filename: str, media_type: str, max_inflated: int) -> list[Block]:
    """Check, partition and structure one file; raise an `IngestError` saying why not."""
    if not data:
        raise RejectedFile("the file is empty", ReasonCode.EMPTY)
    check_bytes(data, media_type, max_inflated)
    blocks = _own_reader(data, filename, media_type)
    if blocks is None:
        prepare_unstructured()
        use_cheap_classification()
        elements = _partition(data, filename, media_type)
        blocks = to_blocks(elements, plain_text=media_type == "text/plain")
    if not blocks:
        raise ParseError("no text found in the document", ReasonCode.NO_TEXT)
    return blocks


def _own_reader(data: bytes, filename: str, media_type: str) -> list[Block] | None:
    """Markdown and reST keep their structure and code in our own readers (display Markdown);
    None: unstructured partitions the file."""
    if media_type == "text/markdown":
        text = decode_text(data)
        return _guarded(lambda: markdown_blocks(text), filename)
    if media_type == "text/plain":
        text = decode_text(data)
        if filename.lower().endswith(".rst") or looks_like_rest(text):
            return _guarded(lambda: rest_blocks(text), filename)
    return None


def _partition(data: bytes, filename: str, media_type: str) -> list[Any]:
    if media_type == "application/pdf":
        return _partition_pdf(data, filename)
    if media_type == DOCX:
        from unstructured.partition.docx import partition_docx

        return _guarded(lambda: partition_docx(file=io.BytesIO(data)), filename)
    text = decode_text(data)
    if media_type == "text/html":
        from unstructured.partition.html import partition_html

        return _guarded(lambda: partition_html(text=text, languages=LANGUAGES), filename)
    from unstructured.partition.text import partition_text

    return _guarded(lambda: partition_text(text=text, languages=LANGUAGES), filename)


def _partition_pdf(data: bytes, filename: str) -> list[Any]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise RejectedFile(
                "the PDF is encrypted; save it without a password", ReasonCode.PDF_ENCRYPTED
            )
        pages = len(reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ParseError(f"damaged PDF: {exc}", ReasonCode.PDF_CORRUPT) from exc
    if not pdf_support():
        raise RejectedFile(
            "PDF support is not installed here: install Verity with its `pdf` extra "
            "(pip install 'verity[pdf]', then unstructured-inference with --no-deps) and "
            "reindex the document",
            ReasonCode.UNSUPPORTED_TYPE,
        )
    from unstructured.partition.pdf import partition_pdf

    elements = _guarded(
        lambda: partition_pdf(file=io.BytesIO(data), strategy="fast", languages=LANGUAGES),
        filename,
    )
    if not elements:
        raise ParseError(
            f"no extractable text in {pages} page(s): damaged, or scanned images (no OCR here)",
            ReasonCode.PDF_CORRUPT if pages == 0 else ReasonCode.NO_TEXT,
        )
    return elements


@cache
def pdf_support() -> bool:
    """Whether unstructured's PDF path can be imported (Verity's `pdf` extra installed)."""
    try:
        importlib.import_module("unstructured.partition.pdf")
    except ImportError:
        return False
    return True


def _guarded(partition: Any, filename: str) -> list[Any]:
    try:
        return list(partition())
    except (RejectedFile, ParseError, MemoryError):
        raise
    except RecursionError as exc:
        raise ParseError(f"{filename}: structure nests too deep", ReasonCode.CORRUPT) from exc
    except Exception as exc:  # unstructured raises anything; name it, keep the cause
        raise ParseError(
            f"{filename}: parser failed: {type(exc).__name__}: {exc}", ReasonCode.PARSE_ERROR
        ) from exc
