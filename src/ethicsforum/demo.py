"""Demo accounts for `serve --demo`; never created without that flag."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import select

from ethicsforum.accounts import service as accounts_service
from ethicsforum.accounts.models import Account
from ethicsforum.config import Settings
from ethicsforum.db import write_session

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - shown on the sign-in page in demo mode
DEMO_ACCOUNTS = [
    ("faculty", "faculty", "Dr Demo Faculty", None),
    ("student1", "student", "Demo Student One", "medicine"),
    ("student2", "student", "Demo Student Two", "nursing"),
    ("student3", "student", "Demo Student Three", "pharmacy"),
    ("committee", "committee", "Demo Committee Member", None),
    ("admin", "admin", "Demo Admin", None),
]


def ensure_demo(settings: Settings, engine: Engine) -> None:
    """Create the demo accounts that do not exist yet."""
    with write_session(engine) as session:
        for username, role, display_name, profession in DEMO_ACCOUNTS:
            if session.exec(select(Account).where(Account.username == username)).first():
                continue
            accounts_service.create_account(
                session,
                new=accounts_service.NewAccount(
                    username=username,
                    password=DEMO_PASSWORD,
                    role=role,
                    display_name=display_name,
                    profession=profession,
                ),
            )
