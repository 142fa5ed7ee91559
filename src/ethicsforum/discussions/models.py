"""A discussion runs one case version for one cohort; students reason in it as data."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from ethicsforum.db import UTCDateTime, utcnow


class Phase(StrEnum):
    positions = "positions"
    rebuttals = "rebuttals"
    closed = "closed"


class Anonymity(StrEnum):
    named = "named"
    anonymous_to_peers = "anonymous_to_peers"


class Direction(StrEnum):
    supports = "supports"
    challenges = "challenges"


class RebuttalKind(StrEnum):
    counter = "counter"
    challenge = "challenge"
    concede = "concede"
    question = "question"


class StanceMoment(StrEnum):
    initial = "initial"
    final = "final"


def _in(column: str, values: type[StrEnum], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


# A claim, revision, flag, mark or feedback belongs to exactly one post.
ONE_POST = "(position_id IS NULL) <> (rebuttal_id IS NULL)"


class Discussion(SQLModel, table=True):
    """One case, pinned to a version, debated by one cohort through its phases."""

    __tablename__ = "discussion"
    __table_args__ = (
        _in("phase", Phase, "phase"),
        _in("anonymity", Anonymity, "anonymity"),
        CheckConstraint(
            "spotlight_type IS NULL OR spotlight_type IN ('position', 'claim')",
            name="spotlight_type",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ethics_case.id", index=True)
    case_version: int
    cohort_id: int = Field(foreign_key="cohort.id", index=True)
    title: str = Field(max_length=200)
    phase: str = Field(default=Phase.positions.value, max_length=16)
    anonymity: str = Field(default=Anonymity.anonymous_to_peers.value, max_length=24)
    post_first: bool = False
    early_rebuttals: bool = False
    # Per-discussion salt for pseudonyms (the name predates it): the key is HMAC(secret
    # key, salt), stable inside the discussion, unlinkable across, and not in the database.
    pseudonym_key: str = Field(max_length=64)
    created_by_id: int = Field(foreign_key="account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    phase_changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Bumped in the same transaction as every change to its posts, claims, stances or marks
    # (aggregation.freshness), so a cached summary knows when it is stale.
    summary_generation: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # What faculty put in front of the room: a position or a claim, or nothing.
    spotlight_type: str | None = Field(default=None, max_length=16)
    spotlight_id: int | None = None
    spotlight_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Position(SQLModel, table=True):
    """A student's chosen option, summary and body; its reasons are Claim rows."""

    __tablename__ = "discussion_position"
    __table_args__ = (
        UniqueConstraint("discussion_id", "author_id"),
        Index("ix_position_discussion_id_created_at", "discussion_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    discussion_id: int = Field(foreign_key="discussion.id")
    author_id: int = Field(foreign_key="account.id", index=True)
    option_key: str = Field(max_length=64)
    summary: str = Field(max_length=280)
    body: str = Field(sa_type=Text)
    body_html: str = Field(sa_type=Text)
    rebuttal_count: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    edited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    hidden_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    hidden_reason: str | None = Field(default=None, max_length=500)
    hidden_by_id: int | None = Field(default=None, foreign_key="account.id")


class Rebuttal(SQLModel, table=True):
    """A reply to a position, to one of its claims, or to another rebuttal."""

    __tablename__ = "rebuttal"
    __table_args__ = (
        _in("kind", RebuttalKind, "kind"),
        Index("ix_rebuttal_position_id_created_at", "position_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    discussion_id: int = Field(foreign_key="discussion.id", index=True)
    position_id: int = Field(foreign_key="discussion_position.id")
    parent_id: int | None = Field(default=None, foreign_key="rebuttal.id", index=True)
    # use_alter breaks the claim <-> rebuttal cycle so the tables can be created in order.
    claim_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("claim.id", use_alter=True), index=True),
    )
    author_id: int = Field(foreign_key="account.id", index=True)
    kind: str = Field(max_length=16)
    body: str = Field(sa_type=Text)
    body_html: str = Field(sa_type=Text)
    depth: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    edited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    hidden_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    hidden_reason: str | None = Field(default=None, max_length=500)
    hidden_by_id: int | None = Field(default=None, foreign_key="account.id")


class Claim(SQLModel, table=True):
    """One framework-tagged reason that supports or challenges the chosen option.

    An edit retires the old claims rather than deleting them, so rebuttals anchored to a
    claim keep their anchor.
    """

    __tablename__ = "claim"
    __table_args__ = (
        CheckConstraint(ONE_POST, name="one_post"),
        _in("direction", Direction, "direction"),
    )

    id: int | None = Field(default=None, primary_key=True)
    position_id: int | None = Field(default=None, foreign_key="discussion_position.id", index=True)
    rebuttal_id: int | None = Field(default=None, foreign_key="rebuttal.id", index=True)
    framework: str = Field(max_length=40)
    direction: str = Field(max_length=16)
    text: str = Field(max_length=1000)
    ordinal: int = 0
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Revision(SQLModel, table=True):
    """The text of a post as it was before an edit."""

    __tablename__ = "revision"
    __table_args__ = (CheckConstraint(ONE_POST, name="one_post"),)

    id: int | None = Field(default=None, primary_key=True)
    position_id: int | None = Field(default=None, foreign_key="discussion_position.id", index=True)
    rebuttal_id: int | None = Field(default=None, foreign_key="rebuttal.id", index=True)
    option_key: str | None = Field(default=None, max_length=64)
    summary: str | None = Field(default=None, max_length=280)
    body: str = Field(sa_type=Text)
    claims: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    # When this text was written (the post's creation or its previous edit).
    written_at: datetime = Field(sa_type=UTCDateTime)
    replaced_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Stance(SQLModel, table=True):
    """An option a student recorded at a moment; every record is kept, the latest counts."""

    __tablename__ = "stance"
    __table_args__ = (
        _in("moment", StanceMoment, "moment"),
        Index("ix_stance_discussion_id_account_id", "discussion_id", "account_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    discussion_id: int = Field(foreign_key="discussion.id")
    account_id: int = Field(foreign_key="account.id")
    moment: str = Field(max_length=16)
    option_key: str = Field(max_length=64)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LiveEvent(SQLModel, table=True):
    """A change announced on a discussion's live stream (discussions.announce).

    Written in the same transaction as the change, so it exists exactly when the change does;
    a browser that reconnects names the last one it received and is sent what followed.
    """

    __tablename__ = "live_event"
    __table_args__ = (Index("ix_live_event_discussion_id_id", "discussion_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    discussion_id: int = Field(foreign_key="discussion.id")
    # position, rebuttal, position_changed, rebuttal_changed, phase, spotlight or stance
    kind: str = Field(max_length=24)
    # What it is about: the post, the stance, or the discussion itself.
    subject_id: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
