"""The task functions: `ingest_file`, `delete_file`, `sync_index`. Every runner calls these.
An admin's reindex is forced `IngestFile`s, one per document (`ingest.jobs`).

Each is idempotent: run twice, the second run changes nothing. A failure is recorded
(`IngestFailure`) and leaves the document's current version as it was.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from catalog import Catalog, NewChunk
from catalog.resolutions import tell_owners
from core.alerts import raise_alert
from core.errors import FileUnstable, IngestError
from core.ids import document_id, sha256_hex
from core.instructions import find_instructions
from core.telemetry import INDEX_LAG, INGEST_EVENTS, INGEST_FAILURES, stage
from index.indexer import Indexer
from ingest.chunking import ChunkPolicy, chunk_blocks
from ingest.files import (
    FileFacts,
    assert_unchanged,
    check_name,
    inspect,
    printable_path,
    read_stable,
)
from ingest.parsing import ParserPool
from schemas import ContentWarning, ReasonCode
from schemas.tasks import Counts, DeleteFile, IngestFile, SyncIndex, Task, TaskResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """Bounds on what one file may cost."""

    max_file_bytes: int
    max_attempts: int = 3
    settle_s: float = 0.0


@dataclass
class IngestContext:
    """What the task functions need: the catalog, the parser, the limits, the chunk policy."""

    catalog: Catalog
    parser: ParserPool
    limits: Limits
    policy: ChunkPolicy
    indexer: Indexer | None = None  # None: catalog only (the index catches up on sync)

    def root(self, source: str) -> Path:
        """The root folder of a registered source."""
        return self.catalog.source_root(source)

    def close(self) -> None:
        """Stop the parser process, release the index and the database."""
        self.parser.close()
        if self.indexer is not None:
            self.indexer.active.close()
        self.catalog.close()


@dataclass(frozen=True)
class FileRead:
    """A file's bytes as read, with its facts and hash."""

    doc_id: str
    facts: FileFacts
    data: bytes
    sha256: str


def run_task(ctx: IngestContext, task: Task) -> TaskResult:
    """Dispatch one task message to its function (and count it on its admin job, if any)."""
    with stage("task", kind=task.kind):
        result = _dispatch(ctx, task)
    INGEST_EVENTS.labels(task.kind, _outcome(result)).inc()
    return result


def _outcome(result: TaskResult) -> str:
    for name in ("failed", "deferred", "deleted", "versions_created", "unchanged"):
        if getattr(result, name):
            return "created" if name == "versions_created" else name
    return "done"


def _dispatch(ctx: IngestContext, task: Task) -> TaskResult:
    if isinstance(task, IngestFile):
        result = ingest_file(ctx, task, force=task.force)
        if task.job_id is not None and not result.deferred:
            doc_id = document_id(task.source, printable_path(task.rel_path))
            ctx.catalog.jobs.item_done(task.job_id, doc_id, result.error if result.failed else None)
        return result
    if isinstance(task, DeleteFile):
        return delete_file(ctx, task)
    return sync_index(ctx, task)


def ingest_file(ctx: IngestContext, task: IngestFile, force: bool = False) -> TaskResult:
    """Bring one file into the catalog: a new version if its bytes (or chunks) changed."""
    result = TaskResult(task=task, documents=1)
    root = ctx.root(task.source)
    doc_id = document_id(task.source, printable_path(task.rel_path))
    sha: str | None = None
    try:
        check_name(task.rel_path)
        facts = inspect(root, task.rel_path, ctx.limits.max_file_bytes)
        _check_settled(facts, ctx.limits.settle_s)
        data = read_stable(facts, ctx.limits.max_file_bytes)
        sha = sha256_hex(data)
        read = FileRead(doc_id=doc_id, facts=facts, data=data, sha256=sha)
        return _ingest_bytes(ctx, task, read, result, force=force)
    except FileNotFoundError:
        return delete_file(ctx, DeleteFile(source=task.source, rel_path=task.rel_path))
    except FileUnstable as exc:
        result.deferred = 1
        result.error = str(exc)
        return result
    except IngestError as exc:
        _record_failure(ctx, task, doc_id, sha, exc)
        result.failed = 1
        result.error = f"{exc.reason.value}: {exc}"
        return result
    except OSError as exc:
        error = IngestError(f"cannot read the file: {exc.strerror}", ReasonCode.IO_ERROR)
        _record_failure(ctx, task, doc_id, sha, error)
        result.failed = 1
        result.error = f"{error.reason.value}: {error}"
        return result


def content_warnings(new_chunks: Sequence[NewChunk]) -> list[ContentWarning]:
    """A warning for each instruction-like phrase in the chunks (`core.instructions`)."""
    return [
        ContentWarning(chunk_id=chunk.chunk_id, kind=found.kind, phrase=found.phrase[:300])
        for chunk in new_chunks
        for found in find_instructions(chunk.text)
    ]


def _warn_owners(doc_id: str, version: int, warnings: list[ContentWarning]) -> None:
    phrases = "; ".join(f"{w.kind}: {w.phrase!r}" for w in warnings[:3])
    raise_alert(
        "content_warning",
        f"{doc_id} v{version} holds instruction-like text ({phrases}); answers quoting it are "
        "held for review until the passage is fixed",
        doc_id=doc_id,
        version=version,
        warnings=[w.model_dump() for w in warnings],
    )


def _ingest_bytes(
    ctx: IngestContext, task: IngestFile, read: FileRead, result: TaskResult, *, force: bool
) -> TaskResult:
    doc_id, facts, data, sha = read.doc_id, read.facts, read.data, read.sha256
    current = ctx.catalog.current_version(doc_id)
    outdated = current is not None and ctx.catalog.formats.outdated(doc_id, current.version)
    force = force or outdated  # chunked by an older Verity: re-chunk into the display form
    if current is not None and current.sha256 == sha and not force:
        ctx.catalog.note_stat(doc_id, facts.size, facts.mtime_ns)
        ctx.catalog.failures.resolve(doc_id)
        # the bytes are known, but a crash between the commit and the index sync may have
        # left the index behind: make sure it holds this version (a no-op when it does)
        _sync_index(ctx, doc_id, result)
        result.unchanged = 1
        return result
    failure = ctx.catalog.failures.open_failure(doc_id, sha)
    if failure is not None and failure.quarantined and not force:
        result.failed = 1
        result.error = f"quarantined after {failure.attempts} attempt(s): {failure.message}"
        return result
    with stage("parse", media_type=facts.media_type):
        blocks = ctx.parser.parse(data, Path(task.rel_path).name, facts.media_type)
        new_chunks = chunk_blocks(doc_id, blocks, ctx.policy)
    assert_unchanged(facts)  # edited or deleted mid-parse: the newer state wins
    if current is not None and current.sha256 == sha:
        old_ids = [c.chunk_id for c in ctx.catalog.chunks(doc_id, current.version)]
        if old_ids == [c.chunk_id for c in new_chunks]:
            if outdated:
                ctx.catalog.formats.mark_current(doc_id, current.version)
            result.unchanged = 1
            return result
    warnings = content_warnings(new_chunks)
    version = ctx.catalog.commit_version(
        doc_id,
        task.source,
        task.rel_path,
        expected_current=current.version if current else None,
        sha256=sha,
        size_bytes=len(data),
        media_type=facts.media_type,
        new_chunks=new_chunks,
        stat=(facts.size, facts.mtime_ns),
        warnings=warnings,
    )
    ctx.catalog.failures.resolve(doc_id)
    _supersede_resolutions(ctx, doc_id, version.version)
    if warnings:
        _warn_owners(doc_id, version.version, warnings)
    _sync_index(ctx, doc_id, result)
    if ctx.indexer is not None:  # searchable now: how long since the file changed
        INDEX_LAG.observe(max(0.0, time.time() - facts.mtime_ns / 1e9))
    result.versions_created = 1
    result.chunks_added = len(version.diff.added)
    result.chunks_removed = len(version.diff.removed)
    result.chunks_unchanged = len(version.diff.unchanged)
    log.info("ingested %s v%d (%d chunks)", doc_id, version.version, version.chunk_count)
    return result


def _supersede_resolutions(ctx: IngestContext, doc_id: str, current: int | None) -> None:
    """Resolutions citing an older version of `doc_id` stop being served; owners are told."""
    for stale in ctx.catalog.resolutions.superseded(doc_id, current):
        tell_owners(stale)


def delete_file(ctx: IngestContext, task: DeleteFile) -> TaskResult:
    """The file is gone: tombstone its document. If the file is back, ingest it instead."""
    root = ctx.root(task.source)
    if os.path.lexists(root / task.rel_path):
        return ingest_file(ctx, IngestFile(source=task.source, rel_path=task.rel_path))
    doc_id = document_id(task.source, printable_path(task.rel_path))
    tomb = ctx.catalog.delete_document(doc_id)
    ctx.catalog.failures.resolve(doc_id)
    if tomb is not None:
        _supersede_resolutions(ctx, doc_id, None)
    result = TaskResult(task=task, documents=1)
    _sync_index(ctx, doc_id, result)
    if tomb is not None:
        last = ctx.catalog.version(doc_id, tomb.last_version)
        result.deleted = 1
        result.chunks_removed = last.chunk_count if last else 0
        log.info("deleted %s (last version %d)", doc_id, tomb.last_version)
    return result


def sync_index(ctx: IngestContext, task: SyncIndex) -> TaskResult:
    """Make the index hold exactly the catalog's current versions (heals a lagging index)."""
    result = TaskResult(task=task)
    if ctx.indexer is None:
        return result
    if task.doc_id is not None:
        change = ctx.indexer.sync_document(task.doc_id)
    else:
        change = ctx.indexer.sync_all()
        ctx.indexer.optimize()  # periodic, in the writer's thread: off the query path
    result.chunks_embedded = change.embedded
    log.info(
        "index sync: %d embedded, %d from cache, %d moved, %d removed",
        change.embedded,
        change.from_cache,
        change.kept,
        change.removed,
    )
    return result


def add_counts(total: Counts, one: Counts) -> None:
    """Add one result's counters to a running total."""
    for name in COUNTERS:
        setattr(total, name, getattr(total, name) + getattr(one, name))


#: The counters of a `TaskResult`, in the order `verity ingest --json` prints them.
COUNTERS = tuple(Counts.model_fields)


def _sync_index(ctx: IngestContext, doc_id: str, result: TaskResult) -> None:
    if ctx.indexer is not None:
        with stage("index"):
            change = ctx.indexer.sync_document(doc_id)
        result.chunks_embedded += change.embedded


def _check_settled(facts: FileFacts, settle_s: float) -> None:
    if settle_s and time.time() - facts.mtime_ns / 1e9 < settle_s:
        raise FileUnstable(f"modified less than {settle_s:g} s ago; may still be written")


def _record_failure(
    ctx: IngestContext, task: IngestFile, doc_id: str, sha: str | None, exc: IngestError
) -> None:
    failure = ctx.catalog.failures.record(
        source=task.source,
        path=printable_path(task.rel_path),
        doc_id=doc_id,
        sha256=sha,
        reason=exc.reason,
        message=str(exc),
        max_attempts=ctx.limits.max_attempts,
    )
    INGEST_FAILURES.labels(exc.reason.value).inc()
    raise_alert(
        "ingest_failure",
        f"{doc_id}: {exc.reason.value}: {exc}",
        doc_id=doc_id,
        reason=exc.reason.value,
        attempts=failure.attempts,
        quarantined=failure.quarantined,
    )
    log.warning(
        "ingest failed: %s (%s, attempt %d%s): %s",
        doc_id,
        exc.reason.value,
        failure.attempts,
        ", quarantined" if failure.quarantined else "",
        exc,
    )
