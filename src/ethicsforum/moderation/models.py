"""Flags, exemplary marks, private feedback and audit entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from ethicsforum.db import UTCDateTime, utcnow
from ethicsforum.discussions.models import ONE_POST


class Flag(SQLModel, table=True):
    """A member's report of a post; one per member per post, resolved by faculty."""

    __tablename__ = "flag"
    __table_args__ = (
        CheckConstraint(ONE_POST, name="one_post"),
        CheckConstraint(
            "resolution IS NULL OR resolution IN ('hidden', 'dismissed')", name="resolution"
        ),
        UniqueConstraint("position_id", "flagged_by_id"),
        UniqueConstraint("rebuttal_id", "flagged_by_id"),
        Index("ix_flag_discussion_id_resolved_at", "discussion_id", "resolved_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    discussion_id: int = Field(foreign_key="discussion.id")
    position_id: int | None = Field(default=None, foreign_key="discussion_position.id")
    rebuttal_id: int | None = Field(default=None, foreign_key="rebuttal.id")
    flagged_by_id: int = Field(foreign_key="account.id", index=True)
    reason: str = Field(max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by_id: int | None = Field(default=None, foreign_key="account.id")
    resolution: str | None = Field(default=None, max_length=16)
    resolution_reason: str | None = Field(default=None, max_length=500)


class ExemplaryMark(SQLModel, table=True):
    """Faculty's mark that a post is reasoning worth learning from, with a note saying why."""

    __tablename__ = "exemplary_mark"
    __table_args__ = (
        CheckConstraint(ONE_POST, name="one_post"),
        # At most one standing mark per post; removed marks stay for the record.
        Index(
            "ix_exemplary_mark_position_id_standing",
            "position_id",
            unique=True,
            sqlite_where=text("removed_at IS NULL AND position_id IS NOT NULL"),
            postgresql_where=text("removed_at IS NULL AND position_id IS NOT NULL"),
        ),
        Index(
            "ix_exemplary_mark_rebuttal_id_standing",
            "rebuttal_id",
            unique=True,
            sqlite_where=text("removed_at IS NULL AND rebuttal_id IS NOT NULL"),
            postgresql_where=text("removed_at IS NULL AND rebuttal_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    discussion_id: int = Field(foreign_key="discussion.id", index=True)
    position_id: int | None = Field(default=None, foreign_key="discussion_position.id")
    rebuttal_id: int | None = Field(default=None, foreign_key="rebuttal.id")
    marked_by_id: int = Field(foreign_key="account.id")
    note: str = Field(sa_type=Text)
    criteria: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    removed_by_id: int | None = Field(default=None, foreign_key="account.id")


class Feedback(SQLModel, table=True):
    """A private comment from faculty on a post, seen only by its author and faculty."""

    __tablename__ = "feedback"
    __table_args__ = (CheckConstraint(ONE_POST, name="one_post"),)

    id: int | None = Field(default=None, primary_key=True)
    discussion_id: int = Field(foreign_key="discussion.id", index=True)
    position_id: int | None = Field(default=None, foreign_key="discussion_position.id")
    rebuttal_id: int | None = Field(default=None, foreign_key="rebuttal.id")
    author_id: int = Field(foreign_key="account.id")
    body: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    """Who did what to what, when and why; written once, never edited."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_discussion_id_created_at", "discussion_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    actor_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    action: str = Field(max_length=40)
    cohort_id: int | None = Field(default=None, foreign_key="cohort.id", index=True)
    discussion_id: int | None = Field(default=None, foreign_key="discussion.id")
    target_type: str = Field(max_length=24)
    target_id: int | None = None
    reason: str | None = Field(default=None, max_length=500)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
