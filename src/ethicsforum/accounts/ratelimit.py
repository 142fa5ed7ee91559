"""Sign-in rate limits, counted in the database so they hold across server processes.

At most 10 failed sign-ins per account per 15 minutes and 60 attempts per address per
minute. The account window is short, so an attacker can hold a real user off for at most a
quarter of an hour, and the address limit stops them trying from one place for longer.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from ethicsforum.accounts.models import SignInAttempt
from ethicsforum.db import as_utc, utcnow
from ethicsforum.errors import DomainError

ACCOUNT_FAILURES = 10
ACCOUNT_WINDOW = timedelta(minutes=15)
ADDRESS_ATTEMPTS = 60
ADDRESS_WINDOW = timedelta(minutes=1)


class TooManyAttempts(DomainError):
    status_code = 429
    title = "Too many attempts"

    def __init__(self, retry_after: int):
        super().__init__(f"too many sign-in attempts; try again in {retry_after} seconds")
        self.retry_after = retry_after


def _retry_after(oldest: datetime | None, window: timedelta, now: datetime) -> int:
    if oldest is None:
        return int(window.total_seconds())
    return max(1, math.ceil((oldest + window - now).total_seconds()))


def check(session: Session, *, username: str, address: str) -> None:
    """Raise TooManyAttempts, with the seconds to wait, when either limit is reached."""
    now = utcnow()
    username = username.strip().lower()[:64]
    since = now - ACCOUNT_WINDOW
    count, oldest = session.exec(
        select(func.count(), func.min(SignInAttempt.attempted_at)).where(
            SignInAttempt.username == username,
            col(SignInAttempt.succeeded).is_(False),
            SignInAttempt.attempted_at > since,
        )
    ).one()
    if count >= ACCOUNT_FAILURES:
        raise TooManyAttempts(_retry_after(as_utc(oldest) if oldest else None, ACCOUNT_WINDOW, now))
    since = now - ADDRESS_WINDOW
    count, oldest = session.exec(
        select(func.count(), func.min(SignInAttempt.attempted_at)).where(
            SignInAttempt.address == address, SignInAttempt.attempted_at > since
        )
    ).one()
    if count >= ADDRESS_ATTEMPTS:
        raise TooManyAttempts(_retry_after(as_utc(oldest) if oldest else None, ADDRESS_WINDOW, now))


def record(session: Session, *, username: str, address: str, succeeded: bool) -> None:
    session.add(
        SignInAttempt(
            username=username.strip().lower()[:64], address=address[:64], succeeded=succeeded
        )
    )
    session.commit()
