"""Cases and their versions; every edit adds a version and none is ever replaced."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from ethicsforum.db import UTCDateTime, utcnow


class CaseStatus(StrEnum):
    draft = "draft"
    review = "review"
    curated = "curated"
    retired = "retired"


class EthicsCase(SQLModel, table=True):
    """A case's identity and state; its content lives in CaseVersion."""

    __tablename__ = "ethics_case"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'review', 'curated', 'retired')", name="status"),
        CheckConstraint("current_version >= 1", name="current_version_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=80, unique=True)
    status: str = Field(default=CaseStatus.draft.value, max_length=16, index=True)
    current_version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="account.id")


class CaseVersion(SQLModel, table=True):
    """The full content of one version of a case, as the case file format holds it."""

    __tablename__ = "case_version"
    __table_args__ = (
        UniqueConstraint("case_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ethics_case.id")
    version: int
    title: str = Field(max_length=200)
    summary: str = Field(sa_type=Text)
    question: str = Field(sa_type=Text)
    vignette: str = Field(sa_type=Text)
    options: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    frameworks: list[str] = Field(default_factory=list, sa_type=JSON)
    tags: list[str] = Field(default_factory=list, sa_type=JSON)
    references: list[str] = Field(default_factory=list, sa_type=JSON)
    learning_objectives: list[str] = Field(default_factory=list, sa_type=JSON)
    four_box: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    derived_from: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    # Space-joined tags and rendered text kept beside the JSON so full-text search and
    # pages need no per-row work.
    tags_text: str = Field(default="", sa_type=Text)
    vignette_html: str = Field(default="", sa_type=Text)
    change_note: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="account.id")


class CaseReview(SQLModel, table=True):
    """A committee member's review of one version of a case, with their comment.

    A case becomes curated only after someone other than its last editor has approved its
    current version here, or an admin overrides with a reason (kept in the audit log).
    """

    __tablename__ = "case_review"
    __table_args__ = (CheckConstraint("verdict IN ('approve', 'changes')", name="verdict"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ethics_case.id", index=True)
    version: int
    reviewer_id: int = Field(foreign_key="account.id")
    verdict: str = Field(max_length=16)
    comment: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DeidAcceptance(SQLModel, table=True):
    """A de-identification warning a committee member accepted, and why.

    Keyed by the flagged text rather than its position, so the acceptance holds in later
    versions as long as the same text is still there.
    """

    __tablename__ = "deid_acceptance"
    __table_args__ = (UniqueConstraint("case_id", "field", "kind", "text"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ethics_case.id", index=True)
    version: int
    field: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    text: str = Field(max_length=500)
    reason: str = Field(max_length=500)
    accepted_by_id: int = Field(foreign_key="account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
