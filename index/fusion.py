"""Convex fusion: a weighted sum of min-max-normalised dense and BM25 scores.

Where one side is much stronger than the other, a convex combination tuned on dev questions
beats rank fusion (RRF only sees ranks); see bench/RESULTS.md. Both backends call this on
their dense and sparse top lists, so they fuse alike.
"""

from __future__ import annotations

from typing import Protocol

from core.ports import Fusion, SearchMode, Sources
from schemas.index import SearchHit, SparseVector


class _Searchable(Protocol):
    fusion: Fusion

    def search(
        self,
        dense: list[float] | None,
        sparse: SparseVector | None,
        *,
        limit: int,
        mode: SearchMode,
        source: Sources,
        doc_id: str | None,
    ) -> list[SearchHit]: ...


def convex_search(
    index: _Searchable,
    dense: list[float] | None,
    sparse: SparseVector | None,
    *,
    depth: int,
    limit: int,
    source: Sources,
    doc_id: str | None,
) -> list[SearchHit]:
    """Hybrid search by convex fusion: each side's top `depth` from `index`, then `convex`."""
    sides = [
        index.search(dense, sparse, limit=depth, mode=side, source=source, doc_id=doc_id)
        for side in ("dense", "sparse")
    ]
    return convex(sides[0], sides[1], index.fusion, limit)


def convex(
    dense: list[SearchHit], sparse: list[SearchHit], fusion: Fusion, limit: int
) -> list[SearchHit]:
    """The best `limit` hits by `w_d·dense + w_s·sparse` (each side scaled to 0–1; a hit
    missing from one side scores 0 there), ties broken by chunk id."""
    total = fusion.dense_weight + fusion.sparse_weight or 1.0
    weights = (fusion.dense_weight / total, fusion.sparse_weight / total)
    scores: dict[str, float] = {}
    payloads: dict[str, SearchHit] = {}
    for hits, weight in zip((dense, sparse), weights, strict=True):
        for chunk_id, value in _min_max(hits).items():
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight * value
        payloads.update((h.payload.chunk_id, h) for h in hits)
    ranked = sorted(scores, key=lambda c: (-scores[c], c))[:limit]
    return [SearchHit(score=scores[c], payload=payloads[c].payload) for c in ranked]


def _min_max(hits: list[SearchHit]) -> dict[str, float]:
    if not hits:
        return {}
    values = [h.score for h in hits]
    low, span = min(values), (max(values) - min(values)) or 1.0
    return {h.payload.chunk_id: (h.score - low) / span for h in hits}
