"""Admin and document routes: reindex jobs, documents and their versions, failures,
escalations and audit records (role `admin`); uploads and deletions (role `owner`)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query

from catalog import Catalog
from core.errors import (
    ConfigError,
    Conflict,
    Forbidden,
    NotFound,
    RejectedFile,
)
from core.ports import TaskRunner
from index.embedding import check_loadable
from index.indexer import Indexer
from ingest.jobs import replay_dead_letter, start_reindex
from ingest.states import document_statuses
from ingest.uploads import removal, remove_file, store_upload
from schemas import ReasonCode
from schemas.admin import (
    ApiKey,
    DocumentAccepted,
    DocumentUpload,
    Job,
    ReindexRequest,
    Role,
)
from schemas.answer import AuditRecord
from schemas.conversations import FeedbackEntry
from schemas.owners import DocumentStatus
from schemas.replay import ReplayReport
from schemas.tasks import DeadLetter
from verity.auth import Auth
from verity.params import OptionalName, RowNumber

#: Starts a rebuild for (model id, job id) off the request thread.
StartRebuild = Callable[[str, str], object]
#: Replays an audited answer: (answer id, against today's index?) → the comparison.
Replay = Callable[[str, bool], ReplayReport]


@dataclass
class AdminSide:
    """What the admin routes act on."""

    catalog: Catalog
    runner: TaskRunner
    indexer: Indexer
    start_rebuild: StartRebuild
    default_model: str
    max_upload_bytes: int
    replay: Replay


def admin_router(side: AdminSide, auth: Auth) -> APIRouter:
    """The `/admin/*` routes, and `/v1/documents` (`documents_router`)."""
    router = APIRouter()
    admin = [Depends(auth.require(Role.ADMIN))]
    catalog = side.catalog

    @router.post("/admin/reindex", status_code=202, dependencies=admin, tags=["admin"])
    def reindex(body: ReindexRequest) -> Job:
        """Re-parse one document, one source or everything, or rebuild the index (new
        collection from stored chunks, optionally for a new embedding model); returns a job."""
        if not body.rebuild:
            return start_reindex(catalog, side.runner, body)
        model = body.embedding_model or side.default_model
        try:
            check_loadable(model)
        except ConfigError as exc:  # names nothing this machine can load
            raise NotFound(str(exc)) from None
        if side.indexer.rebuilding:
            raise Conflict("a rebuild is already running; follow its job")
        total = len([d for d in catalog.documents() if d.current_version is not None])
        job = catalog.jobs.create(body, total=total, stage="rebuild queued")
        side.start_rebuild(model, job.job_id)
        return job

    @router.get("/admin/jobs/{job_id}", dependencies=admin, tags=["admin"])
    def job(job_id: str) -> Job:
        """A job's progress: done/total, current stage, errors."""
        return catalog.jobs.get(job_id)

    @router.get("/admin/documents", dependencies=admin, tags=["admin"])
    def documents(source: OptionalName = None) -> list[dict[str, Any]]:
        """Every document: status, current version, its sha and chunk count."""
        return [
            {
                **summary.document.model_dump(mode="json"),
                "sha256": summary.sha256,
                "chunk_count": summary.chunk_count,
                "versions": [v.version for v in catalog.versions(summary.document.doc_id)],
            }
            for summary in catalog.summaries()
            if source in (None, summary.document.source)
        ]

    @router.get(
        "/admin/documents/{doc_id:path}/versions/{version}", dependencies=admin, tags=["admin"]
    )
    def version(doc_id: str, version: RowNumber) -> dict[str, Any]:
        """One version of a document as it was indexed: what an answer citing it read."""
        found = catalog.version(doc_id, version)
        if found is None:
            raise NotFound(f"no version {version} of {doc_id!r}")
        chunks = catalog.chunks(doc_id, version)
        return {
            **found.model_dump(mode="json"),
            "current": catalog.current_versions([doc_id]).get(doc_id) == version,
            "text": "\n\n".join(chunk.text for chunk in chunks),
            "chunks": [chunk.model_dump(mode="json") for chunk in chunks],
        }

    @router.get("/admin/failures", dependencies=admin, tags=["admin"])
    def failures(
        include_resolved: bool = False, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> dict[str, Any]:
        """Every kind of failure: files not ingested, dead letters, answers the trust layer
        could not accept."""
        return {
            "ingest": [f.model_dump(mode="json") for f in catalog.failures.list(include_resolved)],
            "dead_letters": [
                d.model_dump(mode="json") for d in catalog.dead_letters.list(include_resolved)
            ],
            "answers": [a.model_dump(mode="json") for a in catalog.answers.failures(limit)],
        }

    @router.post(
        "/admin/dead-letters/{letter_id}/replay",
        status_code=202,
        dependencies=admin,
        tags=["admin"],
    )
    def replay(letter_id: RowNumber) -> DeadLetter:
        """Submit a dead letter's task again (after fixing its cause); the letter is resolved."""
        return replay_dead_letter(catalog, side.runner, letter_id)

    @router.get("/admin/escalations", dependencies=admin, tags=["admin"])
    def escalations(limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[AuditRecord]:
        """Escalated answers (low confidence), newest first."""
        return catalog.answers.audits(status="escalated", limit=limit)

    @router.get("/admin/feedback", dependencies=admin, tags=["admin"])
    def feedback(
        helpful: bool | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[FeedbackEntry]:
        """What agents said of answers, newest first (`helpful=false`: the answers that did
        not help), with each question and the answer's status."""
        return catalog.answers.feedback_entries(helpful, limit)

    @router.get("/admin/answers", dependencies=admin, tags=["admin"])
    def answers(
        status: Literal["answered", "declined", "escalated"] | None = None,
        conversation_id: OptionalName = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[AuditRecord]:
        """Audit records, newest first, filtered by status or conversation."""
        return catalog.answers.audits(status=status, conversation_id=conversation_id, limit=limit)

    @router.get("/admin/answers/{answer_id}/replay", dependencies=admin, tags=["admin"])
    def replay_answer(answer_id: str, now: bool = False) -> ReplayReport:
        """The audited answer produced again from the chunk versions it read (`now=true`:
        the same question against today's index), compared field by field. Stores nothing."""
        return side.replay(answer_id, now)

    router.include_router(documents_router(side, auth))
    return router


def documents_router(side: AdminSide, auth: Auth) -> APIRouter:
    """`POST /v1/documents` and `DELETE /v1/documents/{doc_id}`: owner keys, within their
    sources."""
    router = APIRouter()
    catalog = side.catalog
    writer = Depends(auth.require(Role.OWNER))

    def may_write(key: ApiKey, source: str) -> None:
        if not key.may_write(source):
            raise Forbidden(f"this key writes only the sources {', '.join(key.sources)}")

    @router.post("/v1/documents", status_code=202, tags=["documents"])
    def upload(body: DocumentUpload, key: ApiKey = writer) -> DocumentAccepted:
        """Add or replace a document: written into its source folder and queued."""
        may_write(key, body.source)
        try:
            data = base64.b64decode(body.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RejectedFile(f"content_base64 is not base64: {exc}", ReasonCode.CORRUPT) from exc
        task = store_upload(catalog, body.source, body.path, data, side.max_upload_bytes)
        side.runner.submit(task)
        return _accepted(f"{task.source}/{task.rel_path}", task.source, task.rel_path, "ingest")

    @router.delete("/v1/documents/{doc_id:path}", status_code=202, tags=["documents"])
    def delete(doc_id: str, key: ApiKey = writer) -> DocumentAccepted:
        """Delete a document: its file leaves the folder and its versions stop being cited."""
        task = removal(catalog, doc_id)
        may_write(key, task.source)
        remove_file(catalog, task)
        side.runner.submit(task)
        return _accepted(doc_id, task.source, task.rel_path, "delete")

    @router.get("/v1/documents", tags=["documents"])
    def statuses(
        key: ApiKey = writer, source: OptionalName = None, doc_id: OptionalName = None
    ) -> list[DocumentStatus]:
        """The documents of the key's sources with their state (queued, active, deleted,
        failed with the reason), versions and warnings: what became of an upload. With
        `doc_id`: that one (404 if it is neither known nor waiting in its folder)."""
        found = document_statuses(catalog, key.may_read, source, doc_id)
        if doc_id is not None and not found:
            raise NotFound(f"no document {doc_id!r} in the sources this key reads")
        return found

    return router


def _accepted(
    doc_id: str, source: str, path: str, action: Literal["ingest", "delete"]
) -> DocumentAccepted:
    return DocumentAccepted(
        doc_id=doc_id,
        source=source,
        path=path,
        action=action,
        status_url=f"/v1/documents?doc_id={quote(doc_id, safe='/')}",
    )
