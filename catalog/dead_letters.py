"""Dead letters: tasks the workers gave up on, kept for an admin to see and replay."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from catalog.tables import dead_letters
from schemas.tasks import DeadLetter, Task


class DeadLetters:
    """Persisted `DeadLetter` records."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(
        self, task_id: str, task: Task, reason: str, message: str, attempts: int
    ) -> DeadLetter:
        """Keep a task that will not be tried again."""
        row: dict[str, Any] = {
            "task_id": task_id,
            "task": task.model_dump(mode="json"),
            "reason": reason,
            "message": message,
            "attempts": attempts,
            "created_at": datetime.now(UTC),
        }
        with self.engine.begin() as conn:
            key = conn.execute(insert(dead_letters).values(**row)).inserted_primary_key
        return DeadLetter.model_validate({"letter_id": key[0], **row})  # type: ignore[index]

    def list(self, include_resolved: bool = False) -> list[DeadLetter]:
        """Dead letters, newest first."""
        table = dead_letters
        query = select(table).order_by(table.c.created_at.desc(), table.c.letter_id.desc())
        if not include_resolved:
            query = query.where(table.c.resolved_at.is_(None))
        with self.engine.connect() as conn:
            return [DeadLetter.model_validate(dict(r._mapping)) for r in conn.execute(query)]

    def get(self, letter_id: int) -> DeadLetter | None:
        """One dead letter."""
        with self.engine.connect() as conn:
            row = conn.execute(select(dead_letters).where(dead_letters.c.letter_id == letter_id))
            found = row.first()
        return DeadLetter.model_validate(dict(found._mapping)) if found else None

    def resolve(self, letter_id: int) -> bool:
        """Mark one dead letter handled (replayed or dismissed); False if there was none open."""
        table = dead_letters
        with self.engine.begin() as conn:
            result = conn.execute(
                update(table)
                .where((table.c.letter_id == letter_id) & table.c.resolved_at.is_(None))
                .values(resolved_at=datetime.now(UTC))
            )
        return bool(result.rowcount)
