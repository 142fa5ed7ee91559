"""case reviews and accepted de-identification warnings

Revision ID: 8c4f2a6e1b90
Revises: 5b1e0c7a9d42
Create Date: 2026-12-01 04:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "8c4f2a6e1b90"
down_revision: str | None = "5b1e0c7a9d42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "verdict IN ('approve', 'changes')", name=op.f("ck_case_review_verdict")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["ethics_case.id"], name=op.f("fk_case_review_case_id_ethics_case")
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["account.id"], name=op.f("fk_case_review_reviewer_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_review")),
    )
    op.create_index(op.f("ix_case_review_case_id"), "case_review", ["case_id"], unique=False)
    op.create_table(
        "deid_acceptance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("field", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("accepted_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"],
            ["account.id"],
            name=op.f("fk_deid_acceptance_accepted_by_id_account"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["ethics_case.id"], name=op.f("fk_deid_acceptance_case_id_ethics_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deid_acceptance")),
        sa.UniqueConstraint(
            "case_id", "field", "kind", "text", name=op.f("uq_deid_acceptance_case_id_field_kind_text")
        ),
    )
    op.create_index(
        op.f("ix_deid_acceptance_case_id"), "deid_acceptance", ["case_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_deid_acceptance_case_id"), table_name="deid_acceptance")
    op.drop_table("deid_acceptance")
    op.drop_index(op.f("ix_case_review_case_id"), table_name="case_review")
    op.drop_table("case_review")
