"""Resolutions: an answer an admin approved (as it was, or corrected), carried forward to later
questions that ask the same thing, its citations pinned to the versions it was approved on."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.answer import Citation

Question = Annotated[str, Field(min_length=1, max_length=2000, pattern=r"\S")]
#: `active`: served; `stale`: a cited version was superseded (not served until re-approved).
ResolutionStatus = Literal["active", "stale"]


class ResolutionRequest(BaseModel):
    """`POST /admin/resolutions`: turn an answer into a resolution."""

    model_config = ConfigDict(extra="forbid")

    answer_id: str = Field(min_length=1, max_length=100)
    text: str | None = Field(
        default=None,
        min_length=1,
        max_length=20_000,
        pattern=r"\S",
        description="the corrected text (default: the answer's); its [n] markers name the "
        "answer's citations",
    )
    questions: list[Question] = Field(
        default_factory=list,
        max_length=50,
        description="other phrasings to match, besides the answer's own question",
    )


class ApproveRequest(BaseModel):
    """`POST /admin/resolutions/{id}/approve`: approve again (pinned to today's versions)."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, min_length=1, max_length=20_000, pattern=r"\S")


class Resolution(BaseModel):
    """An approved answer served to matching questions while its cited versions are current."""

    resolution_id: str
    answer_id: str = Field(description="the answer it was made from")
    questions: list[str]
    text: str
    citations: list[Citation] = Field(description="pinned to the versions approved")
    status: ResolutionStatus
    stale_reason: str | None = None
    approved_by: str | None = Field(default=None, description="the admin key's id")
    created_at: datetime
    updated_at: datetime
