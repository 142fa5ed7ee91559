"""Accounts and API tokens: create, authenticate, issue, resolve and revoke."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from zxcvbn import zxcvbn  # type: ignore[import-untyped]

from ethicsforum import security_log
from ethicsforum.accounts import identity
from ethicsforum.accounts.models import Account, ApiToken, Role
from ethicsforum.db import read_session, utcnow
from ethicsforum.errors import Conflict, DomainError, Invalid

TOKEN_LIFETIME = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 10
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")

_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters
# Verified against when the username is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def use_password_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Swap the hasher (the test suite uses argon2's CHEAPEST profile); returns the old one."""
    global _hasher, _DUMMY_HASH
    previous, _hasher = _hasher, hasher
    _DUMMY_HASH = hasher.hash(secrets.token_urlsafe(16))
    return previous


# zxcvbn scores against lists of common passwords, names, words and keyboard patterns;
# 3 of 4 is its "safely unguessable" level.
MIN_PASSWORD_SCORE = 3


class BadCredentials(DomainError):
    status_code = 401
    title = "Sign-in failed"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password_strength(
    password: str, *, username: str = "", display_name: str = ""
) -> list[str]:
    """Problems with a new password; empty when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return [f"password must be at least {MIN_PASSWORD_LENGTH} characters"]
    # zxcvbn's run time grows with length; the first 100 characters tell enough.
    # zxcvbn refuses (ValueError) more than 72 characters; the start is what it can judge.
    result = zxcvbn(password[:72], user_inputs=[username, display_name, "ethicsforum"])
    if result["score"] < MIN_PASSWORD_SCORE:
        hint = result["feedback"].get("warning") or "it is too easy to guess"
        return [
            f"password is too easy to guess ({hint.rstrip('.').lower()}); "
            "choose a longer, less common one"
        ]
    return []


@dataclass(frozen=True)
class NewAccount:
    username: str
    password: str
    role: str
    display_name: str | None = None
    profession: str | None = None


def create_account(session: Session, *, new: NewAccount, by: str = "system") -> Account:
    """Create an account with an Argon2id password hash; `by` names who did it, for the log.

    Raises Invalid for a bad username, role or weak password and Conflict for a taken name.
    """
    username = new.username.strip().lower()
    problems = []
    if not USERNAME_RE.match(username):
        problems.append("username must be 2-64 lowercase letters, digits, '.', '_' or '-'")
    if new.role not in {r.value for r in Role}:
        problems.append("role must be one of " + ", ".join(r.value for r in Role))
    problems += check_password_strength(
        new.password, username=username, display_name=new.display_name or ""
    )
    if problems:
        raise Invalid("; ".join(problems), [{"msg": p} for p in problems])
    if session.exec(select(Account).where(Account.username == username)).first():
        raise Conflict(f"the username {username!r} is taken")
    account = Account(
        username=username,
        display_name=(new.display_name or username).strip()[:120],
        role=new.role,
        profession=(new.profession or None),
        password_hash=_hasher.hash(new.password),
    )
    session.add(account)
    session.commit()
    security_log.event(
        "account_created",
        username=account.username,
        role=account.role,
        account_id=account.id,
        by=by,
    )
    return account


def authenticate(session: Session, *, username: str, password: str) -> Account:
    """The account for these credentials; the same error and timing for any failure."""
    account = session.exec(
        select(Account).where(Account.username == username.strip().lower())
    ).first()
    try:
        _hasher.verify(account.password_hash if account else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        raise BadCredentials("incorrect username or password") from None
    if account is None or account.deactivated_at is not None:
        raise BadCredentials("incorrect username or password")
    return account


def issue_token(session: Session, *, account: Account) -> tuple[str, int]:
    """A new bearer token (returned once, stored hashed) and its lifetime in seconds."""
    token = secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            token_hash=hash_token(token),
            account_id=account.id or 0,
            expires_at=utcnow() + TOKEN_LIFETIME,
        )
    )
    session.commit()
    security_log.event("token_created", username=account.username, account_id=account.id)
    return token, int(TOKEN_LIFETIME.total_seconds())


def resolve_token(session: Session, *, token: str) -> tuple[Account, ApiToken] | None:
    """The account behind a live token, or None when unknown, expired or revoked."""
    row = session.exec(
        select(ApiToken, Account)
        .join(Account, Account.id == ApiToken.account_id)  # type: ignore[arg-type]
        .where(ApiToken.token_hash == hash_token(token))
    ).first()
    if row is None:
        return None
    api_token, account = row
    if api_token.revoked_at or api_token.expires_at <= utcnow() or account.deactivated_at:
        return None
    return account, api_token


def cached_token(token: str) -> tuple[Account, ApiToken] | None:
    """The account behind a live token from the identity cache, without I/O; None when it is
    not there or has expired (then ask `looked_up_token`)."""
    entry = identity.CACHE.get("token", hash_token(token))
    if entry is None or dict(entry.row)["expires_at"] <= utcnow():
        return None
    return identity.detached(Account, entry.account), identity.detached(ApiToken, entry.row)


def looked_up_token(engine: Engine, *, token: str) -> tuple[Account, ApiToken] | None:
    """The account behind a live token, read in a short read transaction of its own and kept
    in the identity cache."""
    epoch = identity.CACHE.epoch
    with read_session(engine) as session:
        found = resolve_token(session, token=token)
        if found is None:
            return None
        session.expunge_all()
    account, api_token = found
    identity.remember("token", api_token, account, epoch=epoch)
    return found


def revoke_token(session: Session, *, api_token: ApiToken, account: Account) -> None:
    """End a bearer token at once."""
    api_token.revoked_at = utcnow()
    session.add(api_token)
    session.commit()
    security_log.event("token_revoked", username=account.username, account_id=account.id)


def _rehash_if_needed(account: Account, password: str) -> bool:
    """Re-hash a verified password when the hasher's parameters have changed since."""
    try:
        needs = _hasher.check_needs_rehash(account.password_hash)
    except InvalidHashError:
        return False
    if needs:
        account.password_hash = _hasher.hash(password)
    return needs


def sign_in(
    session: Session,
    *,
    username: str,
    password: str,
    address: str,
    rate_limited: bool,
    reader: Session | None = None,
) -> Account:
    """Check credentials under the sign-in rate limits and record the attempt.

    Raises TooManyAttempts before checking anything once a limit is reached, and
    BadCredentials (the same for an unknown user as for a wrong password) otherwise. A
    password hashed with older Argon2 parameters is re-hashed with the current ones.

    The limits and the password are checked through `reader` when given (a read session):
    Argon2 takes tens of milliseconds on purpose, and on SQLite a request's write session
    would hold the database's only write lock all that time, so a class signing in at once
    would queue behind every hash. Only the attempt (and a re-hash) is written in `session`.
    """
    from ethicsforum.accounts import ratelimit

    reader = reader if reader is not None else session
    name = username.strip().lower()
    if rate_limited:
        try:
            ratelimit.check(reader, username=username, address=address)
        except ratelimit.TooManyAttempts as exc:
            security_log.event(
                "sign_in_locked", username=name, address=address, retry_after=exc.retry_after
            )
            raise
    try:
        account = authenticate(reader, username=username, password=password)
    except BadCredentials:
        ratelimit.record(session, username=username, address=address, succeeded=False)
        security_log.event("sign_in_failed", username=name, address=address)
        raise
    if reader is not session:
        reader.expunge(account)  # the writing session takes it over (a re-hash is saved there)
    rehashed = _rehash_if_needed(account, password)
    if rehashed:
        session.add(account)
    ratelimit.record(session, username=username, address=address, succeeded=True)  # commits
    if rehashed:
        security_log.event("password_rehashed", username=account.username, account_id=account.id)
    security_log.event(
        "sign_in_succeeded", username=account.username, account_id=account.id, address=address
    )
    return account
