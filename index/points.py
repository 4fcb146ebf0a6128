"""Point ids and names shared by both vector-index backends."""

from __future__ import annotations

import uuid

DENSE = "dense"
SPARSE = "bm25"
_NAMESPACE = uuid.UUID("6f1c2a52-6c1e-4a53-9e59-5d7f3c1f0b8e")


def point_id(chunk_id: str) -> str:
    """The point id of a chunk: a UUID derived from its (already document-scoped) chunk id."""
    return str(uuid.uuid5(_NAMESPACE, chunk_id))
