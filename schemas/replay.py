"""What `verity replay` and `GET /v1/admin/answers/{answer_id}/replay` return."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from schemas.answer import Answer

#: The answer's fields a replay compares; ids, trace and latency belong to one run.
COMPARED = (
    "status",
    "text",
    "citations",
    "confidence",
    "decline_reason",
    "decline_message",
    "warnings",
    "query",
    "index_generation",
    "embedding_model",
    "generator",
    "prompt_id",
    "prompt_version",
    "prompt_sha",
)


class Difference(BaseModel):
    """One compared field that came out differently (JSON values)."""

    field: str
    recorded: Any
    replayed: Any


class ReplayReport(BaseModel):
    """An audited answer and the same question answered again."""

    answer_id: str
    mode: Literal["snapshot", "now"] = Field(
        description="snapshot: from the chunk versions it read; now: against today's index"
    )
    identical: bool = Field(description="every compared field byte-identical as JSON")
    differences: list[Difference] = Field(default_factory=list)
    missing_chunks: list[str] = Field(
        default_factory=list, description="chunk versions it read that the catalog lacks"
    )
    recorded: Answer
    replayed: Answer
