"""What the chat page reads back: an agent's conversations, and one conversation with each
answer as it was given (status, citations), so a reopened conversation renders as before."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from schemas.answer import Answer, AuditRecord, ConversationTurn, Feedback


class ConversationSummary(BaseModel):
    """One line of the conversation list: newest first."""

    conversation_id: str
    title: str = Field(description="its first question, cut to 120 characters")
    created_at: datetime
    updated_at: datetime
    turns: int


class ConversationEntry(ConversationTurn):
    """A turn, and for an agent turn the answer given (none for turns stored otherwise)."""

    answer: Answer | None = None


class ConversationView(BaseModel):
    """A whole conversation, oldest turn first."""

    conversation_id: str
    title: str
    created_at: datetime
    updated_at: datetime
    turns: list[ConversationEntry]


class AnswerRecord(AuditRecord):
    """An answer's audit record with the feedback agents gave it (`GET /v1/answers/{id}`)."""

    feedback: list[Feedback] = Field(default_factory=list)


class FeedbackEntry(Feedback):
    """Feedback as admins list it: with the question and the answer's status."""

    question: str
    status: str
