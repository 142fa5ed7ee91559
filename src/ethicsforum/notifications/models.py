"""Notifications addressed to one account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from ethicsforum.db import UTCDateTime, utcnow


class Notification(SQLModel, table=True):
    """Something that happened that one account should know about."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_account_id_read_at", "account_id", "read_at"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    kind: str = Field(max_length=32)
    discussion_id: int | None = Field(default=None, foreign_key="discussion.id")
    target_type: str | None = Field(default=None, max_length=24)
    target_id: int | None = None
    text: str = Field(max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
