"""Incremental indexing and retrieval on real files: only what changed is embedded, and a
reader never sees a superseded or deleted version."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.active import Embedders
from index.follower import IndexFollower
from index.indexer import Indexer
from ingest.tasks import IngestContext, ingest_file
from retrieve.hybrid import Retriever
from schemas.tasks import DeleteFile, IngestFile
from tests.helpers.documents import write
from tests.helpers.index import edge_index, reindexed

PARAS = [
    "Refunds are paid back to the original card within five business days of approval.",
    "Invoices are emailed on the first day of each month and list every seat you pay for.",
    "Changing plans mid-cycle credits the unused days of the old plan to the next invoice.",
    "Annual plans can be cancelled within thirty days for a full refund, no questions asked.",
]


def guide(paras: list[str]) -> str:
    body = "\n\n".join(" ".join([p] * 3) for p in paras)
    return f"# Billing\n\n## Payments\n\n{body}\n"


@pytest.fixture
def indexed(
    ctx: IngestContext, tmp_path: Path, embedders: Embedders
) -> Iterator[tuple[IngestContext, Retriever]]:
    active = edge_index(tmp_path / "index", embedders)
    ctx.indexer = Indexer(ctx.catalog, active)
    yield ctx, Retriever(ctx.catalog, active)
    active.close()


def ingest(ctx: IngestContext, name: str):
    return ingest_file(ctx, IngestFile(source="kb", rel_path=name))


def test_a_new_document_is_embedded_and_searchable_with_its_version(indexed, kb: Path) -> None:
    ctx, retriever = indexed
    write(kb / "billing.md", guide(PARAS))
    result = ingest(ctx, "billing.md")
    assert result.chunks_embedded == result.chunks_added == 4
    found = retriever.search("how long until my refund reaches my card", k=3)
    top = found.hits[0].payload
    assert (top.doc_id, top.version, top.heading_path) == (
        "kb/billing.md",
        1,
        ["Billing", "Payments"],
    )
    assert "five business days" in top.text
    assert found.snapshot == [("kb/billing.md", 1)]
    assert found.generation == ctx.catalog.generations.current() >= 1


def test_edit_of_one_paragraph_embeds_one_chunk(indexed, kb: Path) -> None:
    ctx, retriever = indexed
    write(kb / "billing.md", guide(PARAS))
    ingest(ctx, "billing.md")
    edited = list(PARAS)
    edited[1] = "Invoices now arrive by post, printed on recycled paper, every quarter."
    write(kb / "billing.md", guide(edited))
    result = ingest(ctx, "billing.md")
    assert (result.chunks_added, result.chunks_removed, result.chunks_embedded) == (1, 1, 1)
    assert ctx.indexer.active.current.index.chunk_versions("kb/billing.md") == {
        c.chunk_id: 2 for c in ctx.catalog.chunks("kb/billing.md", 2)
    }
    hits = retriever.search("printed invoices by post", k=4).hits
    assert all(h.payload.version == 2 for h in hits)
    assert "recycled paper" in hits[0].payload.text
    assert not any("first day of each month" in h.payload.text for h in hits)


def test_unchanged_files_and_repeated_syncs_embed_nothing(indexed, kb: Path) -> None:
    ctx, _ = indexed
    write(kb / "billing.md", guide(PARAS))
    ingest(ctx, "billing.md")
    generation = ctx.catalog.generations.current()
    os.utime(kb / "billing.md")
    assert ingest(ctx, "billing.md").chunks_embedded == 0
    assert reindexed(ctx, source="kb").chunks_embedded == 0
    change = ctx.indexer.sync_all()
    assert not change.changed
    assert ctx.catalog.generations.current() == generation


def test_delete_removes_the_points_and_a_rename_reuses_cached_vectors(indexed, kb: Path) -> None:
    ctx, retriever = indexed
    write(kb / "billing.md", guide(PARAS))
    ingest(ctx, "billing.md")
    os.rename(kb / "billing.md", kb / "payments.md")
    ingest_file(ctx, IngestFile(source="kb", rel_path="billing.md"))  # gone: tombstoned
    renamed = ingest(ctx, "payments.md")
    assert renamed.versions_created == 1 and renamed.chunks_embedded == 0, "cache hit"
    assert ctx.indexer.active.current.index.count("kb/billing.md") == 0
    assert {h.payload.doc_id for h in retriever.search("refund card", k=10).hits} == {
        "kb/payments.md"
    }


def test_retrieval_drops_hits_of_versions_that_are_no_longer_current(
    indexed, kb: Path, ctx: IngestContext
) -> None:
    _, retriever = indexed
    write(kb / "billing.md", guide(PARAS))
    ingest(ctx, "billing.md")
    indexer, ctx.indexer = ctx.indexer, None  # the catalog moves on; the index lags behind
    write(kb / "billing.md", guide(["Refunds are no longer offered on any plan."]))
    ingest(ctx, "billing.md")
    lagging = retriever.search("refund to my card", k=5)
    assert lagging.hits == [] and lagging.dropped_stale >= 1
    assert indexer is not None
    indexer.sync_document("kb/billing.md")
    [hit] = retriever.search("refund to my card", k=5).hits
    assert hit.payload.version == 2 and "no longer offered" in hit.payload.text
    ctx.indexer = indexer
    (kb / "billing.md").unlink()
    ingest_file(ctx, DeleteFile(source="kb", rel_path="billing.md"))  # type: ignore[arg-type]
    assert retriever.search("refund", k=5).hits == []


def test_a_reader_meeting_superseded_hits_wakes_the_follower_at_once(indexed, kb: Path) -> None:
    """Workers write the catalog, this process the index (the distributed embedded mode): a
    search that drops hits of a superseded version pokes the follower, so the new version is
    searchable in moments, not at the follower's next tick (an hour here)."""
    ctx, retriever = indexed
    write(kb / "billing.md", guide(PARAS))
    ingest(ctx, "billing.md")
    indexer = ctx.indexer
    follower = IndexFollower(indexer, interval_s=3600)
    follower.start()
    try:
        deadline = time.monotonic() + 30
        while follower.cursor is None:  # its first pass is done: now it sleeps for an hour
            assert time.monotonic() < deadline
            time.sleep(0.01)
        ctx.indexer = None  # as a worker does: the catalog only
        write(kb / "billing.md", guide([p.replace("five", "ten") for p in PARAS]))
        assert ingest(ctx, "billing.md").versions_created == 1
        first = retriever.search("how long until my refund reaches my card", k=3)
        assert first.dropped_stale > 0  # the index still holds version 1
        deadline = time.monotonic() + 10
        while True:
            found = retriever.search("how long until my refund reaches my card", k=3)
            if found.hits and found.hits[0].payload.version == 2:
                break
            assert time.monotonic() < deadline, "the follower was not woken"
            time.sleep(0.05)
        assert "ten business days" in found.hits[0].payload.text
    finally:
        follower.stop()
        ctx.indexer = indexer


def test_a_crash_between_commit_and_index_is_healed_by_the_next_ingest(indexed, kb: Path) -> None:
    ctx, retriever = indexed
    write(kb / "billing.md", guide(PARAS))
    ingest(ctx, "billing.md")
    write(kb / "billing.md", guide([*PARAS[:-1], "Refunds now take twelve days."]))
    indexer, ctx.indexer = ctx.indexer, None  # the commit lands, the process dies before indexing
    ingest(ctx, "billing.md")
    ctx.indexer = indexer
    assert ctx.catalog.document("kb/billing.md").current_version == 2  # type: ignore[union-attr]
    with indexer.active.use() as collection:  # type: ignore[union-attr]
        assert set(collection.index.chunk_versions("kb/billing.md").values()) == {1}
    again = ingest(ctx, "billing.md")  # same bytes: nothing to commit, but the index catches up
    assert again.unchanged == 1 and again.chunks_embedded >= 1
    with indexer.active.use() as collection:  # type: ignore[union-attr]
        assert set(collection.index.chunk_versions("kb/billing.md").values()) == {2}
    hits = retriever.search("Refunds now take twelve days", k=5).hits
    assert {h.payload.version for h in hits} == {2}
    assert any("twelve" in h.payload.text for h in hits)
