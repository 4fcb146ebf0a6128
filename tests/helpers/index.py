"""A small real index for tests: Qdrant Edge in a folder, with the test session's models."""

from __future__ import annotations

from pathlib import Path

from index.active import ActiveIndex, Embedders
from index.edge_store import EdgeCollections
from index.embedding import DEFAULT_MODEL


def edge_index(
    folder: Path, embedders: Embedders, model_id: str = DEFAULT_MODEL, bm25_avg_len: float = 120.0
) -> ActiveIndex:
    """An active Qdrant Edge collection under `folder` (close it when done)."""
    return ActiveIndex.open(
        EdgeCollections(folder),
        embedders,
        model_id=model_id,
        bm25_avg_len=bm25_avg_len,
        generation=0,
    )
