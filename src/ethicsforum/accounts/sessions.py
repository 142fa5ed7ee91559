"""Server-side browser sessions: a random id in the cookie, its hash and state in the database."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ethicsforum.accounts import identity
from ethicsforum.accounts.models import Account, BrowserSession
from ethicsforum.accounts.service import hash_token
from ethicsforum.db import read_session, utcnow, write_session
from ethicsforum.urls import SESSION_COOKIE

COOKIE = SESSION_COOKIE
# Touching last_seen_at on every request would make every page view a write; once a few
# minutes keeps the idle time-out honest at a fraction of the cost.
TOUCH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class SignedIn:
    """A live browser session and its account."""

    browser_session: BrowserSession
    account: Account

    @property
    def csrf_token(self) -> str:
        return self.browser_session.csrf_secret


def start(
    session: Session, *, account: Account, absolute: timedelta, user_agent: str | None
) -> str:
    """Open a new session for an account and return the cookie value (shown only here).

    A new random id at every sign-in, so an id planted before sign-in is worthless.
    """
    token = secrets.token_urlsafe(32)
    session.add(
        BrowserSession(
            token_hash=hash_token(token),
            account_id=account.id or 0,
            csrf_secret=secrets.token_urlsafe(32),
            expires_at=utcnow() + absolute,
            user_agent=(user_agent or "")[:255] or None,
        )
    )
    session.commit()
    return token


def resolve(
    session: Session, *, token: str, idle: timedelta, touch: bool = True
) -> SignedIn | None:
    """The live session behind a cookie value, or None if unknown, ended or timed out.

    `touch=False` checks without counting as activity (an open event stream re-checking its
    session must not keep an idle session alive for ever).
    """
    row = session.exec(
        select(BrowserSession, Account)
        .join(Account, Account.id == BrowserSession.account_id)  # type: ignore[arg-type]
        .where(BrowserSession.token_hash == hash_token(token))
    ).first()
    if row is None:
        return None
    browser_session, account = row
    now = utcnow()
    if (
        browser_session.revoked_at is not None
        or browser_session.expires_at <= now
        or browser_session.last_seen_at + idle <= now
        or account.deactivated_at is not None
    ):
        return None
    if touch and now - browser_session.last_seen_at >= TOUCH_EVERY:
        browser_session.last_seen_at = now
        session.add(browser_session)
        session.commit()
    return SignedIn(browser_session, account)


def cached(token: str, *, idle: timedelta) -> SignedIn | None:
    """The live session behind a cookie from the identity cache, without I/O; None when it
    is not there, has ended or timed out, or is due a touch (then ask `looked_up`)."""
    entry = identity.CACHE.get("session", hash_token(token))
    if entry is None:
        return None
    row = dict(entry.row)
    now = utcnow()
    last_seen = row["last_seen_at"]
    if row["expires_at"] <= now or last_seen + idle <= now or now - last_seen >= TOUCH_EVERY:
        return None
    return SignedIn(
        identity.detached(BrowserSession, entry.row), identity.detached(Account, entry.account)
    )


def looked_up(engine: Engine, *, token: str, idle: timedelta) -> SignedIn | None:
    """The live session behind a cookie, read from the database in a short read transaction
    of its own (touched, when due, in a write of one statement), and kept in the cache."""
    epoch = identity.CACHE.epoch
    with read_session(engine) as session:
        found = resolve(session, token=token, idle=idle, touch=False)
        if found is None:
            return None
        browser_session, account = found.browser_session, found.account
        session.expunge_all()
    now = utcnow()
    if now - browser_session.last_seen_at >= TOUCH_EVERY:
        # On the connection, not through the ORM: a touch changes nothing the cache keeps
        # but the time, which is stored with the entry below.
        with write_session(engine) as writer:
            writer.connection().execute(
                update(BrowserSession)
                .where(col(BrowserSession.id) == browser_session.id)
                .values(last_seen_at=now)
            )
            writer.commit()
        browser_session.last_seen_at = now
    identity.remember("session", browser_session, account, epoch=epoch)
    return SignedIn(browser_session, account)


def end(session: Session, *, browser_session: BrowserSession) -> None:
    """Sign out: the session is revoked in the database, whatever the browser keeps."""
    browser_session.revoked_at = utcnow()
    session.add(browser_session)
    session.commit()


def tokens_match(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
