"""Admin reindex jobs: one task per document, each counted on the job as it finishes."""

from __future__ import annotations

from catalog import Catalog
from core.errors import NotFound
from core.ports import TaskRunner
from schemas.admin import Job, ReindexRequest
from schemas.tasks import DeadLetter, IngestFile


def start_reindex(catalog: Catalog, runner: TaskRunner, request: ReindexRequest) -> Job:
    """Queue a forced re-parse of one document, one source or every document; returns the job
    (`GET /admin/jobs/{id}` follows it)."""
    if request.source is not None:
        catalog.source_root(request.source)  # NotFound for a source never registered
    documents = [
        d
        for d in catalog.documents(request.source)
        if d.current_version is not None and request.doc_id in (None, d.doc_id)
    ]
    if request.doc_id is not None and not documents:
        raise NotFound(f"no current document {request.doc_id!r}")
    job = catalog.jobs.create(request, total=len(documents), stage="re-parsing documents")
    for document in documents:
        runner.submit(
            IngestFile(
                source=document.source, rel_path=document.rel_path, force=True, job_id=job.job_id
            )
        )
    return job


def replay_dead_letter(catalog: Catalog, runner: TaskRunner, letter_id: int) -> DeadLetter:
    """Submit a dead letter's task again (its cause fixed) and mark the letter handled."""
    letter = catalog.dead_letters.get(letter_id)
    if letter is None or letter.resolved_at is not None:
        raise NotFound(f"no open dead letter {letter_id}")
    runner.submit(letter.task)
    catalog.dead_letters.resolve(letter_id)
    return letter
