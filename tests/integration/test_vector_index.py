"""One contract suite for both `VectorIndex` backends: Qdrant Edge and qdrant-client (local mode).

Real embeddings (the packaged MiniLM) and real BM25 sparse vectors throughout.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from core.errors import IndexBusy, VectorIndexError
from core.ports import Fusion, VectorIndex
from index.edge import EdgeIndex
from index.embedding import SentenceTransformerEmbedder
from index.server import ServerIndex
from index.sparse import Bm25Encoder
from schemas.index import ChunkPayload, IndexPoint

TEXTS = {
    "refunds": ("kb", "billing.md", "Refunds are issued to the original card within five days."),
    "invoice": ("kb", "billing.md", "Invoices are emailed on the first day of every month."),
    "password": ("kb", "login.md", "Reset a forgotten password from the sign-in page link."),
    "lockout": ("kb", "login.md", "After five failed sign-in attempts the account is locked."),
    "shipping": ("manuals", "ship.md", "Parcels ship within two business days by courier."),
}


def payload(key: str, version: int = 1) -> ChunkPayload:
    source, path, text = TEXTS[key]
    return ChunkPayload(
        chunk_id=key,
        doc_id=f"{source}/{path}",
        version=version,
        sha256="0" * 64,
        source=source,
        path=path,
        heading_path=["Help"],
        ordinal=0,
        text=text,
        embedding_model="test",
    )


@pytest.fixture(params=["edge", "server"])
def index(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    embedder: SentenceTransformerEmbedder,
    bm25: Bm25Encoder,
) -> Iterator[VectorIndex]:
    store: VectorIndex
    if request.param == "edge":
        store = EdgeIndex(tmp_path / "edge", embedder.dimension)
    else:
        store = ServerIndex(QdrantClient(":memory:"), "chunks", embedder.dimension)
    keys = list(TEXTS)
    vectors = embedder.embed([TEXTS[k][2] for k in keys])
    store.upsert(
        [
            IndexPoint(payload=payload(k), dense=v, sparse=bm25.encode_document(TEXTS[k][2]))
            for k, v in zip(keys, vectors, strict=True)
        ]
    )
    yield store
    store.close()


def ask(
    index: VectorIndex,
    embedder: SentenceTransformerEmbedder,
    bm25: Bm25Encoder,
    text: str,
    **kwargs: object,
) -> list[str]:
    [dense] = embedder.embed([text])
    hits = index.search(dense, bm25.encode_query(text), limit=kwargs.pop("limit", 3), **kwargs)  # type: ignore[arg-type]
    return [h.payload.chunk_id for h in hits]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "sparse"])
def test_each_mode_finds_the_passage(index: VectorIndex, embedder, bm25, mode: str) -> None:
    assert ask(index, embedder, bm25, "how do I reset my password", mode=mode)[0] == "password"


def test_optimizing_keeps_every_point_searchable(index: VectorIndex, embedder, bm25) -> None:
    assert isinstance(index.optimize(), bool)
    assert index.count() == len(TEXTS)
    assert ask(index, embedder, bm25, "parcel courier shipping")[0] == "shipping"


def test_dense_finds_a_paraphrase_that_shares_no_words(index: VectorIndex, embedder, bm25) -> None:
    assert ask(index, embedder, bm25, "money back", mode="dense")[0] == "refunds"
    assert ask(index, embedder, bm25, "money back", mode="sparse") == []


def test_a_query_of_stopwords_only_still_finds_by_meaning(
    index: VectorIndex, embedder, bm25
) -> None:
    assert bm25.encode_query("how do I do it").indices == []
    assert ask(index, embedder, bm25, "how do I do it", mode="hybrid", limit=5)
    assert ask(index, embedder, bm25, "how do I do it", mode="sparse") == []


def test_filters_by_source_and_document(index: VectorIndex, embedder, bm25) -> None:
    assert set(ask(index, embedder, bm25, "five days", source="kb", limit=10)) == {
        "refunds",
        "invoice",
        "password",
        "lockout",
    }
    assert set(ask(index, embedder, bm25, "five days", doc_id="kb/login.md", limit=10)) == {
        "password",
        "lockout",
    }


@pytest.mark.parametrize("mode", ["hybrid", "dense", "sparse"])
def test_a_set_of_sources_filters_inside_the_query(
    index: VectorIndex, embedder, bm25, mode: str
) -> None:
    # a key limited to sources: the index returns only theirs, however many are asked for
    assert set(ask(index, embedder, bm25, "parcels ship", source=("manuals",), limit=10)) == {
        "shipping"
    }
    both = ask(index, embedder, bm25, "five days", source=("kb", "manuals"), mode=mode, limit=10)
    assert "refunds" in both
    assert ask(index, embedder, bm25, "five days", source=("other",), mode=mode, limit=10) == []


def test_hits_carry_the_payload_that_names_the_version(index: VectorIndex, embedder, bm25) -> None:
    [dense] = embedder.embed(["parcel courier"])
    [hit] = index.search(dense, bm25.encode_query("parcel courier"), limit=1)
    assert hit.payload == payload("shipping")
    assert hit.score > 0


def test_delete_chunks_and_documents(index: VectorIndex, embedder, bm25) -> None:
    assert index.count() == 5
    assert index.chunk_versions("kb/login.md") == {"password": 1, "lockout": 1}
    index.delete_chunks(["password", "not-there"])
    assert index.chunk_versions("kb/login.md") == {"lockout": 1}
    index.delete_document("kb/billing.md")
    assert index.count() == 2 and index.count("kb/billing.md") == 0
    assert "refunds" not in ask(index, embedder, bm25, "refund to my card", limit=5)


def test_payload_update_moves_a_point_to_a_new_version_without_new_vectors(
    index: VectorIndex, embedder, bm25
) -> None:
    index.update_payloads([payload("invoice", version=2)])
    [dense] = embedder.embed(["monthly invoice email"])
    [hit] = index.search(dense, bm25.encode_query("monthly invoice email"), limit=1)
    assert (hit.payload.chunk_id, hit.payload.version) == ("invoice", 2)
    assert index.chunk_versions("kb/billing.md") == {"refunds": 1, "invoice": 2}
    assert index.count() == 5


def test_upsert_of_an_existing_chunk_replaces_it(index: VectorIndex, embedder, bm25) -> None:
    text = "Refunds now take ten days."
    [vector] = embedder.embed([text])
    changed = payload("refunds", version=2).model_copy(update={"text": text})
    index.upsert([IndexPoint(payload=changed, dense=vector, sparse=bm25.encode_document(text))])
    assert index.count() == 5
    [dense] = embedder.embed(["ten days"])
    assert index.search(dense, bm25.encode_query("ten days"), limit=1)[0].payload.text == text


@pytest.mark.parametrize(
    "fusion", [Fusion(), Fusion("convex", dense_weight=0.7, sparse_weight=0.3)]
)
def test_both_backends_rank_alike(tmp_path: Path, embedder, bm25, fusion: Fusion) -> None:
    edge = EdgeIndex(tmp_path / "e", embedder.dimension, fusion=fusion)
    server = ServerIndex(QdrantClient(":memory:"), "c", embedder.dimension, fusion=fusion)
    keys = list(TEXTS)
    vectors = embedder.embed([TEXTS[k][2] for k in keys])
    points = [
        IndexPoint(payload=payload(k), dense=v, sparse=bm25.encode_document(TEXTS[k][2]))
        for k, v in zip(keys, vectors, strict=True)
    ]
    for store in (edge, server):
        store.upsert(points)
    try:
        for question in ("locked account", "when do parcels ship", "card refund days"):
            for mode in ("dense", "sparse", "hybrid"):
                assert ask(edge, embedder, bm25, question, mode=mode, limit=5) == ask(
                    server, embedder, bm25, question, mode=mode, limit=5
                ), (question, mode)
    finally:
        edge.close()
        server.close()


def test_edge_index_persists_and_is_owned_by_one_process(tmp_path: Path, embedder) -> None:
    first = EdgeIndex(tmp_path / "idx", embedder.dimension)
    [vector] = embedder.embed(["hello"])
    first.upsert(
        [
            IndexPoint(
                payload=payload("refunds"),
                dense=vector,
                sparse=Bm25Encoder().encode_document("hello"),
            )
        ]
    )
    with pytest.raises(IndexBusy, match="is open in process"):
        EdgeIndex(tmp_path / "idx", embedder.dimension)
    first.close()
    again = EdgeIndex(tmp_path / "idx", embedder.dimension)
    assert again.count() == 1
    again.close()
    with pytest.raises(VectorIndexError, match="rebuild"):
        EdgeIndex(tmp_path / "idx", 768)


def test_edge_memory_stays_flat_across_edits_and_optimizations() -> None:
    """The engine keeps merged-away segments in memory until the shard is loaded again
    (the old code grew ~10 MB per optimization here: 54.5 → 111.6 MB over 8 rounds)."""
    bench = Path(__file__).parents[2] / "bench" / "edge_memory.py"
    run = subprocess.run(
        [sys.executable, str(bench)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env={**os.environ, "PYTHONPATH": str(bench.parents[1])},
    )
    figures = json.loads(run.stdout)
    anon = figures["anon_mb"]
    assert figures["points_after"] == figures["points"]
    assert anon[-1] - anon[1] < 5.0, anon


def test_searches_run_while_the_shard_is_optimized_and_loaded_again(
    tmp_path: Path, embedder: SentenceTransformerEmbedder, bm25: Bm25Encoder
) -> None:
    index = EdgeIndex(tmp_path / "edge", embedder.dimension)
    keys = list(TEXTS)
    vectors = dict(zip(keys, embedder.embed([TEXTS[k][2] for k in keys]), strict=True))

    rng = random.Random(3)
    filler = [[rng.uniform(-1, 1) for _ in range(embedder.dimension)] for _ in range(1200)]

    def points(version: int) -> list[IndexPoint]:
        """The passages, and 1,200 others under new ids each version (as edits make them:
        enough garbage that an optimization has work to do)."""
        other = payload("shipping", version)
        others = [
            IndexPoint(
                payload=other.model_copy(update={"chunk_id": f"x{n}-{version}"}),
                dense=vector,
                sparse=bm25.encode_document(f"parcel courier crate {n}"),
            )
            for n, vector in enumerate(filler)
        ]
        return others + [
            IndexPoint(
                payload=payload(k, version),
                dense=vectors[k],
                sparse=bm25.encode_document(TEXTS[k][2]),
            )
            for k in keys
        ]

    index.upsert(points(1))
    [query] = embedder.embed(["how do I reset my password"])
    sparse = bm25.encode_query("how do I reset my password")
    stop = threading.Event()
    found: list[str] = []
    errors: list[BaseException] = []

    def search() -> None:
        while not stop.is_set():
            try:
                found.append(index.search(query, sparse, limit=1)[0].payload.chunk_id)
            except BaseException as exc:
                errors.append(exc)

    searchers = [threading.Thread(target=search) for _ in range(3)]
    for thread in searchers:
        thread.start()
    merged = []
    for version in range(2, 12):
        index.upsert(points(version))  # the passages under the same ids: replaced
        index.delete_chunks([f"x{n}-{version - 1}" for n in range(len(filler))])
        merged.append(index.optimize())
    stop.set()
    for thread in searchers:
        thread.join(30)
    assert errors == [] and found and set(found) == {"password"}
    assert any(merged)  # at least one optimization merged, so the shard was loaded again
    assert index.count() == len(TEXTS) + len(filler)
    assert {h.payload.version for h in index.search(query, sparse, limit=5)} == {11}
    index.close()
    with pytest.raises(VectorIndexError, match="closed"):
        index.count()


def test_a_point_caught_without_its_payload_is_skipped_not_a_crash(
    tmp_path: Path, embedder, bm25, monkeypatch: pytest.MonkeyPatch
) -> None:
    # qdrant-client's local mode stores a point's vectors and payload in separate steps: a
    # query in between (readers searching during a rebuild's catch-up) sees it without one
    store = ServerIndex(QdrantClient(":memory:"), "chunks", embedder.dimension)
    keys = list(TEXTS)[:2]
    store.upsert(
        [
            IndexPoint(payload=payload(k), dense=v, sparse=bm25.encode_document(TEXTS[k][2]))
            for k, v in zip(keys, embedder.embed([TEXTS[k][2] for k in keys]), strict=True)
        ]
    )
    real = store.client.query_points

    def one_mid_overwrite(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = real(*args, **kwargs)
        result.points[0].payload = {}
        return result

    monkeypatch.setattr(store.client, "query_points", one_mid_overwrite)
    [dense] = embedder.embed([TEXTS[keys[0]][2]])
    hits = store.search(dense, None, limit=2, mode="dense")
    assert len(hits) == 1 and all(h.payload.chunk_id for h in hits)
    store.close()
