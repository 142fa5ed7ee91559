"""summary generation and spotlight on discussions

Revision ID: 5b1e0c7a9d42
Revises: 3df42d362bd3
Create Date: 2026-12-01 03:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "5b1e0c7a9d42"
down_revision: str | None = "3df42d362bd3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("discussion", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("summary_generation", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "spotlight_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True
            )
        )
        batch_op.add_column(sa.Column("spotlight_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("spotlight_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_discussion_spotlight_type"),
            "spotlight_type IS NULL OR spotlight_type IN ('position', 'claim')",
        )


def downgrade() -> None:
    with op.batch_alter_table("discussion", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_discussion_spotlight_type"), type_="check")
        batch_op.drop_column("spotlight_at")
        batch_op.drop_column("spotlight_id")
        batch_op.drop_column("spotlight_type")
        batch_op.drop_column("summary_generation")
