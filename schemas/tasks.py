"""Task messages: the unit of ingestion work, the same for every runner (in-process, Celery)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Task(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IngestFile(_Task):
    """Bring one file of a source into the catalog (new version if its bytes changed)."""

    kind: Literal["ingest_file"] = "ingest_file"
    source: str
    rel_path: str
    force: bool = False  # re-parse even if the bytes did not change (an admin's reindex)
    job_id: str | None = None  # the admin job this task is an item of


class DeleteFile(_Task):
    """The file is gone: record a tombstone for its document."""

    kind: Literal["delete_file"] = "delete_file"
    source: str
    rel_path: str


class SyncIndex(_Task):
    """Bring the vector index in line with the catalog (one document, or all)."""

    kind: Literal["sync_index"] = "sync_index"
    doc_id: str | None = None


Task = Annotated[IngestFile | DeleteFile | SyncIndex, Field(discriminator="kind")]


class Counts(BaseModel):
    """What ingest work did, in the counters `verity ingest --json` prints."""

    model_config = ConfigDict(extra="forbid")

    documents: int = 0
    versions_created: int = 0
    unchanged: int = 0
    deleted: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_unchanged: int = 0
    failed: int = 0
    deferred: int = 0
    chunks_embedded: int = 0


class TaskResult(Counts):
    """What one task did: its counters and, when it failed or was deferred, why."""

    task: Task
    error: str | None = None


class DeadLetter(BaseModel):
    """A task the workers gave up on: delivered too often without finishing, or out of retries."""

    model_config = ConfigDict(extra="forbid")

    letter_id: int
    task_id: str
    task: Task
    reason: Literal["redelivered", "retries_exhausted"]
    message: str
    attempts: int
    created_at: datetime
    resolved_at: datetime | None = None
