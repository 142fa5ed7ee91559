"""create the data model

Revision ID: 3df42d362bd3
Revises:
Create Date: 2026-11-23 13:35:20.436354
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "3df42d362bd3"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("profession", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role IN ('student', 'faculty', 'committee', 'admin')", name=op.f("ck_account_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
        sa.UniqueConstraint("username", name=op.f("uq_account_username")),
    )
    op.create_table(
        "sign_in_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_attempt")),
    )
    with op.batch_alter_table("sign_in_attempt", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sign_in_attempt_address_attempted_at", ["address", "attempted_at"], unique=False
        )
        batch_op.create_index(
            "ix_sign_in_attempt_username_attempted_at", ["username", "attempted_at"], unique=False
        )

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_api_token_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_account_id"), ["account_id"], unique=False)

    op.create_table(
        "browser_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("csrf_secret", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_agent", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_browser_session_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_browser_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_browser_session_token_hash")),
    )
    with op.batch_alter_table("browser_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_browser_session_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "cohort",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("join_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["account.id"], name=op.f("fk_cohort_created_by_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cohort")),
        sa.UniqueConstraint("join_code", name=op.f("uq_cohort_join_code")),
    )
    with op.batch_alter_table("cohort", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cohort_created_by_id"), ["created_by_id"], unique=False
        )

    op.create_table(
        "ethics_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'review', 'curated', 'retired')",
            name=op.f("ck_ethics_case_status"),
        ),
        sa.CheckConstraint(
            "current_version >= 1", name=op.f("ck_ethics_case_current_version_positive")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["account.id"], name=op.f("fk_ethics_case_created_by_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ethics_case")),
        sa.UniqueConstraint("slug", name=op.f("uq_ethics_case_slug")),
    )
    with op.batch_alter_table("ethics_case", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ethics_case_status"), ["status"], unique=False)

    op.create_table(
        "case_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("vignette", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("frameworks", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("references", sa.JSON(), nullable=False),
        sa.Column("learning_objectives", sa.JSON(), nullable=False),
        sa.Column("four_box", sa.JSON(), nullable=True),
        sa.Column("derived_from", sa.JSON(), nullable=True),
        sa.Column("tags_text", sa.Text(), nullable=False),
        sa.Column("vignette_html", sa.Text(), nullable=False),
        sa.Column("change_note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("version >= 1", name=op.f("ck_case_version_version_positive")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["ethics_case.id"], name=op.f("fk_case_version_case_id_ethics_case")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["account.id"], name=op.f("fk_case_version_created_by_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_version")),
        sa.UniqueConstraint("case_id", "version", name=op.f("uq_case_version_case_id_version")),
    )
    op.create_table(
        "discussion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("case_version", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("phase", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("anonymity", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("post_first", sa.Boolean(), nullable=False),
        sa.Column("early_rebuttals", sa.Boolean(), nullable=False),
        sa.Column("pseudonym_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("phase_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "anonymity IN ('named', 'anonymous_to_peers')", name=op.f("ck_discussion_anonymity")
        ),
        sa.CheckConstraint(
            "phase IN ('positions', 'rebuttals', 'closed')", name=op.f("ck_discussion_phase")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["ethics_case.id"], name=op.f("fk_discussion_case_id_ethics_case")
        ),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohort.id"], name=op.f("fk_discussion_cohort_id_cohort")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["account.id"], name=op.f("fk_discussion_created_by_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discussion")),
    )
    with op.batch_alter_table("discussion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_discussion_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_discussion_cohort_id"), ["cohort_id"], unique=False)

    op.create_table(
        "membership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('student', 'faculty')", name=op.f("ck_membership_role")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_membership_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohort.id"], name=op.f("fk_membership_cohort_id_cohort")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership")),
        sa.UniqueConstraint(
            "cohort_id", "account_id", name=op.f("uq_membership_cohort_id_account_id")
        ),
    )
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_membership_account_id"), ["account_id"], unique=False)

    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=True),
        sa.Column("discussion_id", sa.Integer(), nullable=True),
        sa.Column("target_type", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["account.id"], name=op.f("fk_audit_entry_actor_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohort.id"], name=op.f("fk_audit_entry_cohort_id_cohort")
        ),
        sa.ForeignKeyConstraint(
            ["discussion_id"],
            ["discussion.id"],
            name=op.f("fk_audit_entry_discussion_id_discussion"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_cohort_id"), ["cohort_id"], unique=False)
        batch_op.create_index(
            "ix_audit_entry_discussion_id_created_at", ["discussion_id", "created_at"], unique=False
        )

    op.create_table(
        "discussion_position",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("discussion_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("option_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("summary", sqlmodel.sql.sqltypes.AutoString(length=280), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("rebuttal_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("hidden_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["account.id"], name=op.f("fk_discussion_position_author_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["discussion_id"],
            ["discussion.id"],
            name=op.f("fk_discussion_position_discussion_id_discussion"),
        ),
        sa.ForeignKeyConstraint(
            ["hidden_by_id"],
            ["account.id"],
            name=op.f("fk_discussion_position_hidden_by_id_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discussion_position")),
        sa.UniqueConstraint(
            "discussion_id",
            "author_id",
            name=op.f("uq_discussion_position_discussion_id_author_id"),
        ),
    )
    with op.batch_alter_table("discussion_position", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_discussion_position_author_id"), ["author_id"], unique=False
        )
        batch_op.create_index(
            "ix_position_discussion_id_created_at", ["discussion_id", "created_at"], unique=False
        )

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("discussion_id", sa.Integer(), nullable=True),
        sa.Column("target_type", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_notification_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["discussion_id"],
            ["discussion.id"],
            name=op.f("fk_notification_discussion_id_discussion"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_account_id_read_at", ["account_id", "read_at"], unique=False
        )

    op.create_table(
        "stance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("discussion_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("moment", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("option_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("moment IN ('initial', 'final')", name=op.f("ck_stance_moment")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_stance_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["discussion_id"], ["discussion.id"], name=op.f("fk_stance_discussion_id_discussion")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stance")),
    )
    with op.batch_alter_table("stance", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stance_discussion_id_account_id", ["discussion_id", "account_id"], unique=False
        )

    op.create_table(
        "rebuttal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("discussion_id", sa.Integer(), nullable=False),
        sa.Column("position_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("hidden_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('counter', 'challenge', 'concede', 'question')", name=op.f("ck_rebuttal_kind")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["account.id"], name=op.f("fk_rebuttal_author_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["discussion_id"], ["discussion.id"], name=op.f("fk_rebuttal_discussion_id_discussion")
        ),
        sa.ForeignKeyConstraint(
            ["hidden_by_id"], ["account.id"], name=op.f("fk_rebuttal_hidden_by_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["rebuttal.id"], name=op.f("fk_rebuttal_parent_id_rebuttal")
        ),
        sa.ForeignKeyConstraint(
            ["position_id"],
            ["discussion_position.id"],
            name=op.f("fk_rebuttal_position_id_discussion_position"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rebuttal")),
    )
    with op.batch_alter_table("rebuttal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rebuttal_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rebuttal_claim_id"), ["claim_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_rebuttal_discussion_id"), ["discussion_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rebuttal_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(
            "ix_rebuttal_position_id_created_at", ["position_id", "created_at"], unique=False
        )

    op.create_table(
        "claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position_id", sa.Integer(), nullable=True),
        sa.Column("rebuttal_id", sa.Integer(), nullable=True),
        sa.Column("framework", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("direction", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "direction IN ('supports', 'challenges')", name=op.f("ck_claim_direction")
        ),
        sa.CheckConstraint(
            "(position_id IS NULL) <> (rebuttal_id IS NULL)", name=op.f("ck_claim_one_post")
        ),
        sa.ForeignKeyConstraint(
            ["position_id"],
            ["discussion_position.id"],
            name=op.f("fk_claim_position_id_discussion_position"),
        ),
        sa.ForeignKeyConstraint(
            ["rebuttal_id"], ["rebuttal.id"], name=op.f("fk_claim_rebuttal_id_rebuttal")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim")),
    )
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_position_id"), ["position_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_claim_rebuttal_id"), ["rebuttal_id"], unique=False)

    # rebuttal.claim_id and claim.rebuttal_id refer to each other: add this one last.
    with op.batch_alter_table("rebuttal", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_rebuttal_claim_id_claim"), "claim", ["claim_id"], ["id"]
        )

    op.create_table(
        "exemplary_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("discussion_id", sa.Integer(), nullable=False),
        sa.Column("position_id", sa.Integer(), nullable=True),
        sa.Column("rebuttal_id", sa.Integer(), nullable=True),
        sa.Column("marked_by_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(position_id IS NULL) <> (rebuttal_id IS NULL)",
            name=op.f("ck_exemplary_mark_one_post"),
        ),
        sa.ForeignKeyConstraint(
            ["discussion_id"],
            ["discussion.id"],
            name=op.f("fk_exemplary_mark_discussion_id_discussion"),
        ),
        sa.ForeignKeyConstraint(
            ["marked_by_id"], ["account.id"], name=op.f("fk_exemplary_mark_marked_by_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["position_id"],
            ["discussion_position.id"],
            name=op.f("fk_exemplary_mark_position_id_discussion_position"),
        ),
        sa.ForeignKeyConstraint(
            ["rebuttal_id"], ["rebuttal.id"], name=op.f("fk_exemplary_mark_rebuttal_id_rebuttal")
        ),
        sa.ForeignKeyConstraint(
            ["removed_by_id"], ["account.id"], name=op.f("fk_exemplary_mark_removed_by_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exemplary_mark")),
    )
    with op.batch_alter_table("exemplary_mark", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exemplary_mark_discussion_id"), ["discussion_id"], unique=False
        )
        batch_op.create_index(
            "ix_exemplary_mark_position_id_standing",
            ["position_id"],
            unique=True,
            sqlite_where=sa.text("removed_at IS NULL AND position_id IS NOT NULL"),
            postgresql_where=sa.text("removed_at IS NULL AND position_id IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_exemplary_mark_rebuttal_id_standing",
            ["rebuttal_id"],
            unique=True,
            sqlite_where=sa.text("removed_at IS NULL AND rebuttal_id IS NOT NULL"),
            postgresql_where=sa.text("removed_at IS NULL AND rebuttal_id IS NOT NULL"),
        )

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("discussion_id", sa.Integer(), nullable=False),
        sa.Column("position_id", sa.Integer(), nullable=True),
        sa.Column("rebuttal_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(position_id IS NULL) <> (rebuttal_id IS NULL)", name=op.f("ck_feedback_one_post")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["account.id"], name=op.f("fk_feedback_author_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["discussion_id"], ["discussion.id"], name=op.f("fk_feedback_discussion_id_discussion")
        ),
        sa.ForeignKeyConstraint(
            ["position_id"],
            ["discussion_position.id"],
            name=op.f("fk_feedback_position_id_discussion_position"),
        ),
        sa.ForeignKeyConstraint(
            ["rebuttal_id"], ["rebuttal.id"], name=op.f("fk_feedback_rebuttal_id_rebuttal")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feedback_discussion_id"), ["discussion_id"], unique=False
        )

    op.create_table(
        "flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("discussion_id", sa.Integer(), nullable=False),
        sa.Column("position_id", sa.Integer(), nullable=True),
        sa.Column("rebuttal_id", sa.Integer(), nullable=True),
        sa.Column("flagged_by_id", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolution", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("resolution_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('hidden', 'dismissed')",
            name=op.f("ck_flag_resolution"),
        ),
        sa.CheckConstraint(
            "(position_id IS NULL) <> (rebuttal_id IS NULL)", name=op.f("ck_flag_one_post")
        ),
        sa.ForeignKeyConstraint(
            ["discussion_id"], ["discussion.id"], name=op.f("fk_flag_discussion_id_discussion")
        ),
        sa.ForeignKeyConstraint(
            ["flagged_by_id"], ["account.id"], name=op.f("fk_flag_flagged_by_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["position_id"],
            ["discussion_position.id"],
            name=op.f("fk_flag_position_id_discussion_position"),
        ),
        sa.ForeignKeyConstraint(
            ["rebuttal_id"], ["rebuttal.id"], name=op.f("fk_flag_rebuttal_id_rebuttal")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"], ["account.id"], name=op.f("fk_flag_resolved_by_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag")),
        sa.UniqueConstraint(
            "position_id", "flagged_by_id", name=op.f("uq_flag_position_id_flagged_by_id")
        ),
        sa.UniqueConstraint(
            "rebuttal_id", "flagged_by_id", name=op.f("uq_flag_rebuttal_id_flagged_by_id")
        ),
    )
    with op.batch_alter_table("flag", schema=None) as batch_op:
        batch_op.create_index(
            "ix_flag_discussion_id_resolved_at", ["discussion_id", "resolved_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_flag_flagged_by_id"), ["flagged_by_id"], unique=False)

    op.create_table(
        "revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position_id", sa.Integer(), nullable=True),
        sa.Column("rebuttal_id", sa.Integer(), nullable=True),
        sa.Column("option_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("summary", sqlmodel.sql.sqltypes.AutoString(length=280), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(position_id IS NULL) <> (rebuttal_id IS NULL)", name=op.f("ck_revision_one_post")
        ),
        sa.ForeignKeyConstraint(
            ["position_id"],
            ["discussion_position.id"],
            name=op.f("fk_revision_position_id_discussion_position"),
        ),
        sa.ForeignKeyConstraint(
            ["rebuttal_id"], ["rebuttal.id"], name=op.f("fk_revision_rebuttal_id_rebuttal")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revision")),
    )
    with op.batch_alter_table("revision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_revision_position_id"), ["position_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_revision_rebuttal_id"), ["rebuttal_id"], unique=False)

    # Full-text search over the case library (kept out of autogenerate by env.py).
    if op.get_bind().dialect.name == "sqlite":
        # rowid is the case id; the service rewrites a row whenever a case changes.
        op.execute(
            "CREATE VIRTUAL TABLE case_search USING fts5("
            "title, summary, vignette, tags, "
            "tokenize = 'porter unicode61 remove_diacritics 2')"
        )
    else:
        op.execute(
            "CREATE INDEX ix_case_version_search ON case_version USING gin ("
            "to_tsvector('english'::regconfig, "
            "title || ' ' || summary || ' ' || vignette || ' ' || tags_text))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE case_search")
    else:
        op.execute("DROP INDEX ix_case_version_search")
    with op.batch_alter_table("rebuttal", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_rebuttal_claim_id_claim"), type_="foreignkey")
    with op.batch_alter_table("revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revision_rebuttal_id"))
        batch_op.drop_index(batch_op.f("ix_revision_position_id"))

    op.drop_table("revision")
    with op.batch_alter_table("flag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flag_flagged_by_id"))
        batch_op.drop_index("ix_flag_discussion_id_resolved_at")

    op.drop_table("flag")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_discussion_id"))

    op.drop_table("feedback")
    with op.batch_alter_table("exemplary_mark", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_exemplary_mark_rebuttal_id_standing",
            sqlite_where=sa.text("removed_at IS NULL AND rebuttal_id IS NOT NULL"),
            postgresql_where=sa.text("removed_at IS NULL AND rebuttal_id IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_exemplary_mark_position_id_standing",
            sqlite_where=sa.text("removed_at IS NULL AND position_id IS NOT NULL"),
            postgresql_where=sa.text("removed_at IS NULL AND position_id IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_exemplary_mark_discussion_id"))

    op.drop_table("exemplary_mark")
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_rebuttal_id"))
        batch_op.drop_index(batch_op.f("ix_claim_position_id"))

    op.drop_table("claim")
    with op.batch_alter_table("rebuttal", schema=None) as batch_op:
        batch_op.drop_index("ix_rebuttal_position_id_created_at")
        batch_op.drop_index(batch_op.f("ix_rebuttal_parent_id"))
        batch_op.drop_index(batch_op.f("ix_rebuttal_discussion_id"))
        batch_op.drop_index(batch_op.f("ix_rebuttal_claim_id"))
        batch_op.drop_index(batch_op.f("ix_rebuttal_author_id"))

    op.drop_table("rebuttal")
    with op.batch_alter_table("stance", schema=None) as batch_op:
        batch_op.drop_index("ix_stance_discussion_id_account_id")

    op.drop_table("stance")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_account_id_read_at")

    op.drop_table("notification")
    with op.batch_alter_table("discussion_position", schema=None) as batch_op:
        batch_op.drop_index("ix_position_discussion_id_created_at")
        batch_op.drop_index(batch_op.f("ix_discussion_position_author_id"))

    op.drop_table("discussion_position")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_discussion_id_created_at")
        batch_op.drop_index(batch_op.f("ix_audit_entry_cohort_id"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_actor_id"))

    op.drop_table("audit_entry")
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_membership_account_id"))

    op.drop_table("membership")
    with op.batch_alter_table("discussion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discussion_cohort_id"))
        batch_op.drop_index(batch_op.f("ix_discussion_case_id"))

    op.drop_table("discussion")
    op.drop_table("case_version")
    with op.batch_alter_table("ethics_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ethics_case_status"))

    op.drop_table("ethics_case")
    with op.batch_alter_table("cohort", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cohort_created_by_id"))

    op.drop_table("cohort")
    with op.batch_alter_table("browser_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_browser_session_account_id"))

    op.drop_table("browser_session")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_account_id"))

    op.drop_table("api_token")
    with op.batch_alter_table("sign_in_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_sign_in_attempt_username_attempted_at")
        batch_op.drop_index("ix_sign_in_attempt_address_attempted_at")

    op.drop_table("sign_in_attempt")
    op.drop_table("account")
