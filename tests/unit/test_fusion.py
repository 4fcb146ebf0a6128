"""Convex fusion of dense and BM25 hits: normalised, weighted, deterministic; two readings of
a question merged by reciprocal rank."""

from __future__ import annotations

from typing import cast

from core.ports import Embedder, Fusion
from index.fusion import convex
from retrieve.hybrid import Retrieval, merged
from schemas.index import ChunkPayload, SearchHit


def hit(chunk_id: str, score: float) -> SearchHit:
    payload = ChunkPayload(
        chunk_id=chunk_id,
        doc_id=f"kb/{chunk_id}.md",
        version=1,
        sha256="0" * 64,
        source="kb",
        path=f"{chunk_id}.md",
        ordinal=0,
        text=chunk_id,
        embedding_model="m",
    )
    return SearchHit(score=score, payload=payload)


DENSE = [hit("a", 0.9), hit("b", 0.7), hit("c", 0.5)]
SPARSE = [hit("c", 14.0), hit("d", 9.0), hit("a", 2.0)]


def ids(hits: list[SearchHit]) -> list[str]:
    return [h.payload.chunk_id for h in hits]


def test_the_weights_decide_which_side_leads() -> None:
    dense_heavy = convex(DENSE, SPARSE, Fusion("convex", dense_weight=0.9, sparse_weight=0.1), 4)
    sparse_heavy = convex(DENSE, SPARSE, Fusion("convex", dense_weight=0.1, sparse_weight=0.9), 4)
    assert ids(dense_heavy)[0] == "a" and ids(sparse_heavy)[0] == "c"
    assert set(ids(dense_heavy)) == {"a", "b", "c", "d"}


def test_scores_are_normalised_per_side_and_lie_between_zero_and_one() -> None:
    fused = convex(DENSE, SPARSE, Fusion("convex"), 10)
    scores = {h.payload.chunk_id: h.score for h in fused}
    assert scores["c"] == 0.5 * 0.0 + 0.5 * 1.0  # dense minimum, BM25 maximum
    assert scores["a"] == 0.5 * 1.0 + 0.5 * 0.0
    assert all(0.0 <= s <= 1.0 for s in scores.values())


def test_ties_break_by_chunk_id_and_the_limit_holds() -> None:
    tied = convex([hit("y", 1.0), hit("x", 1.0)], [], Fusion("convex"), 1)
    assert ids(tied) == ["x"]


def test_one_empty_side_ranks_by_the_other() -> None:
    assert ids(convex(DENSE, [], Fusion("convex"), 3)) == ["a", "b", "c"]
    assert convex([], [], Fusion("convex"), 3) == []


def test_retrieval_breaks_score_ties_by_chunk_id_whatever_the_index_order() -> None:
    import itertools

    from retrieve.hybrid import in_stable_order
    from schemas.index import ChunkPayload, SearchHit

    def hit(chunk: str, score: float) -> SearchHit:
        payload = ChunkPayload(
            chunk_id=chunk,
            doc_id="kb/a.md",
            version=1,
            sha256="s",
            source="kb",
            path="a.md",
            ordinal=0,
            text=chunk,
            embedding_model="m",
        )
        return SearchHit(score=score, payload=payload)

    hits = [hit("c", 0.15), hit("a", 0.15), hit("b", 0.2), hit("d", 0.1)]
    orders = {
        tuple(h.payload.chunk_id for h in in_stable_order(list(p)))
        for p in itertools.permutations(hits)
    }
    assert orders == {("b", "a", "c", "d")}


def test_two_readings_of_a_question_merge_by_reciprocal_rank() -> None:
    def read(hits: list[SearchHit], generation: int) -> Retrieval:
        snapshot = [(h.payload.doc_id, 1) for h in hits]
        embedder = cast(Embedder, object())  # never called: merging reads no vectors
        return Retrieval("q", "hybrid", generation, hits, "m", "c", embedder, snapshot=snapshot)

    joined = read([hit("topic", 0.2), hit("both", 0.1), hit("old", 0.05)], generation=7)
    alone = read([hit("new", 0.3), hit("both", 0.2)], generation=6)
    found = merged(joined, alone, k=3)
    assert ids(found.hits) == ["both", "new", "topic"]  # in both first; then rank 1s
    assert found.hits[0].score == 1 / 62 + 1 / 62
    assert found.generation == 6 and found.query == "q"
    assert found.snapshot == [("kb/both.md", 1), ("kb/new.md", 1), ("kb/topic.md", 1)]


def test_reads_of_two_collections_are_not_mixed() -> None:
    embedder = cast(Embedder, object())
    before = Retrieval("q", "hybrid", 3, [hit("old", 0.2)], "m1", "c1", embedder)
    after = Retrieval("q alone", "hybrid", 4, [hit("new", 0.2)], "m2", "c2", embedder)
    assert merged(before, after, k=3) is after
