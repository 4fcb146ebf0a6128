"""Failure records: a file that could not be ingested, counted per (document, bytes).

The same bytes failing again add an attempt; a final reason (corrupt, wrong type...) or
`max_attempts` transient ones (timeouts, memory) quarantine those bytes: no more retries
until the file changes. A later success resolves the document's open failures.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select, update

from catalog.tables import ingest_failures
from core.errors import TRANSIENT_REASONS as TRANSIENT
from schemas import IngestFailure, ReasonCode
from schemas.migrations import CURRENT_VERSIONS, load_record


class FailureLog:
    """Persisted `IngestFailure` records."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(
        self,
        *,
        source: str,
        path: str,
        doc_id: str,
        sha256: str | None,
        reason: ReasonCode,
        message: str,
        max_attempts: int,
    ) -> IngestFailure:
        """Add one failed attempt for these bytes of this document."""
        now = datetime.now(UTC)
        table = ingest_failures
        with self.engine.begin() as conn:
            row = conn.execute(_open_query(doc_id, sha256)).first()
            attempts = (row.attempts if row else 0) + 1
            quarantined = reason not in TRANSIENT or attempts >= max_attempts
            values = {
                "reason": reason.value,
                "message": message,
                "attempts": attempts,
                "last_seen": now,
                "quarantined": quarantined,
                "path": path,
            }
            if row is None:
                failure_id = conn.execute(
                    table.insert().values(
                        source=source,
                        doc_id=doc_id,
                        sha256=sha256,
                        first_seen=now,
                        schema_version=CURRENT_VERSIONS["ingest_failure"],
                        **values,
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
            else:
                failure_id = row.failure_id
                conn.execute(update(table).where(table.c.failure_id == failure_id).values(**values))
            stored = conn.execute(select(table).where(table.c.failure_id == failure_id)).one()
        return _failure(stored._mapping)

    def open_failure(self, doc_id: str, sha256: str | None) -> IngestFailure | None:
        """The unresolved failure of these bytes of this document, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(_open_query(doc_id, sha256)).first()
        return _failure(row._mapping) if row else None

    def resolve(self, doc_id: str) -> int:
        """Mark every open failure of a document resolved (it ingested, or is gone)."""
        table = ingest_failures
        with self.engine.begin() as conn:
            result = conn.execute(
                update(table)
                .where((table.c.doc_id == doc_id) & table.c.resolved_at.is_(None))
                .values(resolved_at=datetime.now(UTC))
            )
        return int(result.rowcount)

    def list(self, include_resolved: bool = False) -> list[IngestFailure]:
        """Failure records, newest first."""
        table = ingest_failures
        query = select(table).order_by(table.c.last_seen.desc(), table.c.failure_id.desc())
        if not include_resolved:
            query = query.where(table.c.resolved_at.is_(None))
        with self.engine.connect() as conn:
            return [_failure(r._mapping) for r in conn.execute(query)]


def _open_query(doc_id: str, sha256: str | None) -> Any:
    """The unresolved failure of these bytes (None: unread) of this document."""
    table = ingest_failures
    same_sha = table.c.sha256.is_(None) if sha256 is None else table.c.sha256 == sha256
    return select(table).where(
        (table.c.doc_id == doc_id) & same_sha & table.c.resolved_at.is_(None)
    )


def _failure(row: Any) -> IngestFailure:
    return load_record("ingest_failure", dict(row))  # type: ignore[no-any-return]
