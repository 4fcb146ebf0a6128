"""A small real index for tests: Qdrant Edge in a folder, with the test session's models."""

from __future__ import annotations

from pathlib import Path

from core.settings import Settings
from index.active import ActiveIndex, Embedders
from index.edge_store import EdgeCollections
from index.embedding import DEFAULT_MODEL
from ingest.reconcile import plan
from tests.helpers.documents import write
from verity.wiring import IngestService, build_ingest


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


def ingested(root: Path, docs: dict[str, str], settings: Settings) -> IngestService:
    """An ingest service (with its index) over `docs` written into `root/kb` and ingested."""
    for name, text in docs.items():
        write(root / "kb" / name, text)
    service = build_ingest(settings)
    service.register("kb", root / "kb")
    for task in plan(service.catalog, "kb", (root / "kb").resolve()):
        service.runner.submit(task)
    assert service.runner.join(120)
    return service
