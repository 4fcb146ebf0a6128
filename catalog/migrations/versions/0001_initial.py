"""The ingestion catalog: sources, documents, versions, chunks, tombstones, failures.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("root", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "documents",
        sa.Column("doc_id", sa.String(1200), primary_key=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("rel_path", sa.Text, nullable=False),
        sa.Column("current_version", sa.Integer, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("seen_size", sa.BigInteger, nullable=True),
        sa.Column("seen_mtime_ns", sa.BigInteger, nullable=True),
        sa.Column("schema_version", sa.Integer, nullable=False),
    )
    op.create_index("ix_documents_source", "documents", ["source"])
    op.create_table(
        "document_versions",
        sa.Column("doc_id", sa.String(1200), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("chunk_count", sa.Integer, nullable=False),
        sa.Column("diff", sa.JSON, nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(["doc_id"], ["documents.doc_id"]),
    )
    op.create_table(
        "chunks",
        sa.Column("doc_id", sa.String(1200), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("ordinal", sa.Integer, primary_key=True),
        sa.Column("chunk_id", sa.String(32), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("heading_path", sa.JSON, nullable=False),
        sa.Column("page", sa.Integer, nullable=True),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(
            ["doc_id", "version"], ["document_versions.doc_id", "document_versions.version"]
        ),
    )
    op.create_index("ix_chunks_chunk_id", "chunks", ["chunk_id"])
    op.create_table(
        "tombstones",
        sa.Column("tombstone_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("doc_id", sa.String(1200), nullable=False),
        sa.Column("last_version", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("deleted_at", TZ, nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
    )
    op.create_index("ix_tombstones_doc_id", "tombstones", ["doc_id"])
    op.create_table(
        "ingest_failures",
        sa.Column("failure_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("doc_id", sa.String(1200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("first_seen", TZ, nullable=False),
        sa.Column("last_seen", TZ, nullable=False),
        sa.Column("quarantined", sa.Boolean, nullable=False),
        sa.Column("resolved_at", TZ, nullable=True),
        sa.Column("schema_version", sa.Integer, nullable=False),
    )
    op.create_index("ix_failures_doc_open", "ingest_failures", ["doc_id", "resolved_at"])


def downgrade() -> None:
    for table in ("ingest_failures", "tombstones", "chunks", "document_versions", "documents"):
        op.drop_table(table)
    op.drop_table("sources")
