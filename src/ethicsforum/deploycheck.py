"""`ethicsforum check --deploy`: what in this installation is unsafe for production.

Each finding is one line saying what is wrong and how to fix it; the command exits 1 when
there is any, as Django's `check --deploy` does.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ethicsforum.accounts.models import Account
from ethicsforum.config import Settings
from ethicsforum.db import check_connection_budget


@dataclass(frozen=True)
class Finding:
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.problem} (fix: {self.fix})"


def find_problems(
    settings: Settings, engine: Engine, *, workers: int, proxy_headers: bool
) -> list[Finding]:
    """Everything unsafe found, in a stable order; an empty list when all is well."""
    from ethicsforum import migrate

    found: list[Finding] = []
    current, head = migrate.current_revision(engine), migrate.head_revision(settings)
    if current != head:
        found.append(
            Finding(
                f"the database is at revision {current or 'none'}, not {head}",
                "run `ethicsforum db upgrade` (serve does it unless --no-migrate)",
            )
        )
    else:
        found += _demo_accounts(engine)
    found += _addresses(settings, proxy_headers)
    if settings.is_sqlite and workers > 1:
        found.append(
            Finding(
                f"SQLite with {workers} workers: each process has its own live updates and "
                "they contend for one file's write lock",
                "serve one worker on SQLite, or move to PostgreSQL for several",
            )
        )
    if not settings.rate_limits:
        found.append(
            Finding(
                "rate limits are off (ETHICSFORUM_RATE_LIMITS=off): passwords can be guessed "
                "and posts flooded without limit",
                "unset ETHICSFORUM_RATE_LIMITS (it is on by default)",
            )
        )
    found += _secret_key(settings)
    budget = check_connection_budget(engine, settings, workers)
    if budget is not None:
        found.append(Finding(f"PostgreSQL connections: {budget[0]}", budget[1]))
    return found


def _demo_accounts(engine: Engine) -> list[Finding]:
    from argon2 import PasswordHasher
    from argon2.exceptions import Argon2Error, InvalidHashError

    from ethicsforum.demo import DEMO_ACCOUNTS, DEMO_CLASSMATES, DEMO_PASSWORD

    demo_names = {u: name for u, _role, name, _p in DEMO_ACCOUNTS + DEMO_CLASSMATES}
    hasher = PasswordHasher()
    with Session(engine) as session:
        accounts = session.exec(
            select(Account).where(
                col(Account.username).in_(demo_names), col(Account.deactivated_at).is_(None)
            )
        ).all()
        present = []
        for account in accounts:
            # "admin" may be a school's real account: a demo one still has the demo name or
            # the published demo password.
            is_demo = account.display_name == demo_names[account.username]
            if not is_demo:
                try:
                    is_demo = hasher.verify(account.password_hash, DEMO_PASSWORD)
                except (Argon2Error, InvalidHashError):
                    is_demo = False
            if is_demo:
                present.append(account.username)
    if not present:
        return []
    names = ", ".join(sorted(present))
    return [
        Finding(
            f"demo accounts are active ({names}); their password is published",
            "deactivate them: ethicsforum users deactivate USERNAME, or start from a "
            "database created without --demo",
        )
    ]


def _addresses(settings: Settings, proxy_headers: bool) -> list[Finding]:
    found: list[Finding] = []
    if settings.base_url is None:
        found.append(
            Finding(
                "ETHICSFORUM_BASE_URL is not set: links are built from the client's Host "
                "header and any host name is accepted",
                "set ETHICSFORUM_BASE_URL to the public address, e.g. https://forum.example.org",
            )
        )
    elif not settings.base_is_https:
        found.append(
            Finding(
                f"ETHICSFORUM_BASE_URL is {settings.base_url}: passwords and sessions would "
                "cross the network in clear",
                "put a TLS proxy in front, set an https:// ETHICSFORUM_BASE_URL and serve "
                "with --proxy-headers",
            )
        )
    if settings.base_is_https and not proxy_headers:
        found.append(
            Finding(
                "HTTPS ends at a proxy but proxy headers are off: every client appears to "
                "come from the proxy's address, so per-address rate limits lump them together",
                "serve with --proxy-headers --forwarded-allow-ips PROXY_IP "
                "(or ETHICSFORUM_PROXY_HEADERS=on)",
            )
        )
    if proxy_headers and settings.forwarded_allow_ips.strip() == "*":
        found.append(
            Finding(
                "proxy headers are trusted from any address (--forwarded-allow-ips '*'): "
                "any client can claim another address or HTTPS",
                "give the proxy's own address to --forwarded-allow-ips",
            )
        )
    return found


def _secret_key(settings: Settings) -> list[Finding]:
    if settings.secret_key is None:
        path = settings.instance_dir / "secret_key"
        found = [
            Finding(
                f"ETHICSFORUM_SECRET_KEY is not set: a key generated into {path} is used, "
                "lost with the instance folder and different on every host",
                "set ETHICSFORUM_SECRET_KEY (at least 16 characters; e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`) "
                "from your secret store",
            )
        ]
        return found + _readable_by_others(path, "the generated secret key")
    return _readable_by_others(Path(".env"), "the .env file holding settings")


def _readable_by_others(path: Path, what: str) -> list[Finding]:
    try:
        mode = path.stat().st_mode
    except OSError:
        return []
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return [
            Finding(
                f"{what} ({path}) is readable by other users (mode {stat.filemode(mode)})",
                f"chmod 600 {path}",
            )
        ]
    return []
