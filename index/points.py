"""Point ids and names shared by both vector-index backends."""

from __future__ import annotations

import re
import uuid

from core.ports import SearchMode
from schemas.index import SparseVector

DENSE = "dense"
SPARSE = "bm25"
_NAMESPACE = uuid.UUID("6f1c2a52-6c1e-4a53-9e59-5d7f3c1f0b8e")


def point_id(chunk_id: str) -> str:
    """The point id of a chunk: a UUID derived from its (already document-scoped) chunk id."""
    return str(uuid.uuid5(_NAMESPACE, chunk_id))


def effective_mode(
    dense: list[float] | None, sparse: SparseVector | None, mode: SearchMode
) -> SearchMode | None:
    """The search to run given what the query has; None when it can match nothing.

    A hybrid query without lexical tokens (all stopwords) runs dense; without a dense
    vector it runs sparse.
    """
    has_dense, has_sparse = dense is not None, sparse is not None and bool(sparse.indices)
    if mode == "hybrid" and not (has_dense and has_sparse):
        mode = "dense" if has_dense else "sparse"
    if (mode == "dense" and not has_dense) or (mode == "sparse" and not has_sparse):
        return None
    return mode


def collection_name(model_id: str, generation: int, taken: list[str], prefix: str = "") -> str:
    """A new collection's name: the model and the index generation it was built at, unused."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", model_id).strip("-").lower()
    base = f"{prefix}{slug}-g{generation}"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name
