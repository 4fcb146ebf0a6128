"""The catalog, on SQLite and on PostgreSQL: versions, diffs, tombstones, failures."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import inspect as sa_inspect

from catalog import Catalog, NewChunk
from catalog.tables import metadata
from core.errors import ConcurrentUpdate, SourceConflict
from schemas import DocumentStatus, ReasonCode

SHA1, SHA2, SHA3 = "1" * 64, "2" * 64, "3" * 64


def chunks(*texts: str) -> list[NewChunk]:
    return [NewChunk(f"id-{t}", f"text {t}", ("Guide", t), None) for t in texts]


def commit(catalog: Catalog, expected: int | None, sha: str, *texts: str, doc: str = "kb/a.md"):
    return catalog.commit_version(
        doc,
        "kb",
        doc.split("/", 1)[1],
        expected_current=expected,
        sha256=sha,
        size_bytes=10,
        media_type="text/markdown",
        new_chunks=chunks(*texts),
    )


def test_migrations_create_every_table_and_are_idempotent(catalog: Catalog) -> None:
    catalog.migrate()
    tables = set(sa_inspect(catalog.engine).get_table_names())
    assert {
        "sources",
        "documents",
        "document_versions",
        "chunks",
        "tombstones",
        "ingest_failures",
        "alembic_version",
    } <= tables
    assert tables == set(metadata.tables) | {"alembic_version"}  # migrations match tables.py


def test_processes_starting_at_once_migrate_a_fresh_database_safely(catalog_url: str) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        store = Catalog(catalog_url)
        try:
            store.migrate()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_migrations_and_table_definitions_agree(catalog: Catalog) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from catalog.tables import metadata

    with catalog.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_every_version_is_kept_with_its_chunks_and_one_is_current(catalog: Catalog) -> None:
    commit(catalog, None, SHA1, "a", "b")
    second = commit(catalog, 1, SHA2, "a", "c")
    assert second.version == 2
    assert (second.diff.added, second.diff.removed, second.diff.unchanged) == (
        ["id-c"],
        ["id-b"],
        ["id-a"],
    )
    assert [v.version for v in catalog.versions("kb/a.md")] == [1, 2]
    assert catalog.current_version("kb/a.md").sha256 == SHA2
    assert [c.text for c in catalog.chunks("kb/a.md", 1)] == ["text a", "text b"]
    assert [c.heading_path for c in catalog.chunks("kb/a.md", 2)] == [
        ["Guide", "a"],
        ["Guide", "c"],
    ]


def test_a_stale_writer_is_refused_and_writes_nothing(catalog: Catalog) -> None:
    commit(catalog, None, SHA1, "a")
    commit(catalog, 1, SHA2, "b")
    with pytest.raises(ConcurrentUpdate):
        commit(catalog, 1, SHA3, "c")
    assert catalog.current_version("kb/a.md").sha256 == SHA2
    assert len(catalog.versions("kb/a.md")) == 2


def test_two_racing_writers_leave_exactly_one_new_version(catalog: Catalog) -> None:
    commit(catalog, None, SHA1, "a")
    outcomes: list[str] = []

    def write(sha: str) -> None:
        try:
            commit(catalog, 1, sha, sha[:1])
            outcomes.append("ok")
        except ConcurrentUpdate:
            outcomes.append("conflict")

    threads = [threading.Thread(target=write, args=(sha,)) for sha in (SHA2, SHA3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    assert [v.version for v in catalog.versions("kb/a.md")] == [1, 2]


def test_delete_records_a_tombstone_once(catalog: Catalog) -> None:
    commit(catalog, None, SHA1, "a")
    tomb = catalog.delete_document("kb/a.md")
    assert tomb is not None and (tomb.last_version, tomb.sha256) == (1, SHA1)
    assert catalog.delete_document("kb/a.md") is None
    doc = catalog.document("kb/a.md")
    assert doc.status == DocumentStatus.DELETED and doc.current_version is None
    assert len(catalog.tombstones("kb/a.md")) == 1
    assert catalog.chunks("kb/a.md", 1), "old versions stay in the catalog"


def test_a_document_that_comes_back_gets_the_next_version(catalog: Catalog) -> None:
    commit(catalog, None, SHA1, "a")
    catalog.delete_document("kb/a.md")
    again = commit(catalog, None, SHA1, "a")
    assert again.version == 2 and again.diff.added == ["id-a"]
    assert catalog.document("kb/a.md").status == DocumentStatus.ACTIVE


def test_summaries_list_current_sha_and_chunk_counts(catalog: Catalog) -> None:
    commit(catalog, None, SHA1, "a", "b", doc="kb/a.md")
    commit(catalog, None, SHA2, "c", doc="kb/b.md")
    catalog.delete_document("kb/b.md")
    rows = {
        s.document.doc_id: (s.sha256, s.chunk_count, s.document.status) for s in catalog.summaries()
    }
    assert rows == {"kb/a.md": (SHA1, 2, "active"), "kb/b.md": (None, 0, "deleted")}


def test_failures_count_attempts_and_quarantine(catalog: Catalog) -> None:
    def fail(reason: ReasonCode, sha: str | None = SHA1):
        return catalog.failures.record(
            source="kb",
            path="a.pdf",
            doc_id="kb/a.pdf",
            sha256=sha,
            reason=reason,
            message="boom",
            max_attempts=3,
        )

    assert [
        (f.attempts, f.quarantined) for f in (fail(ReasonCode.PARSE_TIMEOUT) for _ in range(3))
    ] == [(1, False), (2, False), (3, True)]
    final = fail(ReasonCode.PDF_CORRUPT, SHA2)
    assert (final.attempts, final.quarantined) == (1, True), "a final reason quarantines at once"
    assert catalog.failures.open_failure("kb/a.pdf", SHA1).attempts == 3
    assert fail(ReasonCode.TOO_LARGE, None).sha256 is None
    assert catalog.failures.resolve("kb/a.pdf") == 3
    assert catalog.failures.list() == []
    assert len(catalog.failures.list(include_resolved=True)) == 3


def test_sources_are_registered_once_and_move_only_when_asked(catalog: Catalog, tmp_path) -> None:
    catalog.register_source("kb", tmp_path / "one")
    catalog.register_source("kb", tmp_path / "one")
    with pytest.raises(SourceConflict, match="is the folder"):
        catalog.register_source("kb", tmp_path / "two")
    assert catalog.source_roots() == {"kb": tmp_path / "one"}
    catalog.register_source("kb", tmp_path / "two", allow_move=True)
    assert catalog.source_roots() == {"kb": tmp_path / "two"}


def test_conversations_audit_records_and_feedback_round_trip(catalog: Catalog) -> None:
    from datetime import UTC, datetime

    from core.errors import NotFound
    from schemas.answer import Answer, AuditRecord, FeedbackRequest

    conversations = catalog.conversations
    assert not conversations.exists("c1")
    assert conversations.append("c1", "user", "hello") == 1
    assert conversations.append("c1", "agent", "hi", answer_id="a1") == 2
    assert conversations.exists("c1")
    assert [(t.turn, t.role, t.text) for t in conversations.turns("c1")] == [
        (1, "user", "hello"),
        (2, "agent", "hi"),
    ]
    assert [t.text for t in conversations.turns("c1", last=1)] == ["hi"]
    answer = Answer(
        answer_id="a1",
        conversation_id="c1",
        status="declined",
        text="no",
        confidence=0.1,
        query="hello",
        index_generation=3,
        embedding_model="m",
        generator="g",
        trace_id="t",
        latency_ms=1.0,
    )
    record = AuditRecord(
        created_at=datetime.now(UTC),
        answer=answer,
        question="hello",
        history_turns=0,
        retrieved=[],
        attempts=[],
        snapshot_checks=[],
    )
    catalog.answers.record(record)
    assert catalog.answers.audit("a1") == record
    assert [r.answer.answer_id for r in catalog.answers.audits(status="declined")] == ["a1"]
    assert catalog.answers.audits(status="answered") == []
    catalog.answers.add_feedback(FeedbackRequest(answer_id="a1", helpful=True))
    assert [f.helpful for f in catalog.answers.feedback("a1")] == [True]
    with pytest.raises(NotFound):
        catalog.answers.add_feedback(FeedbackRequest(answer_id="nope", helpful=True))


def test_a_text_cached_by_another_writer_meanwhile_costs_no_other_vector(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = catalog.embeddings
    cache.put("m", {"a": [1.0, 0.0]})
    real_get = cache.get
    reads = []

    def first_read_misses_a(model_id: str, shas: list[str]) -> dict[str, list[float]]:
        reads.append(shas)  # the first read ran before the other writer's commit
        return {} if len(reads) == 1 else real_get(model_id, shas)

    monkeypatch.setattr(cache, "get", first_read_misses_a)
    cache.put("m", {"a": [1.0, 0.0], "b": [0.0, 1.0]})  # "a" collides on insert
    monkeypatch.undo()
    assert cache.get("m", ["a", "b"]) == {"a": [1.0, 0.0], "b": [0.0, 1.0]}
