"""Conversations know whose they are (the API key that started them) and carry a title (their
first question), so the chat page can list an agent's conversations and reopen one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("owner", sa.String(100), nullable=True))
        batch.add_column(sa.Column("title", sa.String(200), nullable=True))
    op.create_index("ix_conversations_owner_updated", "conversations", ["owner", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_conversations_owner_updated", "conversations")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("title")
        batch.drop_column("owner")
