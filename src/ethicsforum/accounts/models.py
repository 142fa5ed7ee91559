"""Accounts, browser sessions, API tokens, sign-in attempts, cohorts and memberships."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from ethicsforum.db import UTCDateTime, utcnow


class Role(StrEnum):
    student = "student"
    faculty = "faculty"
    committee = "committee"
    admin = "admin"


class MemberRole(StrEnum):
    student = "student"
    faculty = "faculty"


def _in(column: str, values: type[StrEnum], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


class Account(SQLModel, table=True):
    """A person who signs in; never deleted, only deactivated."""

    __tablename__ = "account"
    __table_args__ = (_in("role", Role, "role"),)

    id: int | None = Field(default=None, primary_key=True)
    # Stored lower-cased so "Alex" and "alex" cannot both exist.
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=120)
    role: str = Field(max_length=16)
    profession: str | None = Field(default=None, max_length=60)
    password_hash: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    deactivated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class BrowserSession(SQLModel, table=True):
    """A server-side sign-in session; the cookie holds only a random id, stored here hashed."""

    __tablename__ = "browser_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    csrf_secret: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    user_agent: str | None = Field(default=None, max_length=255)


class ApiToken(SQLModel, table=True):
    """A bearer token for the JSON API, stored hashed, with an expiry."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SignInAttempt(SQLModel, table=True):
    """One sign-in try, kept for rate limiting across server processes."""

    __tablename__ = "sign_in_attempt"
    __table_args__ = (
        Index("ix_sign_in_attempt_username_attempted_at", "username", "attempted_at"),
        Index("ix_sign_in_attempt_address_attempted_at", "address", "attempted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    address: str = Field(max_length=64)
    succeeded: bool = False
    attempted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Cohort(SQLModel, table=True):
    """A class of students run by faculty; joined with a code."""

    __tablename__ = "cohort"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    join_code: str = Field(max_length=32, unique=True)
    created_by_id: int = Field(foreign_key="account.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Membership(SQLModel, table=True):
    """An account's place in a cohort; removal is recorded, not deleted."""

    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("cohort_id", "account_id"),
        _in("role", MemberRole, "role"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohort.id")
    account_id: int = Field(foreign_key="account.id", index=True)
    role: str = Field(max_length=16)
    joined_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
