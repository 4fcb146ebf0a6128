"""Dead letters (tasks given up on by the workers) and an index to follow document changes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("letter_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.String(100), nullable=False),
        sa.Column("task", sa.JSON, nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_dead_letters_created", "dead_letters", ["created_at"])
    op.create_index("ix_documents_updated", "documents", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_documents_updated", "documents")
    op.drop_table("dead_letters")
