"""Stored records carry schema_version; older records are upgraded on load."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import CURRENT_VERSIONS, Chunk, DocumentVersion, IngestFailure, load_record
from schemas.migrations import upgrade

NOW = "2026-01-02T03:04:05+00:00"


def test_v0_chunk_is_upgraded_to_heading_path_and_chunk_id() -> None:
    v0 = {
        "id": "abc",
        "doc_id": "kb/a.md",
        "version": 2,
        "position": 3,
        "text": "Refunds take five days.",
        "headings": "Billing > Refunds",
        "page": None,
    }
    chunk = load_record("chunk", v0)
    assert isinstance(chunk, Chunk)
    assert chunk.schema_version == CURRENT_VERSIONS["chunk"] == 2
    assert chunk.chunk_id == "abc"
    assert chunk.ordinal == 3
    assert chunk.heading_path == ["Billing", "Refunds"]
    assert chunk.heading == "Billing > Refunds"


def test_v0_document_version_renames_hash_and_size() -> None:
    v0 = {
        "schema_version": 0,
        "doc_id": "kb/a.md",
        "version": 1,
        "hash": "f" * 64,
        "size": 10,
        "created_at": NOW,
    }
    version = load_record("document_version", v0)
    assert isinstance(version, DocumentVersion)
    assert version.sha256 == "f" * 64
    assert version.size_bytes == 10
    assert version.diff.added == []


def test_v0_failure_and_document_and_tombstone_load() -> None:
    failure = load_record(
        "ingest_failure",
        {
            "source": "kb",
            "path": "bad.pdf",
            "sha": None,
            "code": "pdf_corrupt",
            "message": "damaged",
            "attempts": 2,
            "time": NOW,
        },
    )
    assert isinstance(failure, IngestFailure)
    assert failure.doc_id == "kb/bad.pdf"
    assert failure.first_seen == failure.last_seen == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    document = load_record(
        "source_document",
        {
            "doc_id": "kb/a.md",
            "source": "kb",
            "path": "a.md",
            "current_version": None,
            "deleted": True,
            "created_at": NOW,
        },
    )
    assert document.status == "deleted" and document.rel_path == "a.md"
    tomb = load_record(
        "tombstone", {"doc_id": "kb/a.md", "last_version": 1, "sha256": "0" * 64, "deleted_at": NOW}
    )
    assert tomb.schema_version == 1


def test_a_record_newer_than_this_build_is_refused() -> None:
    with pytest.raises(ValueError, match="newer than this build"):
        upgrade("chunk", {"schema_version": 99})


def test_unknown_record_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown record kind"):
        upgrade("answer", {})


headings = st.lists(
    st.text(
        st.characters(blacklist_characters=">", blacklist_categories=["Cs"]),
        min_size=1,
        max_size=12,
    )
    .map(str.strip)
    .filter(bool),
    max_size=4,
)


@given(
    headings=headings, text=st.text(min_size=1).filter(str.strip), position=st.integers(0, 10**6)
)
def test_v0_chunks_keep_their_headings_text_and_place(
    headings: list[str], text: str, position: int
) -> None:
    v0 = {
        "id": "x",
        "doc_id": "d",
        "version": 1,
        "position": position,
        "text": text,
        "headings": " > ".join(headings),
    }
    chunk = load_record("chunk", v0)
    assert chunk.heading_path == headings
    assert chunk.text == text
    assert chunk.ordinal == position
