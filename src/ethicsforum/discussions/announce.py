"""Every change on a discussion is announced exactly once, after it commits.

Services and routes announce nothing themselves. A hook after each flush looks at what the
flush wrote (a new position, an edit, a hide, a mark, a phase, a stance...), writes one
`LiveEvent` row per change in the same transaction, and announces it:

- on PostgreSQL with `pg_notify` inside that transaction, which PostgreSQL delivers to every
  listening server process at commit and drops on rollback (this works through a
  transaction-pooling PgBouncer too);
- on SQLite (one server process) by handing it to this process's brokers after the commit.

So a change is announced whichever front end (page, API, CLI) made it, never twice, and
never when it did not commit; the row lets a reconnecting browser catch up (Last-Event-ID).
This is the twin of aggregation.freshness, which bumps summary_generation the same way.
Other domains teach the hook their own models with `derive` (moderation: exemplary marks).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import event, insert, inspect, text
from sqlalchemy.orm import Session

from ethicsforum.db import utcnow
from ethicsforum.discussions.models import Discussion, LiveEvent, Position, Rebuttal, Stance

if TYPE_CHECKING:
    from ethicsforum.discussions.events import Broker

CHANNEL = "ethicsforum_events"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """One announced change: what it is about, and its LiveEvent id (its place in order)."""

    discussion_id: int
    kind: str
    subject_id: int
    id: int

    def encode(self) -> str:
        return f"{self.discussion_id}:{self.id}:{self.kind}:{self.subject_id}"

    @classmethod
    def decode(cls, payload: str) -> Event | None:
        try:
            discussion_id, event_id, kind, subject_id = payload.split(":")
            return cls(int(discussion_id), kind, int(subject_id), int(event_id))
        except ValueError:
            return None


class Change(NamedTuple):
    discussion_id: int
    kind: str
    subject_id: int


# obj, is_new -> the changes it makes; one function per model class.
Deriver = Callable[[Any, bool], Iterable[Change]]
_derivers: dict[type, Deriver] = {}


def derive(model: type) -> Callable[[Deriver], Deriver]:
    """Register how a model's new or changed rows become announcements."""

    def register(fn: Deriver) -> Deriver:
        _derivers[model] = fn
        return fn

    return register


def changed(obj: Any, *names: str) -> bool:
    """Whether this flush changed any of the named columns of obj."""
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in names)


@derive(Position)
def _position(obj: Position, new: bool) -> Iterable[Change]:
    if new:
        yield Change(obj.discussion_id, "position", obj.id or 0)
    elif changed(obj, "summary", "body_html", "option_key", "edited_at", "hidden_at"):
        yield Change(obj.discussion_id, "position_changed", obj.id or 0)


@derive(Rebuttal)
def _rebuttal(obj: Rebuttal, new: bool) -> Iterable[Change]:
    if new:
        yield Change(obj.discussion_id, "rebuttal", obj.id or 0)
    elif changed(obj, "body_html", "kind", "edited_at", "hidden_at"):
        yield Change(obj.discussion_id, "rebuttal_changed", obj.id or 0)


@derive(Stance)
def _stance(obj: Stance, new: bool) -> Iterable[Change]:
    if new:
        # About its student (not the row): streams hand it to that student's tabs alone,
        # without a query, however many others are open.
        yield Change(obj.discussion_id, "stance", obj.account_id)


@derive(Discussion)
def _discussion(obj: Discussion, new: bool) -> Iterable[Change]:
    if new:
        return
    if changed(obj, "phase"):
        yield Change(obj.id or 0, "phase", obj.id or 0)
    if changed(obj, "spotlight_type", "spotlight_id", "spotlight_at"):
        yield Change(obj.id or 0, "spotlight", obj.id or 0)


# -- the hook ------------------------------------------------------------------------------

_SEEN = "ethicsforum_live_seen"  # (kind, subject) announced in this transaction
_PENDING = "ethicsforum_live_pending"  # SQLite: events to hand over after the commit


@event.listens_for(Session, "after_flush")
def _record(session: Session, _context: Any) -> None:
    changes: list[Change] = []
    for objects, new in ((session.new, True), (session.dirty, False)):
        for obj in objects:
            deriver = _derivers.get(type(obj))
            if deriver is not None:
                changes.extend(deriver(obj, new))
    if not changes:
        return
    seen: set[tuple[str, int]] = session.info.setdefault(_SEEN, set())
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    table = LiveEvent.__table__  # type: ignore[attr-defined]
    for change in changes:
        # A post created in this transaction is announced once as new, not again as edited.
        family = change.kind.removesuffix("_changed")
        if (change.kind, change.subject_id) in seen or (family, change.subject_id) in seen:
            continue
        seen.add((change.kind, change.subject_id))
        row = {**change._asdict(), "created_at": utcnow()}
        key = conn.execute(insert(table).values(**row)).inserted_primary_key
        event_id = int(key[0]) if key is not None else 0
        live = Event(change.discussion_id, change.kind, change.subject_id, event_id)
        if postgres:
            conn.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": CHANNEL, "payload": live.encode()},
            )
        else:
            session.info.setdefault(_PENDING, []).append((_database(conn), live))


@event.listens_for(Session, "after_commit")
def _announce(session: Session) -> None:
    session.info.pop(_SEEN, None)
    for database, live in session.info.pop(_PENDING, ()):
        for broker in list(_local_brokers.get(database, ())):
            broker.deliver_threadsafe(live)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_SEEN, None)
    session.info.pop(_PENDING, None)


# -- SQLite: this process's brokers, by database ------------------------------------------

_local_brokers: dict[str, weakref.WeakSet[Broker]] = {}


def _database(conn: Any) -> str:
    return str(conn.engine.url)


def attach(database: str, broker: Broker) -> None:
    """Hand this database's committed events to a broker (SQLite: one process hears all)."""
    _local_brokers.setdefault(database, weakref.WeakSet()).add(broker)


def detach(database: str, broker: Broker) -> None:
    _local_brokers.get(database, weakref.WeakSet()).discard(broker)
