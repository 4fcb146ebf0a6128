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
from core.errors import NotFound
from schemas.admin import Role
from schemas.answer import Answer, ChatRequest, Feedback, FeedbackRequest, VersionText
from schemas.conversations import AnswerRecord, ConversationSummary, ConversationView
from verity.auth import Auth
from verity.params import RowNumber
from verity.version_page import version_page

#: Reads a request's trace id (set by the tracing middleware).
TraceOf = Callable[[Request], str]


def chat_router(service: AnswerService, auth: Auth | None, trace_of: TraceOf) -> APIRouter:
    """The `/v1` routes agents use."""
    router = APIRouter(tags=["chat"])
    catalog = service.catalog

    def caller(request: Request) -> str | None:
        """The id of the key asking (None when the API runs without keys)."""
        return auth.require(Role.AGENT)(request).key_id if auth else None

    asker = Depends(caller)

    @router.post("/v1/chat", response_model=Answer)
    def chat(body: ChatRequest, request: Request, owner: str | None = asker) -> Answer:
        """Answer a question (optionally continuing a conversation), citing exact versions."""
        return service.ask(body, trace_id=trace_of(request), owner=owner)

    @router.get("/v1/answers/{answer_id}", response_model=AnswerRecord)
    def audit(answer_id: str, _: str | None = asker) -> AnswerRecord:
        """The audit record of one answer (what produced it, what was checked, what was done)
        and the feedback agents gave it."""
        record = catalog.answers.audit(answer_id)
        if record is None:
            raise NotFound(f"no answer {answer_id!r}")
        feedback = catalog.answers.feedback(answer_id)
        return AnswerRecord(**record.model_dump(), feedback=feedback)

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

    @router.get("/v1/sources", response_model=list[str])
    def sources(_: str | None = asker) -> list[str]:
        """The names of the sources questions can be limited to."""
        return sorted(catalog.source_roots())

    @router.get(
        "/v1/documents/{doc_id:path}/versions/{version}",
        response_model=VersionText,
        responses={200: {"content": {"text/html": {}}}},
    )
    def cited(doc_id: str, version: RowNumber, request: Request, _: str | None = asker) -> Any:
        """One version of a document, as a citation points at it: its text and chunks
        (anchors `chunk-<id>`); an HTML page when a browser asks for one."""
        found = cited_version(catalog, doc_id, version)
        if "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(version_page(found))
        return found

    return router
