"""Demo data for `serve --demo`: accounts, a cohort and a discussion; never without that flag."""

from __future__ import annotations

import secrets

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ethicsforum.accounts import cohorts
from ethicsforum.accounts import service as accounts_service
from ethicsforum.accounts.models import Account, Cohort
from ethicsforum.cases.models import EthicsCase
from ethicsforum.config import Settings
from ethicsforum.db import write_session
from ethicsforum.discussions.models import Anonymity, Discussion

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - shown on the sign-in page in demo mode
DEMO_ACCOUNTS = [
    ("faculty", "faculty", "Dr Demo Faculty", None),
    ("student1", "student", "Demo Student One", "medicine"),
    ("student2", "student", "Demo Student Two", "nursing"),
    ("student3", "student", "Demo Student Three", "pharmacy"),
    ("committee", "committee", "Demo Committee Member", None),
    ("admin", "admin", "Demo Admin", None),
]
DEMO_COHORT = "Demo cohort: clinical ethics seminar"
DEMO_CASE = "duty-to-warn-threat"


def _account(
    session: Session, username: str, role: str, name: str, profession: str | None
) -> Account:
    found = session.exec(select(Account).where(Account.username == username)).first()
    if found is not None:
        return found
    return accounts_service.create_account(
        session,
        new=accounts_service.NewAccount(
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            display_name=name,
            profession=profession,
        ),
    )


def ensure_demo(settings: Settings, engine: Engine) -> None:
    """Create whatever part of the demo data does not exist yet."""
    with write_session(engine) as session:
        accounts = {u: _account(session, u, r, n, p) for u, r, n, p in DEMO_ACCOUNTS}
        cohort = session.exec(select(Cohort).where(Cohort.name == DEMO_COHORT)).first()
        if cohort is None:
            cohort = cohorts.create_cohort(session, name=DEMO_COHORT, creator=accounts["faculty"])
            for username in ("student1", "student2", "student3"):
                cohorts.add_member(
                    session, cohort=cohort, actor=accounts["faculty"], username=username
                )
        case = session.exec(select(EthicsCase).where(EthicsCase.slug == DEMO_CASE)).first()
        exists = session.exec(select(Discussion).where(Discussion.cohort_id == cohort.id)).first()
        if case is not None and exists is None:
            session.add(
                Discussion(
                    case_id=case.id or 0,
                    case_version=case.current_version,
                    cohort_id=cohort.id or 0,
                    title="Demo debate: a threat in the outpatient clinic",
                    anonymity=Anonymity.anonymous_to_peers.value,
                    post_first=True,
                    pseudonym_key=secrets.token_hex(32),
                    created_by_id=accounts["faculty"].id or 0,
                )
            )
            session.commit()
