"""What owners see of their documents: each one's state after an upload, edit or deletion."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from schemas.records import ContentWarning, ReasonCode

#: `queued`: in the folder, not ingested yet; `active`: searchable; `deleted`: gone from the
#: folder, never cited again; `failed`: the last bytes could not be ingested (see `failure`).
DocumentState = Literal["queued", "active", "deleted", "failed"]


class OpenFailure(BaseModel):
    """Why the document's newest bytes were not ingested."""

    reason: ReasonCode
    message: str
    attempts: int
    quarantined: bool = Field(description="not tried again until the file changes")
    last_seen: datetime


class DocumentStatus(BaseModel):
    """`GET /v1/documents`: one document as its owner follows it."""

    doc_id: str
    source: str
    path: str
    state: DocumentState
    current_version: int | None = Field(description="the version answers cite now")
    versions: list[int]
    failure: OpenFailure | None = None
    warnings: list[ContentWarning] = Field(
        default_factory=list, description="instruction-like passages in the current version"
    )
    updated_at: datetime | None = None
