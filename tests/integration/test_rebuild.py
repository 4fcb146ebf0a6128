"""Model lifecycle apart from data lifecycle: a rebuild fills a new collection from the
catalog's stored chunks, then swaps the alias; queries never fail and never mix models,
and edits made meanwhile are not lost. Run on both backends."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from core.errors import IndexBusy, VectorIndexError
from core.ports import CollectionSpec, CollectionStore
from core.settings import Settings
from index.active import ActiveIndex, Collection, Embedders
from index.edge_store import EdgeCollections
from index.indexer import Indexer
from index.server import ServerCollections
from index.sparse import Bm25Encoder
from index.sync import embedding_text
from ingest.tasks import IngestContext, ingest_file
from retrieve.hybrid import Retrieval, Retriever
from schemas.tasks import IngestFile
from tests.helpers.documents import write
from tests.helpers.models import DEFAULT_KEY
from verity.wiring import build_ingest, model_change_pending, rebuild_in_background, retriever_for

DOCS = {
    "billing.md": "# Billing\n\nRefunds reach the original card within five business days.\n\n"
    "Invoices are emailed on the first day of each month, listing every seat.\n",
    "login.md": "# Sign-in\n\nAfter five failed attempts an account is locked for an hour.\n\n"
    "Reset a forgotten password from the link on the sign-in page.\n",
    "shipping.md": "# Shipping\n\nParcels leave the warehouse within two business days.\n\n"
    "Tracking numbers are emailed once the courier collects the parcel.\n",
}


def open_store(kind: str, tmp_path: Path) -> CollectionStore:
    if kind == "edge":
        return EdgeCollections(tmp_path / "index")
    return ServerCollections(QdrantClient(":memory:"), "verity_chunks")


@pytest.fixture(params=["edge", "server"])
def world(
    request: pytest.FixtureRequest,
    ctx: IngestContext,
    kb: Path,
    tmp_path: Path,
    embedders: Embedders,
) -> Iterator[tuple[IngestContext, Indexer, Retriever]]:
    active = ActiveIndex.open(
        open_store(request.param, tmp_path),
        embedders,
        model_id=DEFAULT_KEY,
        bm25_avg_len=120.0,
        generation=0,
    )
    ctx.indexer = indexer = Indexer(ctx.catalog, active)
    for name, text in DOCS.items():
        write(kb / name, text)
        ingest_file(ctx, IngestFile(source="kb", rel_path=name))
    yield ctx, indexer, Retriever(ctx.catalog, active)
    indexer.active.close()


def test_a_rebuild_with_the_same_model_reuses_every_vector_and_swaps_the_alias(world) -> None:
    ctx, indexer, retriever = world
    store = indexer.active.store
    old = store.active()
    before = ctx.catalog.generations.current()
    points = indexer.active.current.index.count()
    report = indexer.rebuild()
    assert report.old == old and report.new != old
    assert store.active() == report.new and store.names() == [report.new.name]
    assert (report.built.embedded, report.built.from_cache) == (0, points)
    assert indexer.active.current.index.count() == points
    assert report.generation == ctx.catalog.generations.current() > before
    found = retriever.search("when will my refund arrive", k=3)
    assert found.collection == report.new.name and found.generation == report.generation
    assert "five business days" in found.hits[0].payload.text


def test_a_new_model_rebuild_serves_queries_throughout_never_mixing_models_and_keeps_edits(
    world, kb: Path, other_model: str
) -> None:
    ctx, indexer, retriever = world
    seen: list[Retrieval] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def query_forever() -> None:
        while not stop.is_set():
            try:
                seen.append(retriever.search("account locked after failed attempts", k=3))
            except BaseException as exc:  # a failed query is the failure this test looks for
                errors.append(exc)

    def midway(done: int, total: int) -> None:
        seen.append(retriever.search("refund to my card", k=3))  # between two documents
        if done == 1:  # an edit lands while the new collection is being filled
            write(kb / "billing.md", DOCS["billing.md"].replace("five", "ten"))
            ingest_file(ctx, IngestFile(source="kb", rel_path="billing.md"))

    reader = threading.Thread(target=query_forever)
    reader.start()
    try:
        report = indexer.rebuild(other_model, progress=midway)
    finally:
        stop.set()
        reader.join()
    seen.append(retriever.search("account locked after failed attempts", k=3))
    assert errors == []
    assert report.new.embedding_model == other_model and report.new.dimension == 96
    assert report.built.embedded + report.caught_up.embedded >= len(DOCS)
    assert {r.embedding_model for r in seen} == {DEFAULT_KEY, other_model}
    for retrieval in seen:
        assert retrieval.hits, retrieval.query
        assert {h.payload.embedding_model for h in retrieval.hits} == {retrieval.embedding_model}
    [refund] = [
        h for h in retriever.search("refund card days", k=5).hits if "Refunds" in h.payload.text
    ]
    assert (refund.payload.version, refund.payload.embedding_model) == (2, other_model)
    assert "ten business days" in refund.payload.text


def test_a_failed_rebuild_leaves_the_old_collection_active_and_removes_the_partial_one(
    world,
) -> None:
    _, indexer, retriever = world
    store = indexer.active.store
    old = store.active()

    def fail(done: int, total: int) -> None:
        raise VectorIndexError("disk full")

    with pytest.raises(VectorIndexError, match="disk full"):
        indexer.rebuild(progress=fail)
    assert store.active() == old and store.names() == [old.name]
    assert retriever.search("parcel tracking", k=1).collection == old.name


def test_a_second_rebuild_while_one_runs_is_refused(world) -> None:
    _, indexer, _ = world
    refused: list[IndexBusy] = []

    def again(done: int, total: int) -> None:
        if done == 1:
            with pytest.raises(IndexBusy) as caught:
                indexer.rebuild()
            refused.append(caught.value)

    indexer.rebuild(progress=again)
    assert len(refused) == 1 and "already running" in str(refused[0])


def test_a_rebuild_rederives_the_bm25_length_from_the_stored_chunks(world) -> None:
    ctx, indexer, _ = world
    report = indexer.rebuild()
    counter = Bm25Encoder()
    lengths = [
        counter.document_length(embedding_text(c))
        for d in ctx.catalog.documents()
        for c in ctx.catalog.chunks(d.doc_id, d.current_version or 0)
    ]
    assert report.new.bm25_avg_len == pytest.approx(sum(lengths) / len(lengths), abs=0.01)
    assert report.new.bm25_avg_len != 120.0


def test_after_a_restart_the_index_keeps_the_model_it_was_built_with(
    ctx: IngestContext, kb: Path, tmp_path: Path, embedders: Embedders, other_model: str
) -> None:
    active = ActiveIndex.open(
        EdgeCollections(tmp_path / "index"),
        embedders,
        model_id=other_model,
        bm25_avg_len=50.0,
        generation=0,
    )
    ctx.indexer = Indexer(ctx.catalog, active)
    write(kb / "login.md", DOCS["login.md"])
    ingest_file(ctx, IngestFile(source="kb", rel_path="login.md"))
    active.close()
    reopened = ActiveIndex.open(
        EdgeCollections(tmp_path / "index"),
        embedders,
        model_id=DEFAULT_KEY,
        bm25_avg_len=120.0,
        generation=5,
    )
    try:
        spec = reopened.current.spec
        assert (spec.embedding_model, spec.dimension, spec.bm25_avg_len) == (other_model, 96, 50.0)
        found = Retriever(ctx.catalog, reopened).search("forgotten password", k=1)
        assert found.embedding_model == other_model and "password" in found.hits[0].payload.text
    finally:
        reopened.close()


def test_the_service_rebuilds_in_the_background_when_the_model_setting_changes(
    tmp_path: Path, other_model: str
) -> None:
    folder = tmp_path / "help"
    write(folder / "login.md", DOCS["login.md"])
    settings = Settings(data_dir=tmp_path / "data", settle_s=0)
    first = build_ingest(settings)
    first.register("help", folder)
    first.runner.submit(IngestFile(source="help", rel_path="login.md"))
    assert first.runner.join(60)
    first.close()

    # a Dense projection: the torch runtime runs it (the ONNX path refuses it)
    changed = settings.model_copy(
        update={"embedding_model": other_model, "embedding_backend": "torch"}
    )
    service = build_ingest(changed)
    try:
        indexer = service.context.indexer
        assert indexer is not None and model_change_pending(changed, indexer)
        rebuild_in_background(indexer, changed.embedding_key).join(120)
        assert not model_change_pending(changed, indexer)
        found = retriever_for(indexer).search("forgotten password", k=1)
        assert found.embedding_model == other_model and found.hits
    finally:
        service.close()


def test_replicas_on_one_qdrant_server_follow_a_rebuild_made_by_another_process(
    ctx: IngestContext, kb: Path, embedders: Embedders, other_model: str
) -> None:
    """Two API replicas and a worker share a server's alias; one process rebuilds with a new
    model and drops the old collection. The others take up the new one: a reader when its
    collection vanishes under it, a writer before it writes (so an edit is not lost)."""
    client = QdrantClient(":memory:")
    rebuilder = Indexer(ctx.catalog, server_process(client, embedders, None))
    ctx.indexer = rebuilder
    for name, text in DOCS.items():
        write(kb / name, text)
        ingest_file(ctx, IngestFile(source="kb", rel_path=name))
    reader = Retriever(
        ctx.catalog, server_process(client, embedders, 3600.0)
    )  # follows only when its collection is gone
    worker = Indexer(
        ctx.catalog, server_process(client, embedders, 0.0)
    )  # follows before every write
    old = reader.search("refund to my card", k=3)
    assert old.embedding_model == DEFAULT_KEY

    report = rebuilder.rebuild(other_model)
    assert old.collection not in {c.name for c in client.get_collections().collections}

    found = reader.search("refund to my card", k=3)
    assert (found.collection, found.embedding_model) == (report.new.name, other_model)
    assert {h.payload.embedding_model for h in found.hits} == {other_model}
    assert "five business days" in found.hits[0].payload.text

    ctx.indexer = worker
    write(kb / "billing.md", DOCS["billing.md"].replace("five", "ten"))
    ingest_file(ctx, IngestFile(source="kb", rel_path="billing.md"))
    assert worker.active.current.spec == report.new
    [refund] = [
        h for h in reader.search("refund card days", k=5).hits if "Refunds" in h.payload.text
    ]
    assert (refund.payload.version, refund.payload.embedding_model) == (2, other_model)
    assert "ten business days" in refund.payload.text
    client.close()


def server_process(
    client: QdrantClient, embedders: Embedders, follow_every_s: float | None
) -> ActiveIndex:
    """The index as one process on a shared Qdrant server sees it."""
    return ActiveIndex.open(
        ServerCollections(client, "verity_chunks"),
        embedders,
        model_id=DEFAULT_KEY,
        bm25_avg_len=120.0,
        generation=0,
        follow_every_s=follow_every_s,
    )


def test_edits_another_process_indexes_around_a_swap_reach_the_new_collection(
    ctx: IngestContext, kb: Path, embedders: Embedders
) -> None:
    """A worker that has not noticed a rebuild yet writes two edits into the old collection:
    one after the rebuild's catch-up but before the alias moves (the rebuild syncs it after
    the swap), one after the alias moved but before the old collection is dropped (the worker
    sees the alias moved under its write and writes again into the new collection)."""
    client = QdrantClient(":memory:")
    rebuilder = Indexer(ctx.catalog, server_process(client, embedders, None))
    ctx.indexer = rebuilder
    for name, text in DOCS.items():
        write(kb / name, text)
        ingest_file(ctx, IngestFile(source="kb", rel_path=name))
    worker = Indexer(ctx.catalog, server_process(client, embedders, 3600.0))
    before = worker.active.current.spec
    swap, drop = rebuilder.active.swap, rebuilder.active.store.drop
    followed: list[str] = []

    def edit(name: str, old: str, new: str) -> None:
        ctx.indexer = worker
        write(kb / name, DOCS[name].replace(old, new))
        ingest_file(ctx, IngestFile(source="kb", rel_path=name))

    def edit_then_swap(target: Collection) -> CollectionSpec:
        edit("billing.md", "five", "ten")  # into the old collection: the alias has not moved
        assert worker.active.current.spec == before
        return swap(target)

    def edit_then_drop(name: str) -> None:
        edit("login.md", "an hour", "a day")  # the alias moved; the old collection still exists
        followed.append(worker.active.current.spec.name)
        drop(name)

    rebuilder.active.swap = edit_then_swap  # type: ignore[method-assign]
    rebuilder.active.store.drop = edit_then_drop  # type: ignore[method-assign]
    report = rebuilder.rebuild()
    assert followed == [report.new.name]  # at once, not after its hour-long interval
    reader = Retriever(ctx.catalog, server_process(client, embedders, None))
    assert reader.active.current.spec == report.new
    texts = {
        h.payload.doc_id: (h.payload.version, h.payload.text)
        for query in ("refund card days", "account locked failed attempts")
        for h in reader.search(query, k=5).hits
    }
    assert any(v == 2 and "ten business days" in t for v, t in texts.values())
    assert any(v == 2 and "locked for a day" in t for v, t in texts.values())
    client.close()
