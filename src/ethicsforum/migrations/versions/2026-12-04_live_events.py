"""live events kept for reconnecting streams

Revision ID: 9d3a5f1c2e77
Revises: 8c4f2a6e1b90
Create Date: 2026-12-04 18:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "9d3a5f1c2e77"
down_revision: str | None = "8c4f2a6e1b90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("discussion_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["discussion_id"],
            ["discussion.id"],
            name=op.f("fk_live_event_discussion_id_discussion"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_event")),
    )
    op.create_index(
        "ix_live_event_discussion_id_id", "live_event", ["discussion_id", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_live_event_discussion_id_id", table_name="live_event")
    op.drop_table("live_event")
