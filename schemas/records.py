"""Stored records of the ingestion side: documents, versions, chunks, failures, tombstones."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ReasonCode(StrEnum):
    """Why a file failed; stored on each `IngestFailure`."""

    TOO_LARGE = "too_large"
    EMPTY = "empty_file"
    UNSUPPORTED_TYPE = "unsupported_type"
    TYPE_MISMATCH = "type_mismatch"
    BAD_FILENAME = "bad_filename"
    OUTSIDE_ROOT = "outside_root"
    HARD_LINK = "hard_link"
    LINK_LOOP = "link_loop"
    ENCODING = "encoding"
    PDF_ENCRYPTED = "pdf_encrypted"
    PDF_CORRUPT = "pdf_corrupt"
    ARCHIVE_BOMB = "archive_bomb"
    XML_ENTITIES = "xml_entities"
    CORRUPT = "corrupt"
    NO_TEXT = "no_text"
    PARSE_ERROR = "parse_error"
    PARSE_TIMEOUT = "parse_timeout"
    PARSE_MEMORY = "parse_memory"
    UNSTABLE = "unstable"
    IO_ERROR = "io_error"


class DocumentStatus(StrEnum):
    """Where a document stands: one current version, or deleted (a tombstone)."""

    ACTIVE = "active"
    DELETED = "deleted"


class Record(BaseModel):
    """Base of stored records: frozen, strict about unknown fields, versioned."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceDocument(Record):
    """A document: one file of one source, across all its versions."""

    schema_version: Literal[1] = 1
    doc_id: str
    source: str
    rel_path: str
    current_version: int | None = Field(description="None once deleted")
    status: DocumentStatus
    created_at: datetime
    updated_at: datetime


class ChunkDiff(Record):
    """What a new version changed, in chunk ids."""

    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)


class ContentWarning(Record):
    """Instruction-like text found in one chunk at ingest (`core.instructions`): `kind` is
    `instructions` (speaks to an assistant) or `asks_for_secrets`."""

    chunk_id: str
    kind: str
    phrase: str = Field(max_length=300)


class DocumentVersion(Record):
    """One version of a document: the bytes it had (by sha256), what changed, and the
    warnings ingest raised on its text (owners check those passages)."""

    schema_version: Literal[1] = 1
    doc_id: str
    version: int = Field(ge=1)
    sha256: str = Field(min_length=64, max_length=64)
    size_bytes: int = Field(ge=0)
    media_type: str
    created_at: datetime
    chunk_count: int = Field(ge=0)
    diff: ChunkDiff
    warnings: list[ContentWarning] = Field(default_factory=list)


class Chunk(Record):
    """A passage of one document version, with where it sits (heading path, page).

    Schema 2: `text` is the display form (Markdown; reST roles, literals and directives
    rendered, heading adornments never in the heading path). A schema-1 chunk still holds the
    raw text until its document is re-chunked (`catalog.formats`).
    """

    schema_version: Literal[2] = 2
    chunk_id: str
    doc_id: str
    version: int = Field(ge=1)
    ordinal: int = Field(ge=0)
    text: str = Field(min_length=1)
    heading_path: list[str] = Field(default_factory=list)
    page: int | None = None

    @property
    def heading(self) -> str:
        """The heading path as people read it: `Billing > Refunds`."""
        return " > ".join(self.heading_path)


class IngestFailure(Record):
    """A file that could not be ingested: what, why, how often, and whether we gave up."""

    schema_version: Literal[1] = 1
    failure_id: int | None = None
    source: str
    path: str = Field(description="path relative to the source root, undecodable bytes escaped")
    doc_id: str
    sha256: str | None
    reason: ReasonCode
    message: str
    attempts: int = Field(ge=1)
    first_seen: datetime
    last_seen: datetime
    quarantined: bool = False
    resolved_at: datetime | None = None


class Tombstone(Record):
    """The record that a document was deleted, and which version it last had."""

    schema_version: Literal[1] = 1
    doc_id: str
    last_version: int
    sha256: str
    deleted_at: datetime
