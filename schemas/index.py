"""Contracts between the catalog, the index and retrieval: indexed points and search hits."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SparseVector(BaseModel):
    """A sparse vector: token ids and their weights (BM25 term-frequency saturation)."""

    model_config = ConfigDict(frozen=True)

    indices: list[int]
    values: list[float]


class ChunkPayload(BaseModel):
    """What every indexed point carries, so a hit can be cited without the catalog."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    chunk_id: str
    doc_id: str
    version: int = Field(ge=1)
    sha256: str
    source: str
    path: str
    heading_path: list[str] = Field(default_factory=list)
    page: int | None = None
    ordinal: int = Field(ge=0)
    text: str
    embedding_model: str


class IndexPoint(BaseModel):
    """One chunk as stored in the vector index: dense and sparse vectors and its payload."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    payload: ChunkPayload
    dense: list[float]
    sparse: SparseVector


class SearchHit(BaseModel):
    """One result of a search, with the payload that identifies the exact document version."""

    model_config = ConfigDict(frozen=True)

    score: float
    payload: ChunkPayload
