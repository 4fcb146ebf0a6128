"""Table definitions. Changing one needs a new Alembic migration in `migrations/versions/`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)

metadata = MetaData()


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC out: SQLite keeps no zone, so what it hands back (always written as
    UTC) gets its zone again; PostgreSQL's already has one."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value  # type: ignore[no-any-return]
        return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]


sources = Table(
    "sources",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("root", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

documents = Table(
    "documents",
    metadata,
    Column("doc_id", String(1200), primary_key=True),
    Column("source", String(200), nullable=False, index=True),
    Column("rel_path", Text, nullable=False),
    Column("current_version", Integer, nullable=True),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # the file as last seen, so a reconcile can skip hashing what did not change
    Column("seen_size", BigInteger, nullable=True),
    Column("seen_mtime_ns", BigInteger, nullable=True),
    Column("schema_version", Integer, nullable=False),
    Index("ix_documents_updated", "updated_at"),
)

document_versions = Table(
    "document_versions",
    metadata,
    Column("doc_id", String(1200), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("chunk_count", Integer, nullable=False),
    Column("diff", JSON, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("warnings", JSON, nullable=True),  # ContentWarning list; NULL: none (older rows)
    ForeignKeyConstraint(["doc_id"], ["documents.doc_id"]),
)

chunks = Table(
    "chunks",
    metadata,
    Column("doc_id", String(1200), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("ordinal", Integer, primary_key=True),
    Column("chunk_id", String(32), nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("heading_path", JSON, nullable=False),
    Column("page", Integer, nullable=True),
    Column("schema_version", Integer, nullable=False),
    ForeignKeyConstraint(
        ["doc_id", "version"], ["document_versions.doc_id", "document_versions.version"]
    ),
)

tombstones = Table(
    "tombstones",
    metadata,
    Column("tombstone_id", Integer, primary_key=True, autoincrement=True),
    Column("doc_id", String(1200), nullable=False, index=True),
    Column("last_version", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("deleted_at", UtcDateTime, nullable=False),
    Column("schema_version", Integer, nullable=False),
)

ingest_failures = Table(
    "ingest_failures",
    metadata,
    Column("failure_id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(200), nullable=False),
    Column("path", Text, nullable=False),
    Column("doc_id", String(1200), nullable=False),
    Column("sha256", String(64), nullable=True),
    Column("reason", String(40), nullable=False),
    Column("message", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("quarantined", Boolean, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("schema_version", Integer, nullable=False),
    Index("ix_failures_doc_open", "doc_id", "resolved_at"),
)

embedding_cache = Table(
    "embedding_cache",
    metadata,
    Column("model_id", String(300), primary_key=True),
    Column("text_sha256", String(64), primary_key=True),
    Column("dimension", Integer, nullable=False),
    Column("vector", LargeBinary, nullable=False),
)

index_state = Table(
    "index_state",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("generation", BigInteger, nullable=False),
    Column("embedding_model", String(300), nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

conversations = Table(
    "conversations",
    metadata,
    Column("conversation_id", String(100), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("owner", String(100), nullable=True),  # the API key that started it
    Column("title", String(200), nullable=True),  # its first question, cut
    Index("ix_conversations_owner_updated", "owner", "updated_at"),
)

conversation_turns = Table(
    "conversation_turns",
    metadata,
    Column("conversation_id", String(100), primary_key=True),
    Column("turn", Integer, primary_key=True),
    Column("role", String(10), nullable=False),
    Column("text", Text, nullable=False),
    Column("answer_id", String(100), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

answer_audit = Table(
    "answer_audit",
    metadata,
    Column("answer_id", String(100), primary_key=True),
    Column("conversation_id", String(100), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("trace_id", String(64), nullable=False),
    Column("record", JSON, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Index("ix_answer_audit_created", "created_at"),
    Index("ix_answer_audit_conversation", "conversation_id"),
)

answer_failures = Table(
    "answer_failures",
    metadata,
    Column("failure_id", Integer, primary_key=True, autoincrement=True),
    Column("answer_id", String(100), nullable=False),
    Column("reason", String(50), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("trace_id", String(64), nullable=False),
    Column("record", JSON, nullable=False),
    Index("ix_answer_failures_created", "created_at"),
)

answer_feedback = Table(
    "answer_feedback",
    metadata,
    Column("feedback_id", Integer, primary_key=True, autoincrement=True),
    Column("answer_id", String(100), nullable=False),
    Column("helpful", Boolean, nullable=False),
    Column("comment", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_answer_feedback_answer", "answer_id"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("letter_id", Integer, primary_key=True, autoincrement=True),
    Column("task_id", String(100), nullable=False),
    Column("task", JSON, nullable=False),
    Column("reason", String(40), nullable=False),
    Column("message", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    Index("ix_dead_letters_created", "created_at"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("secret_sha256", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("sources", Text, nullable=True),  # comma-separated; NULL: every source
)

jobs = Table(
    "jobs",
    metadata,
    Column("job_id", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("request", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("stage", String(200), nullable=False),
    Column("done", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("comparison", JSON, nullable=True),  # a gated rebuild: GateReport
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

job_items = Table(
    "job_items",
    metadata,
    Column("job_id", String(64), primary_key=True),
    Column("item", String(1200), primary_key=True),
    Column("error", Text, nullable=True),
    Column("finished_at", UtcDateTime, nullable=False),
)

resolutions = Table(
    "resolutions",
    metadata,
    Column("resolution_id", String(64), primary_key=True),
    Column("answer_id", String(100), nullable=False),
    Column("questions", JSON, nullable=False),
    Column("text", Text, nullable=False),
    Column("citations", JSON, nullable=False),  # Citation dicts, pinned to versions
    Column("status", String(20), nullable=False),
    Column("stale_reason", Text, nullable=True),
    Column("approved_by", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_resolutions_status", "status"),
)
