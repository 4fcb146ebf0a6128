"""Resolutions in the catalog: approved answers, their citations pinned to versions, marked
stale the moment a cited version is superseded."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from catalog.tables import resolutions
from core.alerts import raise_alert
from core.errors import NotFound
from schemas.answer import Citation
from schemas.resolutions import Resolution, ResolutionStatus


class Resolutions:
    """The resolution store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        answer_id: str,
        questions: Sequence[str],
        text: str,
        citations: Sequence[Citation],
        approved_by: str | None,
    ) -> Resolution:
        """A new active resolution."""
        now = datetime.now(UTC)
        row: dict[str, Any] = {
            "resolution_id": uuid.uuid4().hex,
            "answer_id": answer_id,
            "questions": list(dict.fromkeys(questions)),
            "text": text,
            "citations": [c.model_dump(mode="json") for c in citations],
            "status": "active",
            "stale_reason": None,
            "approved_by": approved_by,
            "created_at": now,
            "updated_at": now,
        }
        with self.engine.begin() as conn:
            conn.execute(insert(resolutions).values(**row))
        return Resolution.model_validate(row)

    def get(self, resolution_id: str) -> Resolution:
        """One resolution (`NotFound` if there is none)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(resolutions).where(resolutions.c.resolution_id == resolution_id)
            ).first()
        if row is None:
            raise NotFound(f"no resolution {resolution_id!r}")
        return Resolution.model_validate(dict(row._mapping))

    def find(self, status: ResolutionStatus | None = None) -> list[Resolution]:
        """Resolutions, newest first (only those of `status`, if given)."""
        query = select(resolutions).order_by(resolutions.c.created_at.desc())
        if status is not None:
            query = query.where(resolutions.c.status == status)
        with self.engine.connect() as conn:
            return [Resolution.model_validate(dict(r._mapping)) for r in conn.execute(query)]

    def approve(
        self,
        resolution_id: str,
        text: str,
        citations: Sequence[Citation],
        approved_by: str | None,
    ) -> Resolution:
        """Approved again: active, with this text and these (re-pinned) citations."""
        values = {
            "text": text,
            "citations": [c.model_dump(mode="json") for c in citations],
            "status": "active",
            "stale_reason": None,
            "approved_by": approved_by,
            "updated_at": datetime.now(UTC),
        }
        with self.engine.begin() as conn:
            conn.execute(
                update(resolutions)
                .where(resolutions.c.resolution_id == resolution_id)
                .values(**values)
            )
        return self.get(resolution_id)

    def mark_stale(self, resolution_id: str, reason: str) -> None:
        """Not served any more until approved again."""
        with self.engine.begin() as conn:
            conn.execute(
                update(resolutions)
                .where(
                    (resolutions.c.resolution_id == resolution_id)
                    & (resolutions.c.status == "active")
                )
                .values(status="stale", stale_reason=reason, updated_at=datetime.now(UTC))
            )

    def superseded(self, doc_id: str, current: int | None) -> list[Resolution]:
        """Mark stale the active resolutions that cite `doc_id` at another version than
        `current` (None: the document was deleted); returns them."""
        stale = []
        for found in self.find("active"):
            pinned = {c.version for c in found.citations if c.doc_id == doc_id}
            if pinned and pinned != {current}:
                now = f"version {current}" if current is not None else "deleted"
                reason = f"{doc_id} v{min(pinned)} was superseded ({now})"
                self.mark_stale(found.resolution_id, reason)
                stale.append(found.model_copy(update={"status": "stale", "stale_reason": reason}))
        return stale

    def remove(self, resolution_id: str) -> None:
        """Forget a resolution (`NotFound` if there is none)."""
        with self.engine.begin() as conn:
            gone = conn.execute(
                delete(resolutions).where(resolutions.c.resolution_id == resolution_id)
            ).rowcount
        if not gone:
            raise NotFound(f"no resolution {resolution_id!r}")


def tell_owners(resolution: Resolution) -> None:
    """The alert a resolution going stale raises (webhook, log, counter)."""
    raise_alert(
        "resolution_stale",
        f"resolution {resolution.resolution_id} is no longer served: "
        f"{resolution.stale_reason}; approve it again once the answer still holds",
        resolution_id=resolution.resolution_id,
        doc_ids=sorted({c.doc_id for c in resolution.citations}),
    )
