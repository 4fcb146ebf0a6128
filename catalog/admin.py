"""The admin side of the catalog: API keys (stored as hashes) and jobs with their progress."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from catalog.tables import api_keys, job_items, jobs
from core.errors import ConfigError, NotFound
from schemas.admin import (
    ApiKey,
    GateReport,
    Job,
    JobError,
    JobStatus,
    NewApiKey,
    ReindexRequest,
    Role,
)

KEY_PREFIX = "vk"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeys:
    """Keys are `vk_<id>_<secret>`; only the secret's SHA-256 is stored (it is 32 random bytes,
    so a fast hash is enough: there is nothing to guess)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, role: Role, name: str = "", sources: Sequence[str] = ()) -> NewApiKey:
        """A new key; its full value is returned once and never stored. `sources` limits an
        agent key to reading those sources, an owner key to reading and writing them
        (`ConfigError` for an admin key or odd names)."""
        if sources and role is Role.ADMIN:
            raise ConfigError("admin keys reach every source: limit agent or owner keys")
        for source in sources:
            if not source or "," in source:
                raise ConfigError(f"source name {source!r} must be non-empty, without commas")
        key_id, secret = uuid.uuid4().hex[:12], secrets.token_urlsafe(32)
        row: dict[str, Any] = {
            "key_id": key_id,
            "name": name or f"{role.value} key",
            "role": role.value,
            "created_at": datetime.now(UTC),
        }
        scope = sorted(set(sources))
        with self.engine.begin() as conn:
            conn.execute(
                insert(api_keys).values(
                    secret_sha256=_digest(secret), sources=",".join(scope) or None, **row
                )
            )
        return NewApiKey(key=f"{KEY_PREFIX}_{key_id}_{secret}", sources=scope, **row)

    def verify(self, key: str) -> ApiKey | None:
        """The live key `key` names, if its secret matches (constant-time); else None."""
        prefix, _, rest = key.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != KEY_PREFIX or not key_id or not secret:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.secret_sha256, _digest(secret)):
            return None
        return _key(row._mapping)

    def list(self) -> list[ApiKey]:
        """Every key, newest first (revoked ones included)."""
        query = select(api_keys).order_by(api_keys.c.created_at.desc())
        with self.engine.connect() as conn:
            return [_key(r._mapping) for r in conn.execute(query)]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key at once (`NotFound` if there is none)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(api_keys)
                .where((api_keys.c.key_id == key_id) & api_keys.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
            row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
        if row is None:
            raise NotFound(f"no key {key_id!r}")
        return _key(row._mapping)


def _key(row: Any) -> ApiKey:
    return ApiKey(
        key_id=row["key_id"],
        name=row["name"],
        role=Role(row["role"]),
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        sources=row["sources"].split(",") if row["sources"] else [],
    )


class Jobs:
    """Admin jobs. A job's items are recorded once each (a redelivered task counts once)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, request: ReindexRequest, total: int, stage: str) -> Job:
        """A new job of `total` items."""
        now = datetime.now(UTC)
        row: dict[str, Any] = {
            "job_id": uuid.uuid4().hex,
            "kind": request.kind,
            "request": request.model_dump(mode="json", exclude_defaults=True),
            "status": "queued" if total else "done",
            "stage": stage,
            "done": 0,
            "total": total,
            "created_at": now,
            "updated_at": now,
        }
        with self.engine.begin() as conn:
            conn.execute(insert(jobs).values(**row))
        return self.get(row["job_id"])

    def item_done(self, job_id: str, item: str, error: str | None = None) -> None:
        """Record one finished item (again: ignored) and move the job's count."""
        now = datetime.now(UTC)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(job_items).values(job_id=job_id, item=item, error=error, finished_at=now)
                )
        except IntegrityError:
            return
        with self.engine.begin() as conn:
            done = conn.execute(
                select(func.count()).select_from(job_items).where(job_items.c.job_id == job_id)
            ).scalar_one()
            total = conn.execute(select(jobs.c.total).where(jobs.c.job_id == job_id)).scalar()
            status = "done" if total is not None and done >= total else "running"
            conn.execute(
                update(jobs)
                .where(jobs.c.job_id == job_id)
                .values(done=done, status=status, updated_at=now)
            )

    def progress(
        self,
        job_id: str,
        *,
        stage: str,
        done: int,
        total: int,
        status: JobStatus = "running",
        error: str | None = None,
    ) -> None:
        """Set a job's stage and counts (jobs whose work is not per-item, such as a rebuild)."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(
                update(jobs)
                .where(jobs.c.job_id == job_id)
                .values(stage=stage, done=done, total=total, status=status, updated_at=now)
            )
            if error is not None:
                conn.execute(
                    insert(job_items).values(
                        job_id=job_id, item=stage, error=error, finished_at=now
                    )
                )

    def compared(self, job_id: str, report: GateReport) -> None:
        """Keep a gated rebuild's comparison on its job."""
        with self.engine.begin() as conn:
            conn.execute(
                update(jobs)
                .where(jobs.c.job_id == job_id)
                .values(comparison=report.model_dump(mode="json"), updated_at=datetime.now(UTC))
            )

    def get(self, job_id: str) -> Job:
        """One job with its errors (`NotFound` if there is none)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.job_id == job_id)).first()
            if row is None:
                raise NotFound(f"no job {job_id!r}")
            errors = conn.execute(
                select(job_items.c.item, job_items.c.error)
                .where((job_items.c.job_id == job_id) & job_items.c.error.is_not(None))
                .order_by(job_items.c.finished_at)
                .limit(100)
            ).all()
        return Job.model_validate(
            {
                **row._mapping,
                "errors": [JobError(item=e.item, error=e.error) for e in errors],
            }
        )
