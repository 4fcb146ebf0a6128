"""Hybrid retrieval: dense + BM25 sparse prefetch, fused (RRF, DBSF or a convex mix, as the
settings say), filtered to current versions.

The catalog's current version is the truth: a hit whose version is not current (the index
has not caught up with an edit or a deletion yet) is dropped, so a reader never sees two
versions of one document. Each retrieval records the index generation it read and the
(doc_id, version) of every hit: the snapshot the answer layer confirms before answering.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from core.ports import CurrentVersions, Embedder, SearchMode, Sources
from index.active import ActiveIndex, Collection
from schemas.index import SearchHit


@dataclass(frozen=True)
class Retrieval:
    """What one search read and returned."""

    query: str
    mode: SearchMode
    generation: int
    hits: list[SearchHit]
    embedding_model: str
    collection: str
    #: the model that embedded the query (what an excerpt's sentences are compared with)
    embedder: Embedder = field(compare=False, repr=False)
    dropped_stale: int = 0
    latency_ms: float = 0.0
    snapshot: list[tuple[str, int]] = field(default_factory=list)


def in_stable_order(hits: list[SearchHit]) -> list[SearchHit]:
    """Best first; equal scores by chunk id. RRF ties often (rank 1 + rank 2 on either side)
    and the index does not break them the same way twice, which made answers flicker."""
    return sorted(hits, key=lambda h: (-h.score, h.payload.chunk_id))


@dataclass
class Retriever:
    """Searches the index and keeps only hits of current document versions."""

    catalog: CurrentVersions
    active: ActiveIndex
    overfetch: int = 2

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        mode: SearchMode = "hybrid",
        source: Sources = None,
        doc_id: str | None = None,
    ) -> Retrieval:
        """The top `k` current chunks for `query`."""
        started = time.perf_counter()
        self.active.follow_if_due()
        generation = self.catalog.generations.current()
        # Another replica may swap the alias and drop what this reads: then read the new one.
        collection, raw = self.active.rerun_if_moved(
            lambda: self._search(query, k, mode, source, doc_id)
        )
        raw = in_stable_order(raw)
        current = self.catalog.current_versions([h.payload.doc_id for h in raw])
        fresh = [h for h in raw if current.get(h.payload.doc_id) == h.payload.version]
        if len(fresh) < len(raw):
            self.active.lagging()  # the catalog is ahead: a follower can sync now
        hits = fresh[:k]
        return Retrieval(
            query=query,
            mode=mode,
            generation=generation,
            hits=hits,
            embedding_model=collection.spec.embedding_model,
            collection=collection.spec.name,
            dropped_stale=len(raw) - len(fresh),
            latency_ms=(time.perf_counter() - started) * 1000,
            snapshot=sorted({(h.payload.doc_id, h.payload.version) for h in hits}),
            embedder=collection.embedder,
        )

    def active_model(self) -> tuple[Embedder, str]:
        """The active collection's embedding model, and its id."""
        with self.active.use() as collection:
            return collection.embedder, collection.spec.embedding_model

    def embedder(self, model_id: str) -> Embedder:
        """The embedding model `model_id` (an audited answer's, to draw its excerpt again)."""
        return self.active.embedders.get(model_id)

    def _search(
        self, query: str, k: int, mode: SearchMode, source: Sources, doc_id: str | None
    ) -> tuple[Collection, list[SearchHit]]:
        with self.active.use() as collection:
            raw = search_collection(
                collection, query, k * self.overfetch, mode, source=source, doc_id=doc_id
            )
        return collection, raw


def search_collection(
    collection: Collection,
    query: str,
    limit: int,
    mode: SearchMode,
    *,
    source: Sources = None,
    doc_id: str | None = None,
) -> list[SearchHit]:
    """The index's raw hits in one collection, the query embedded by the collection's own model
    (current or not: the caller filters)."""
    if source == ():  # no source may be read
        return []
    dense = collection.embedder.embed([query])[0] if mode != "sparse" else None
    sparse = collection.sparse.encode_query(query) if mode != "dense" else None
    return collection.index.search(
        dense, sparse, limit=limit, mode=mode, source=source, doc_id=doc_id
    )


def merged(first: Retrieval, second: Retrieval, k: int, offset: float = 60.0) -> Retrieval:
    """Two retrievals of one question (two readings of it) as one: each chunk scored by its
    reciprocal ranks in both (`1 / (offset + rank)`, reciprocal rank fusion), best `k` kept.
    The query is the first's; the generation the older read's. Two reads of different
    collections (the alias moved between them) do not mix: the second, newer one is kept."""
    if first.collection != second.collection:
        return second
    scores: dict[str, float] = {}
    found: dict[str, SearchHit] = {}
    for retrieval in (first, second):
        for rank, hit in enumerate(retrieval.hits, start=1):
            key = hit.payload.chunk_id
            scores[key] = scores.get(key, 0.0) + 1.0 / (offset + rank)
            found.setdefault(key, hit)
    hits = in_stable_order([found[c].model_copy(update={"score": s}) for c, s in scores.items()])
    hits = hits[:k]
    return Retrieval(
        query=first.query,
        mode=first.mode,
        generation=min(first.generation, second.generation),
        hits=hits,
        embedding_model=first.embedding_model,
        collection=first.collection,
        embedder=first.embedder,
        dropped_stale=first.dropped_stale + second.dropped_stale,
        latency_ms=first.latency_ms + second.latency_ms,
        snapshot=sorted({(h.payload.doc_id, h.payload.version) for h in hits}),
    )
