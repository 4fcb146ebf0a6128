"""The answer contract: what `POST /v1/chat` and `verity ask` return, and what they accept.

Every answer names the exact document versions it rests on (citations), the index state it
read (`index_generation`), and the prompt, model and generator that produced it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.records import ContentWarning

ANSWER_SCHEMA_VERSION: Literal[1] = 1


class AnswerStatus(StrEnum):
    """What the service did with a question."""

    ANSWERED = "answered"
    DECLINED = "declined"
    ESCALATED = "escalated"


class DeclineReason(StrEnum):
    """Why a question was not answered; `DECLINE_MESSAGES` says it in a sentence."""

    NO_EVIDENCE = "no_evidence"
    WEAK_EVIDENCE = "weak_evidence"
    UNKNOWN_NAME = "unknown_name"
    UNDERSPECIFIED = "underspecified"
    INVALID_OUTPUT = "invalid_output"
    INDEX_CHANGING = "index_changing"


DECLINE_MESSAGES: dict[DeclineReason, str] = {
    DeclineReason.NO_EVIDENCE: "I can't answer that from the knowledge base: "
    "no document covers it.",
    DeclineReason.WEAK_EVIDENCE: "I can't answer that from the knowledge base: "
    "the closest documents do not clearly cover it.",
    DeclineReason.UNKNOWN_NAME: "I can't answer that from the knowledge base: "
    "it never mentions what the question is about.",
    DeclineReason.UNDERSPECIFIED: "I'm not sure what this refers to: which product, setting "
    "or task do you mean?",
    DeclineReason.INVALID_OUTPUT: "I couldn't produce an answer I can back with the "
    "documents; the failure has been recorded.",
    DeclineReason.INDEX_CHANGING: "The documents behind this answer are being updated right "
    "now; please ask again in a moment.",
}


class SearchFilters(BaseModel):
    """Optional limits on what is searched."""

    model_config = ConfigDict(extra="forbid")

    source: str | None = Field(default=None, max_length=200)
    doc_id: str | None = Field(default=None, max_length=400)
    sources: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None,
        max_length=200,
        description="only these sources (a key limited to sources searches only those: set by "
        "the service from the key, recorded in the audit)",
    )

    def searched(self) -> str | tuple[str, ...] | None:
        """The sources a search reads: one, any of several, every one (None), or none (`()`:
        a `source` outside `sources`)."""
        if self.sources is None:
            return self.source
        if self.source is not None:
            return self.source if self.source in self.sources else ()
        return tuple(self.sources)


class ChatRequest(BaseModel):
    """A question, optionally continuing a conversation."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=4000)
    conversation_id: str | None = Field(default=None, min_length=1, max_length=100)
    filters: SearchFilters = Field(default_factory=SearchFilters)

    @field_validator("question")
    @classmethod
    def _not_blank(cls, question: str) -> str:
        if not question.strip():
            raise ValueError("the question is blank")
        return question


def citation_url(doc_id: str, version: int, chunk_id: str) -> str:
    """Where an agent reads a cited version: `GET /v1/documents/{doc_id}/versions/{n}`, the
    chunk's anchor (`#chunk-<id>`) marking the passage."""
    return f"/v1/documents/{quote(doc_id, safe='/')}/versions/{version}#chunk-{chunk_id}"


class Citation(BaseModel):
    """One cited chunk of one exact document version; `marker` is its `[n]` in the text."""

    model_config = ConfigDict(frozen=True)

    marker: int = Field(ge=1)
    doc_id: str
    version: int = Field(ge=1)
    sha: str
    path: str
    heading_path: list[str] = Field(default_factory=list)
    page: int | None = None
    snippet: str = Field(description="the cited passage's text (display Markdown)")
    chunk_id: str
    score: float
    url: str = Field(default="", description="the cited version's text, the chunk anchored")
    see_also: bool = Field(
        default=False, description="listed under 'See also', not quoted in the answer"
    )


class VersionChunk(BaseModel):
    """One chunk of a cited version, as the answer read it; `anchor` is its `#` in links."""

    chunk_id: str
    ordinal: int
    heading_path: list[str] = Field(default_factory=list)
    page: int | None = None
    text: str = Field(description="display Markdown: no reST or other markup")
    anchor: str


class VersionText(BaseModel):
    """One version of one document as an agent checks a citation:
    `GET /v1/documents/{doc_id}/versions/{version}`."""

    doc_id: str
    source: str
    path: str
    version: int
    sha256: str
    media_type: str
    created_at: datetime
    current: bool = Field(description="false once a newer version (or a deletion) replaced it")
    current_version: int | None
    text: str = Field(description="the version's chunks joined, display Markdown")
    chunks: list[VersionChunk]
    warnings: list[ContentWarning] = Field(
        default_factory=list, description="instruction-like passages ingest found in it"
    )


class Answer(BaseModel):
    """A validated answer, or an honest decline or escalation, with what produced it."""

    schema_version: Literal[1] = ANSWER_SCHEMA_VERSION
    answer_id: str
    conversation_id: str
    status: AnswerStatus
    text: str
    citations: list[Citation] = Field(default_factory=list)
    confidence: float = Field(ge=0, le=1)
    decline_reason: DeclineReason | None = None
    decline_message: str | None = None
    query: str = Field(description="the standalone query that was searched")
    index_generation: int
    prompt_id: str | None = Field(default=None, description="None: no prompt (extractive)")
    prompt_version: str | None = None
    prompt_sha: str | None = None
    embedding_model: str
    generator: str
    trace_id: str
    latency_ms: float
    retrievals: int = Field(
        default=1,
        description="searches read: 2 for a follow-up or an unsure turn (searched with and "
        "without the conversation); more when the snapshot moved and it was retrieved again",
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="what an agent must check before sending (a quoted passage that reads "
        "like instructions: the answer is then escalated)",
    )


class Draft(BaseModel):
    """What a generator proposes, before the trust layer: text whose `[n]` markers number
    the passages it was given (1-based), or a decline."""

    status: Literal["answered", "declined"]
    text: str = ""
    support: list[float] = Field(
        default_factory=list, description="per sentence: how well its passage backs it (0-1)"
    )
    raw: str | None = Field(default=None, description="the generator's output as received")
    error: str | None = Field(default=None, description="why the raw output could not be read")
    signals: dict[str, float] = Field(
        default_factory=dict, description="evidence measures the perimeter weighs (0-1)"
    )


class ConversationTurn(BaseModel):
    """One stored message of a conversation."""

    turn: int = Field(ge=1)
    role: Literal["user", "agent"]
    text: str
    answer_id: str | None = None
    at: datetime


class RetrievedChunk(BaseModel):
    """One chunk a retrieval returned, as the audit record keeps it."""

    chunk_id: str
    doc_id: str
    version: int
    score: float


class Attempt(BaseModel):
    """One generator call and what the trust layer found wrong with it (nothing: accepted)."""

    generator: str
    prompt_id: str | None = None
    raw: str | None = None
    problems: list[str] = Field(default_factory=list)


class SnapshotCheck(BaseModel):
    """Before returning: were the cited versions still current? (stale: the ones that were not)"""

    generation: int
    stale: list[tuple[str, int]] = Field(default_factory=list)


class QueryTried(BaseModel):
    """One query an unsure follow-up was searched with, the confidence its evidence gave,
    and whether it was the one kept."""

    query: str
    confidence: float
    chosen: bool


class ExcerptInput(BaseModel):
    """What the extractive draft was drawn with: the text its sentences were weighed
    against, and the passages (chunk ids) it was asked not to quote again."""

    question: str
    avoided: list[str] = Field(default_factory=list)


class AuditRecord(BaseModel):
    """Everything that produced one answer: enough to explain it later."""

    schema_version: Literal[1] = 1
    created_at: datetime
    answer: Answer
    question: str
    history_turns: int = Field(description="earlier turns the query was condensed with")
    condensed_by: str = Field(default="rules", description="rules, or model (condense prompt)")
    turn_kind: str = Field(
        default="standalone",
        description="standalone, follow_up, unsure (searched both ways) or underspecified",
    )
    query_reason: str = Field(default="", description="why the question was searched this way")
    queries_tried: list[QueryTried] = Field(
        default_factory=list, description="unsure turns: each query tried, the stronger kept"
    )
    retrieved: list[RetrievedChunk]
    attempts: list[Attempt]
    snapshot_checks: list[SnapshotCheck]
    signals: dict[str, float] = Field(default_factory=dict)
    excerpt: ExcerptInput | None = Field(
        default=None, description="the extractive draft's inputs (None: declined before it)"
    )
    unknown_names: list[str] = Field(
        default_factory=list, description="names the question used that no document mentions"
    )
    thresholds: dict[str, float] = Field(
        default_factory=dict, description="the perimeter's decline_below and escalate_below"
    )
    filters: SearchFilters = Field(default_factory=SearchFilters)
    resolution_id: str | None = Field(
        default=None, description="answered from this resolution (its pinned versions current)"
    )


class AnswerFailure(BaseModel):
    """A generation the trust layer could not accept after its repairs: kept, never dropped."""

    schema_version: Literal[1] = 1
    created_at: datetime
    answer_id: str
    trace_id: str
    reason: str
    question: str
    attempts: list[Attempt]
    outcome: str = Field(description="what was returned instead: a decline or the extractive")


class FeedbackRequest(BaseModel):
    """An agent's verdict on one answer."""

    model_config = ConfigDict(extra="forbid")

    answer_id: str = Field(min_length=1, max_length=100)
    helpful: bool
    comment: str | None = Field(default=None, max_length=4000)


class Feedback(FeedbackRequest):
    """Stored feedback."""

    feedback_id: int
    created_at: datetime
