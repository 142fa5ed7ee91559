"""Sign-in and join-code rate limits, counted in the database so they hold across processes.

Sign-in (OWASP's advice: lock the pair, not the account):
- at most 10 failed sign-ins per account *and address* per 15 minutes. Someone guessing from
  elsewhere does not lock the owner out of their usual address.
- at most 100 failed sign-ins per account from all addresses together per 15 minutes, a
  ceiling against guessing spread over many addresses (at 100 per quarter hour, a ten-million
  password list takes over 28 years).
- at most 60 sign-in attempts per address per minute, whatever the accounts.

Joining a cohort with a code (codes are 8 characters from 31, so guessing needs volume):
- at most 10 failed joins (unknown code) per account per 15 minutes;
- at most 30 failed joins per address per 15 minutes, across accounts. Successful joins are
  not counted, so a whole class joining from one school address is never held off.

Every try is a `sign_in_attempt` row. Join failures share the table in their own namespace:
`username` is "join:<account id>" and `address` "join:<address>". Sign-in keys never hold a
colon, so neither kind counts towards the other's limits.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from ethicsforum.accounts.models import SignInAttempt
from ethicsforum.db import as_utc, utcnow
from ethicsforum.errors import DomainError

PAIR_FAILURES = 10
ACCOUNT_FAILURES = 100
ACCOUNT_WINDOW = timedelta(minutes=15)
ADDRESS_ATTEMPTS = 60
ADDRESS_WINDOW = timedelta(minutes=1)

JOIN_ACCOUNT_FAILURES = 10
JOIN_ADDRESS_FAILURES = 30
JOIN_WINDOW = timedelta(minutes=15)
_JOIN = "join:"


class TooManyAttempts(DomainError):
    status_code = 429
    title = "Too many attempts"

    def __init__(self, retry_after: int, *, what: str = "sign-in"):
        super().__init__(f"too many {what} attempts; try again in {retry_after} seconds")
        self.retry_after = retry_after
        self.what = what


def _retry_after(oldest: datetime | None, window: timedelta, now: datetime) -> int:
    if oldest is None:
        return int(window.total_seconds())
    return max(1, math.ceil((oldest + window - now).total_seconds()))


def _enforce(
    session: Session, limit: int, window: timedelta, now: datetime, what: str, *where: Any
) -> None:
    count, oldest = session.exec(
        select(func.count(), func.min(SignInAttempt.attempted_at)).where(
            SignInAttempt.attempted_at > now - window, *where
        )
    ).one()
    if count >= limit:
        raise TooManyAttempts(
            _retry_after(as_utc(oldest) if oldest else None, window, now), what=what
        )


def _sign_in_key(username: str) -> str:
    # No colon, ever: the join namespace cannot be reached by typing "join:7" as a username.
    return username.strip().lower()[:64].replace(":", "_")


def _address(address: str) -> str:
    return address[:58]


def check(session: Session, *, username: str, address: str) -> None:
    """Raise TooManyAttempts, with the seconds to wait, when a sign-in limit is reached."""
    now = utcnow()
    username, address = _sign_in_key(username), _address(address)
    failed = col(SignInAttempt.succeeded).is_(False)
    by_account = SignInAttempt.username == username
    by_address = SignInAttempt.address == address
    _enforce(session, PAIR_FAILURES, ACCOUNT_WINDOW, now, "sign-in", by_account, by_address, failed)
    _enforce(session, ACCOUNT_FAILURES, ACCOUNT_WINDOW, now, "sign-in", by_account, failed)
    _enforce(session, ADDRESS_ATTEMPTS, ADDRESS_WINDOW, now, "sign-in", by_address)


def record(session: Session, *, username: str, address: str, succeeded: bool) -> None:
    session.add(
        SignInAttempt(
            username=_sign_in_key(username), address=_address(address), succeeded=succeeded
        )
    )
    session.commit()


def check_join(session: Session, *, account_id: int, address: str) -> None:
    """Raise TooManyAttempts when this account or address has failed to join too often."""
    now = utcnow()
    failed = col(SignInAttempt.succeeded).is_(False)
    by_account = SignInAttempt.username == f"{_JOIN}{account_id}"
    by_address = SignInAttempt.address == f"{_JOIN}{_address(address)}"
    _enforce(session, JOIN_ACCOUNT_FAILURES, JOIN_WINDOW, now, "join", by_account, failed)
    _enforce(session, JOIN_ADDRESS_FAILURES, JOIN_WINDOW, now, "join", by_address, failed)


def record_join_failure(session: Session, *, account_id: int, address: str) -> None:
    """Count a join with an unknown code (committed at once: the caller raises next)."""
    session.add(
        SignInAttempt(
            username=f"{_JOIN}{account_id}",
            address=f"{_JOIN}{_address(address)}",
            succeeded=False,
        )
    )
    session.commit()
