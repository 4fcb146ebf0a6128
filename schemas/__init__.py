"""Versioned contracts every stage exchanges. Each stored record carries `schema_version`."""

from schemas.migrations import CURRENT_VERSIONS, load_record
from schemas.records import (
    Chunk,
    ChunkDiff,
    ContentWarning,
    DocumentStatus,
    DocumentVersion,
    IngestFailure,
    ReasonCode,
    SourceDocument,
    Tombstone,
)

__all__ = [
    "CURRENT_VERSIONS",
    "Chunk",
    "ChunkDiff",
    "ContentWarning",
    "DocumentStatus",
    "DocumentVersion",
    "IngestFailure",
    "ReasonCode",
    "SourceDocument",
    "Tombstone",
    "load_record",
]
