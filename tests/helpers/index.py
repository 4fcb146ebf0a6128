"""A small real index for tests: Qdrant Edge in a folder, with the test session's models."""

from __future__ import annotations

from pathlib import Path

from core.settings import Settings
from index.active import ActiveIndex, Embedders
from index.edge_store import EdgeCollections
from ingest.jobs import start_reindex
from ingest.reconcile import plan
from ingest.runner import InProcessRunner
from ingest.tasks import IngestContext, add_counts, run_task
from schemas.admin import ReindexRequest
from schemas.tasks import Counts
from tests.helpers.documents import write
from tests.helpers.models import DEFAULT_KEY
from verity.wiring import IngestService, build_ingest


def edge_index(
    folder: Path, embedders: Embedders, model_id: str = DEFAULT_KEY, bm25_avg_len: float = 120.0
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


def reindexed(ctx: IngestContext, source: str | None = None, doc_id: str | None = None) -> Counts:
    """An admin's reindex (`ingest.jobs.start_reindex`: one forced `IngestFile` per document)
    run to the end on a real in-process runner; the summed counts of its tasks."""
    runner = InProcessRunner(lambda task: run_task(ctx, task), retry_delay_s=0.05)
    try:
        start_reindex(
            ctx.catalog,
            runner,
            ReindexRequest(source=source, doc_id=doc_id, all=source is None and doc_id is None),
        )
        assert runner.join(timeout=120)
        total = Counts()
        for result in runner.results():
            add_counts(total, result)
        return total
    finally:
        runner.close()
