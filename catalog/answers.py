"""The answer side of the catalog: conversations, an audit record per answer, answer failures.

Conversations live here, not in a process's memory, so any API process can continue one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select

from catalog.tables import (
    answer_audit,
    answer_failures,
    answer_feedback,
    conversation_turns,
    conversations,
)
from core.errors import Conflict, NotFound
from schemas.answer import AnswerFailure, AuditRecord, ConversationTurn, Feedback, FeedbackRequest
from schemas.conversations import ConversationSummary, FeedbackEntry

#: Feedback records one answer takes (a client looping on one answer stops here: 409).
MAX_FEEDBACK = 20


class Conversations:
    """Stored conversations: numbered turns of the user and of Verity."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def exists(self, conversation_id: str) -> bool:
        """True when the conversation has been started."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(conversations.c.conversation_id).where(
                    conversations.c.conversation_id == conversation_id
                )
            ).first()
        return row is not None

    def turns(self, conversation_id: str, last: int | None = None) -> list[ConversationTurn]:
        """The turns of a conversation, oldest first (only the `last` few if given)."""
        table = conversation_turns
        query = select(table).where(table.c.conversation_id == conversation_id)
        query = query.order_by(table.c.turn.desc())
        if last is not None:
            query = query.limit(last)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            ConversationTurn(
                turn=r.turn, role=r.role, text=r.text, answer_id=r.answer_id, at=r.created_at
            )
            for r in reversed(rows)
        ]

    def append(
        self,
        conversation_id: str,
        role: str,
        text: str,
        answer_id: str | None = None,
        owner: str | None = None,
    ) -> int:
        """Add a turn (creating the conversation on its first, owned by `owner`, titled by its
        first text); returns its number."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            known = conn.execute(
                select(conversations.c.conversation_id).where(
                    conversations.c.conversation_id == conversation_id
                )
            ).first()
            if known is None:
                conn.execute(
                    insert(conversations).values(
                        conversation_id=conversation_id,
                        created_at=now,
                        updated_at=now,
                        owner=owner,
                        title=_title(text),
                    )
                )
            else:
                conn.execute(
                    conversations.update()
                    .where(conversations.c.conversation_id == conversation_id)
                    .values(updated_at=now)
                )
            table = conversation_turns
            turn = conn.execute(
                select(func.coalesce(func.max(table.c.turn), 0)).where(
                    table.c.conversation_id == conversation_id
                )
            ).scalar_one()
            conn.execute(
                insert(table).values(
                    conversation_id=conversation_id,
                    turn=turn + 1,
                    role=role,
                    text=text,
                    answer_id=answer_id,
                    created_at=now,
                )
            )
        return int(turn) + 1

    def open_to(self, conversation_id: str, owner: str | None) -> bool:
        """True when the conversation exists and `owner` may see it: it was started by that
        key, or without one."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(conversations.c.owner).where(
                    conversations.c.conversation_id == conversation_id
                )
            ).first()
        return row is not None and row.owner in (None, owner)

    def summaries(self, owner: str | None, limit: int = 50) -> list[ConversationSummary]:
        """The conversations `owner` started (`None`: those started without a key), newest
        first."""
        table, turns = conversations, conversation_turns
        counted = (
            select(turns.c.conversation_id, func.count().label("turns"))
            .group_by(turns.c.conversation_id)
            .subquery()
        )
        query = (
            select(table, counted.c.turns)
            .join(counted, counted.c.conversation_id == table.c.conversation_id)
            .where(table.c.owner.is_(None) if owner is None else table.c.owner == owner)
            .order_by(table.c.updated_at.desc(), table.c.conversation_id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_summary(r, r.turns) for r in rows]

    def summary(self, conversation_id: str) -> ConversationSummary | None:
        """One conversation's line (None when unknown)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(conversations).where(conversations.c.conversation_id == conversation_id)
            ).first()
            count = conn.execute(
                select(func.count()).where(conversation_turns.c.conversation_id == conversation_id)
            ).scalar_one()
        return None if row is None else _summary(row, count)


def _summary(row: Any, turns: int) -> ConversationSummary:
    return ConversationSummary(
        conversation_id=row.conversation_id,
        title=row.title or "",
        created_at=row.created_at,
        updated_at=row.updated_at,
        turns=turns,
    )


def _feedback(row: Any) -> Feedback:
    return Feedback(
        answer_id=row.answer_id,
        helpful=row.helpful,
        comment=row.comment,
        feedback_id=row.feedback_id,
        created_at=row.created_at,
    )


def _title(text: str) -> str:
    words = " ".join(text.split())
    return words if len(words) <= 120 else words[:119].rsplit(" ", 1)[0] + "…"


class AnswerLog:
    """Audit records of answers (every status) and failure records of the trust layer."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, audit: AuditRecord) -> None:
        """Store the audit record of one answer."""
        answer = audit.answer
        with self.engine.begin() as conn:
            conn.execute(
                insert(answer_audit).values(
                    answer_id=answer.answer_id,
                    conversation_id=answer.conversation_id,
                    status=answer.status.value,
                    created_at=audit.created_at,
                    trace_id=answer.trace_id,
                    record=audit.model_dump(mode="json"),
                    schema_version=audit.schema_version,
                )
            )

    def audit(self, answer_id: str) -> AuditRecord | None:
        """The audit record of one answer."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(answer_audit.c.record).where(answer_audit.c.answer_id == answer_id)
            ).first()
        return AuditRecord.model_validate(row.record) if row else None

    def audits(
        self, *, status: str | None = None, conversation_id: str | None = None, limit: int = 100
    ) -> list[AuditRecord]:
        """Audit records, newest first, optionally filtered."""
        query = select(answer_audit.c.record).order_by(answer_audit.c.created_at.desc())
        if status:
            query = query.where(answer_audit.c.status == status)
        if conversation_id:
            query = query.where(answer_audit.c.conversation_id == conversation_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit)).all()
        return [AuditRecord.model_validate(r.record) for r in rows]

    def add_feedback(self, request: FeedbackRequest) -> Feedback:
        """Store feedback on an answer that exists (`NotFound` otherwise)."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            known = conn.execute(
                select(answer_audit.c.answer_id).where(
                    answer_audit.c.answer_id == request.answer_id
                )
            ).first()
            if known is None:
                raise NotFound(f"no answer {request.answer_id!r}")
            given = conn.execute(
                select(func.count())
                .select_from(answer_feedback)
                .where(answer_feedback.c.answer_id == request.answer_id)
            ).scalar_one()
            if given >= MAX_FEEDBACK:
                raise Conflict(
                    f"answer {request.answer_id!r} has {given} feedback records, the most one "
                    "answer takes"
                )
            inserted = conn.execute(
                insert(answer_feedback).values(
                    answer_id=request.answer_id,
                    helpful=request.helpful,
                    comment=request.comment,
                    created_at=now,
                )
            )
            feedback_id = int(inserted.inserted_primary_key[0])  # type: ignore[index]
        return Feedback(**request.model_dump(), feedback_id=feedback_id, created_at=now)

    def feedback(self, answer_id: str) -> list[Feedback]:
        """The feedback on one answer, oldest first."""
        table = answer_feedback
        query = select(table).where(table.c.answer_id == answer_id).order_by(table.c.feedback_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_feedback(r) for r in rows]

    def feedback_entries(
        self, helpful: bool | None = None, limit: int = 100
    ) -> list[FeedbackEntry]:
        """Feedback on every answer, newest first, with the question and the answer's status."""
        table = answer_feedback
        query = (
            select(table, answer_audit.c.status, answer_audit.c.record)
            .join(answer_audit, answer_audit.c.answer_id == table.c.answer_id)
            .order_by(table.c.feedback_id.desc())
            .limit(limit)
        )
        if helpful is not None:
            query = query.where(table.c.helpful == helpful)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            FeedbackEntry(
                **_feedback(r).model_dump(), question=r.record["question"], status=r.status
            )
            for r in rows
        ]

    def fail(self, failure: AnswerFailure) -> None:
        """Persist a trust-layer failure (raw output, every attempt, the reason)."""
        values: dict[str, Any] = {
            "answer_id": failure.answer_id,
            "reason": failure.reason,
            "created_at": failure.created_at,
            "trace_id": failure.trace_id,
            "record": failure.model_dump(mode="json"),
        }
        with self.engine.begin() as conn:
            conn.execute(insert(answer_failures).values(**values))

    def failures(self, limit: int = 100) -> list[AnswerFailure]:
        """Trust-layer failures, newest first."""
        query = (
            select(answer_failures.c.record)
            .order_by(answer_failures.c.created_at.desc(), answer_failures.c.failure_id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [AnswerFailure.model_validate(r.record) for r in rows]
