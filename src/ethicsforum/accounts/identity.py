"""Who is asking, from a short-lived in-process cache keyed by the hashed credential.

Every request names its sign-in by a cookie (browser session) or a bearer token (API). Looking
it up in the database on each request cost a statement, a thread hop and, on SQLite, a place
in the queue for the write lock on unsafe requests. Here a live sign-in is kept for TTL
seconds as an immutable snapshot (column values, never an ORM object bound to a session),
keyed by sha256 of the credential; each request gets fresh detached ORM objects made from it.

A change to an account, a browser session or a token is noted in the writing session
(`changed()`, called by hand or by the flush hook below, which sees every ORM change to those
rows); after that session commits, the entries it touched are dropped in this process at once,
so a sign-out, revocation, deactivation, role or password change is refused on the very next
request here. On PostgreSQL the change is also NOTIFYed inside its own transaction
(CHANNEL), which every server process LISTENs for (discussions/events.py) and drops at
commit; a rollback sends nothing. On SQLite there is one server process; a change made by
another (the CLI) is seen within TTL seconds at worst.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import event, inspect, text
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlmodel import SQLModel

from ethicsforum.accounts.models import Account, ApiToken, BrowserSession

TTL_SECONDS = 10.0
KEEP = 4096
CHANNEL = "ethicsforum_identity"
# NOTIFY payloads are capped at 8,000 bytes; a larger change set is sent as "everything".
_MAX_PAYLOAD = 7000
_PENDING = "ethicsforum_identity_changes"
_SENT = "ethicsforum_identity_sent"
_WATCHED = (Account, BrowserSession, ApiToken)

M = TypeVar("M", bound=SQLModel)


@dataclass(frozen=True)
class Changes:
    """What a committed transaction changed about sign-ins: whose, which, or everything."""

    account_ids: frozenset[int] = frozenset()
    token_hashes: frozenset[str] = frozenset()
    everything: bool = False

    def __bool__(self) -> bool:
        return self.everything or bool(self.account_ids or self.token_hashes)


@dataclass(frozen=True)
class Entry:
    """A live sign-in as read from the database: the credential's row and its account."""

    kind: str  # "session" or "token"
    token_hash: str
    account_id: int
    row: tuple[tuple[str, Any], ...]
    account: tuple[tuple[str, Any], ...]
    stored_at: float = field(default_factory=time.monotonic)


def snapshot(model: SQLModel) -> tuple[tuple[str, Any], ...]:
    """A model's column values, immutable (every column type we use holds immutable values)."""
    return tuple((c.key, getattr(model, c.key)) for c in inspect(type(model)).column_attrs)


def detached(model: type[M], values: tuple[tuple[str, Any], ...]) -> M:
    """A fresh ORM object as if loaded from the database and then detached: a session may
    take it back (session.add) and write only what is changed afterwards."""
    obj = model(**dict(values))
    make_transient_to_detached(obj)
    return obj


class IdentityCache:
    """Live sign-ins by (kind, sha256 of the credential), for `ttl` seconds, safe across threads.

    `epoch` moves on every invalidation: a reader that began its database read before a change
    committed must not store what it read (`put(..., epoch=...)` is then ignored).
    """

    def __init__(self, ttl: float = TTL_SECONDS, keep: int = KEEP) -> None:
        self.ttl = ttl
        self.keep = keep
        self._items: OrderedDict[tuple[str, str], Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.epoch = 0
        self.hits = 0
        self.misses = 0

    def get(self, kind: str, token_hash: str) -> Entry | None:
        key = (kind, token_hash)
        with self._lock:
            entry = self._items.get(key)
            if entry is None or time.monotonic() - entry.stored_at >= self.ttl:
                if entry is not None:
                    del self._items[key]
                self.misses += 1
                return None
            self.hits += 1
            return entry

    def put(self, entry: Entry, *, epoch: int) -> None:
        with self._lock:
            if epoch != self.epoch:
                return  # something changed while it was being read
            key = (entry.kind, entry.token_hash)
            self._items[key] = entry
            self._items.move_to_end(key)
            while len(self._items) > self.keep:
                self._items.popitem(last=False)

    def forget(self, changes: Changes) -> None:
        with self._lock:
            self.epoch += 1
            if changes.everything:
                self._items.clear()
                return
            for key in [
                k
                for k, e in self._items.items()
                if e.account_id in changes.account_ids or e.token_hash in changes.token_hashes
            ]:
                del self._items[key]

    def clear(self) -> None:
        self.forget(Changes(everything=True))


# One per process: the service layer, which knows only its Session, invalidates it.
CACHE = IdentityCache()


def remember(kind: str, row: BrowserSession | ApiToken, account: Account, *, epoch: int) -> None:
    """Keep a credential's row and its account, as read from the database at `epoch`."""
    CACHE.put(
        Entry(
            kind=kind,
            token_hash=row.token_hash,
            account_id=account.id or 0,
            row=snapshot(row),
            account=snapshot(account),
        ),
        epoch=epoch,
    )


def changed(
    session: Session,
    account_id: int | None = None,
    token_hash: str | None = None,
    *,
    everything: bool = False,
) -> None:
    """Note, inside the writing transaction, that an account or a credential changed.

    Nothing happens until the session commits (a rollback forgets it); then this process's
    cache drops the entries, and on PostgreSQL every other process hears of it.
    """
    pending: dict[str, Any] = session.info.setdefault(
        _PENDING, {"accounts": set(), "tokens": set(), "everything": False}
    )
    if account_id is not None:
        pending["accounts"].add(account_id)
    if token_hash is not None:
        pending["tokens"].add(token_hash)
    if everything:
        pending["everything"] = True


def _take(session: Session) -> Changes:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return Changes()
    return Changes(
        frozenset(pending["accounts"]), frozenset(pending["tokens"]), pending["everything"]
    )


def encode(changes: Changes) -> str:
    payload = json.dumps(
        {
            "a": sorted(changes.account_ids),
            "t": sorted(changes.token_hashes),
            "e": changes.everything,
        }
    )
    return payload if len(payload) <= _MAX_PAYLOAD else json.dumps({"a": [], "t": [], "e": True})


def decode(payload: str) -> Changes:
    """What another process changed; anything unreadable drops everything (safe side)."""
    try:
        data = json.loads(payload)
        return Changes(
            frozenset(int(a) for a in data["a"]),
            frozenset(str(t) for t in data["t"]),
            bool(data["e"]),
        )
    except (ValueError, KeyError, TypeError):
        return Changes(everything=True)


def received(changes: Changes) -> None:
    """Another process committed these changes: drop them here too."""
    CACHE.forget(changes)


def _notify_unsent(session: Session) -> None:
    """PostgreSQL: NOTIFY, inside the transaction, what it changed and has not yet said."""
    pending = session.info.get(_PENDING)
    if not pending:
        return
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return
    sent = session.info.setdefault(_SENT, {"accounts": set(), "tokens": set(), "everything": False})
    news = Changes(
        frozenset(pending["accounts"] - sent["accounts"]),
        frozenset(pending["tokens"] - sent["tokens"]),
        pending["everything"] and not sent["everything"],
    )
    if not news:
        return
    conn.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": CHANNEL, "payload": encode(news)},
    )
    sent["accounts"] |= news.account_ids
    sent["tokens"] |= news.token_hashes
    sent["everything"] = sent["everything"] or news.everything


@event.listens_for(Session, "before_flush")
def _note_identity_changes(session: Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, Account):
            changed(session, account_id=obj.id)
        elif isinstance(obj, (BrowserSession, ApiToken)):
            changed(session, account_id=obj.account_id, token_hash=obj.token_hash)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_changes(state: Any) -> None:
    # A bulk UPDATE or DELETE names no rows we could drop one by one: drop them all.
    mapper = state.bind_mapper
    if (state.is_update or state.is_delete) and mapper is not None and mapper.class_ in _WATCHED:
        changed(state.session, everything=True)


@event.listens_for(Session, "after_flush")
def _notify_flushed(session: Session, _context: Any) -> None:
    _notify_unsent(session)


@event.listens_for(Session, "before_commit")
def _notify_noted_by_hand(session: Session) -> None:
    _notify_unsent(session)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop(_SENT, None)
    changes = _take(session)
    if changes:
        CACHE.forget(changes)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_SENT, None)
