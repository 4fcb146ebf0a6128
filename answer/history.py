"""An agent's conversations read back: the list, and one conversation with each answer as it
was given, for the chat page (another browser or process sees the same)."""

from __future__ import annotations

from answer.records import AnswerRecords
from core.errors import NotFound
from schemas.conversations import ConversationEntry, ConversationSummary, ConversationView


def conversations_of(
    catalog: AnswerRecords, owner: str | None, limit: int = 50
) -> list[ConversationSummary]:
    """The conversations `owner` started, newest first."""
    return catalog.conversations.summaries(owner, limit)


def conversation(
    catalog: AnswerRecords, conversation_id: str, owner: str | None
) -> ConversationView:
    """One conversation, its agent turns with their answers; `NotFound` when it is unknown or
    another key's."""
    conversations = catalog.conversations
    summary = conversations.summary(conversation_id)
    if summary is None or not conversations.open_to(conversation_id, owner):
        raise NotFound(f"no conversation {conversation_id!r}")
    entries = []
    for turn in conversations.turns(conversation_id):
        record = catalog.answers.audit(turn.answer_id) if turn.answer_id else None
        entries.append(
            ConversationEntry(**turn.model_dump(), answer=record.answer if record else None)
        )
    return ConversationView(
        conversation_id=conversation_id,
        title=summary.title,
        created_at=summary.created_at,
        updated_at=summary.updated_at,
        turns=entries,
    )
