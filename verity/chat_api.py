"""The agents' routes: ask, read an answer's record, give feedback, list and reopen
conversations, read a cited version, list sources. Each needs an `agent` key (when keys are
on); a conversation belongs to the key that started it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from answer.cited import cited_version
from answer.history import conversation, conversations_of
from answer.service import AnswerService
from catalog import Catalog
from core.errors import Forbidden, NotFound
from schemas.admin import ApiKey, Role
from schemas.answer import (
    Answer,
    AuditRecord,
    ChatRequest,
    Feedback,
    FeedbackRequest,
    VersionText,
)
from schemas.conversations import AnswerRecord, ConversationSummary, ConversationView
from verity.auth import LOCAL, Auth
from verity.params import RowNumber
from verity.version_page import version_page

#: Reads a request's trace id (set by the tracing middleware).
TraceOf = Callable[[Request], str]


def chat_router(
    service: AnswerService, catalog: Catalog, auth: Auth | None, trace_of: TraceOf
) -> APIRouter:
    """The `/v1` routes agents use: answers from `service`, records and versions read from
    `catalog`."""
    router = APIRouter(tags=["chat"])

    def caller_key(request: Request) -> ApiKey | None:
        """The key asking (None when the API runs without keys)."""
        return auth.require(Role.AGENT)(request) if auth else None

    def caller(request: Request) -> str | None:
        """The id of the key asking (None when the API runs without keys)."""
        key = caller_key(request)
        return key.key_id if key else None

    asker = Depends(caller)
    reader = Depends(caller_key)

    @router.post("/v1/chat", response_model=Answer)
    def chat(body: ChatRequest, request: Request, key: ApiKey | None = reader) -> Answer:
        """Answer a question (optionally continuing a conversation), citing exact versions;
        a key limited to sources is answered from those sources only."""
        scoped = within_scope(body, key)
        return service.ask(scoped, trace_id=trace_of(request), owner=key.key_id if key else None)

    @router.get("/v1/answers/{answer_id}", response_model=AnswerRecord)
    def audit(answer_id: str, key: ApiKey | None = reader) -> AnswerRecord:
        """The audit record of one answer (what produced it, what was checked, what was done)
        and the feedback agents gave it."""
        record = catalog.answers.audit(answer_id)
        if record is None or not _readable(record, key):
            raise NotFound(f"no answer {answer_id!r}")
        feedback = catalog.answers.feedback(answer_id)
        return AnswerRecord(**record.model_dump(), feedback=feedback)

    def _readable(record: AuditRecord, key: ApiKey | None) -> bool:
        """A limited key reads the records of answers that read only its sources."""
        if key is None or key.scope is None:
            return True
        read = {c.doc_id for c in record.retrieved} | {c.doc_id for c in record.answer.citations}
        documents = [catalog.document(doc_id) for doc_id in sorted(read)]
        return all(d is None or key.may_read(d.source) for d in documents)

    @router.post("/v1/feedback", response_model=Feedback, status_code=201)
    def feedback(body: FeedbackRequest, _: str | None = asker) -> Feedback:
        """Record whether an answer helped, beside its audit record."""
        return catalog.answers.add_feedback(body)

    @router.get("/v1/conversations", response_model=list[ConversationSummary])
    def conversations(
        owner: str | None = asker, limit: Annotated[int, Query(ge=1, le=200)] = 50
    ) -> list[ConversationSummary]:
        """The conversations this key started, newest first."""
        return conversations_of(catalog, owner, limit)

    @router.get("/v1/conversations/{conversation_id}", response_model=ConversationView)
    def one_conversation(conversation_id: str, owner: str | None = asker) -> ConversationView:
        """One of this key's conversations, each answer as it was given."""
        return conversation(catalog, conversation_id, owner)

    @router.get("/v1/me", response_model=ApiKey)
    def me(request: Request) -> ApiKey:
        """The key asking: its id, name, role and the sources it is limited to (the console
        shows what the role may do)."""
        key = auth.caller(request) if auth else None
        return key if key is not None else LOCAL

    @router.get("/v1/sources", response_model=list[str])
    def sources(key: ApiKey | None = reader) -> list[str]:
        """The names of the sources questions can be limited to (a limited key: its own)."""
        return sorted(s for s in catalog.source_roots() if key is None or key.may_read(s))

    @router.get(
        "/v1/documents/{doc_id:path}/versions/{version}",
        response_model=VersionText,
        responses={200: {"content": {"text/html": {}}}},
    )
    def cited(
        doc_id: str, version: RowNumber, request: Request, key: ApiKey | None = reader
    ) -> Any:
        """One version of a document, as a citation points at it: its text and chunks
        (anchors `chunk-<id>`); an HTML page when a browser asks for one. A key limited to
        sources reads only theirs (404 for the others, as for a document that is not there)."""
        document = catalog.document(doc_id)
        if document is not None and key is not None and not key.may_read(document.source):
            raise NotFound(f"no version {version} of document {doc_id!r}")
        found = cited_version(catalog, doc_id, version)
        if "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(version_page(found))
        return found

    return router


def within_scope(request: ChatRequest, key: ApiKey | None) -> ChatRequest:
    """The request as `key` may make it: a key limited to sources searches only those (the
    filter goes into the index query and the audit record); asking for another is a 403."""
    scope = key.scope if key is not None else None
    if scope is None:
        return request
    filters = request.filters
    asked = [filters.source] if filters.source is not None else (filters.sources or [])
    outside = sorted(set(asked) - set(scope))
    if outside:
        raise Forbidden(
            f"this key reads only the sources {', '.join(scope)} (not {', '.join(outside)})"
        )
    narrowed = sorted(set(filters.sources) & set(scope)) if filters.sources else scope
    return request.model_copy(update={"filters": filters.model_copy(update={"sources": narrowed})})
