"""Resolutions: approved answers carried forward, their citations pinned to versions.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resolutions",
        sa.Column("resolution_id", sa.String(64), primary_key=True),
        sa.Column("answer_id", sa.String(100), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("citations", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("stale_reason", sa.Text(), nullable=True),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_resolutions_status", "resolutions", ["status"])


def downgrade() -> None:
    op.drop_index("ix_resolutions_status", "resolutions")
    op.drop_table("resolutions")
