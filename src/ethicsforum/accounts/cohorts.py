"""Cohorts: create, join with a code, add and remove members; every change is audited.

Who becomes what: a cohort's creator is its first faculty member; a join code only ever makes
a *student* membership, and only for a student account (anyone else gets NotAllowed, whatever
the code); faculty, committee members and admins are added by the cohort's faculty or an
admin (`add_member`: a faculty or admin account becomes a faculty member). The creator and
the last faculty member cannot be removed. Failed joins are rate limited (see ratelimit.py).
Every change is audited and written to the security log.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ethicsforum import security_log
from ethicsforum.accounts import policy, ratelimit
from ethicsforum.accounts.models import Account, Cohort, MemberRole, Membership, Role
from ethicsforum.db import utcnow
from ethicsforum.errors import Conflict, Invalid, NotFound

# The one NotAllowed (403), re-exported: callers name it through this module.
from ethicsforum.errors import NotAllowed as NotAllowed
from ethicsforum.moderation.models import AuditEntry

# No 0/O, 1/I/L: a code read aloud in class or copied from a slide survives.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
JOIN_CODES_ARE_FOR_STUDENTS = "join codes are for students; ask the cohort's faculty to add you"


class CohortNotFound(NotFound):
    """No such cohort, or one this account may not know about."""


@dataclass(frozen=True)
class CohortAccess:
    """A cohort as one account reaches it."""

    cohort: Cohort
    membership: Membership | None
    manages: bool


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def display_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}" if len(code) == CODE_LENGTH else code


def _membership(session: Session, cohort_id: int, account_id: int) -> Membership | None:
    return session.exec(
        select(Membership).where(
            Membership.cohort_id == cohort_id, Membership.account_id == account_id
        )
    ).first()


def _audit(
    session: Session,
    *,
    actor: Account,
    action: str,
    cohort: Cohort,
    target: Account,
    reason: str | None = None,
) -> None:
    session.add(
        AuditEntry(
            actor_id=actor.id,
            action=action,
            cohort_id=cohort.id,
            target_type="account",
            target_id=target.id,
            reason=reason,
        )
    )


def create_cohort(session: Session, *, name: str, creator: Account) -> Cohort:
    """Create a cohort with a fresh join code; its creator becomes its faculty member.

    Raises NotAllowed unless the creator is faculty or an admin.
    """
    if not policy.may_create_cohort(creator):
        raise NotAllowed("only faculty and admins create cohorts")
    name = " ".join(name.split())
    if not name:
        raise Invalid(
            "the cohort needs a name",
            [{"loc": ["body", "name"], "msg": "required", "type": "missing"}],
        )
    for _ in range(5):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if session.exec(select(Cohort.id).where(Cohort.join_code == code)).first() is None:
            break
    cohort = Cohort(name=name[:120], join_code=code, created_by_id=creator.id or 0)
    session.add(cohort)
    session.flush()
    session.add(
        Membership(
            cohort_id=cohort.id or 0, account_id=creator.id or 0, role=MemberRole.faculty.value
        )
    )
    _audit(session, actor=creator, action="cohort_created", cohort=cohort, target=creator)
    session.commit()
    security_log.event(
        "cohort_created",
        cohort_id=cohort.id,
        username=creator.username,
        member_role=MemberRole.faculty.value,
    )
    return cohort


def access(session: Session, *, cohort_id: int, account: Account) -> CohortAccess:
    """The cohort as this account may reach it; CohortNotFound if it may not even know it."""
    cohort = session.get(Cohort, cohort_id)
    membership = _membership(session, cohort_id, account.id or 0) if cohort else None
    if cohort is None or not policy.may_view_cohort(account, membership):
        raise CohortNotFound(f"no cohort {cohort_id}")
    return CohortAccess(cohort, membership, policy.may_manage_cohort(account, membership))


def managed(session: Session, *, cohort_id: int, account: Account) -> CohortAccess:
    """As access(), but for changes: members who may not manage get NotAllowed."""
    found = access(session, cohort_id=cohort_id, account=account)
    if not found.manages:
        raise NotAllowed("only the cohort's faculty and admins may change its members")
    return found


def cohorts_of(session: Session, *, account: Account) -> list[tuple[Cohort, Membership]]:
    """The cohorts an account currently belongs to, newest first."""
    rows = session.exec(
        select(Cohort, Membership)
        .join(Membership, col(Membership.cohort_id) == col(Cohort.id))
        .where(Membership.account_id == account.id, col(Membership.removed_at).is_(None))
        .order_by(col(Cohort.created_at).desc(), col(Cohort.id).desc())
    ).all()
    return list(rows)


def members(session: Session, *, cohort: Cohort) -> list[tuple[Membership, Account]]:
    """Current members, faculty first, then by display name."""
    rows = session.exec(
        select(Membership, Account)
        .join(Account, col(Account.id) == col(Membership.account_id))
        .where(Membership.cohort_id == cohort.id, col(Membership.removed_at).is_(None))
    ).all()
    return sorted(
        rows,
        key=lambda r: (
            r[0].role != MemberRole.faculty.value,
            r[1].display_name.lower(),
            r[1].username,
        ),
    )


def _member_role(account: Account) -> str:
    """The membership faculty or an admin give an account they add (never used for codes)."""
    if account.role in {Role.faculty.value, Role.admin.value}:
        return MemberRole.faculty.value
    return MemberRole.student.value


def add_member(session: Session, *, cohort: Cohort, actor: Account, username: str) -> Membership:
    """Add an account by username (or bring back a removed one).

    Raises Invalid for an unknown username and Conflict for a current member.
    """
    account = session.exec(
        select(Account).where(Account.username == username.strip().lower())
    ).first()
    if account is None or account.deactivated_at is not None:
        raise Invalid(
            f"no account named {username.strip()!r}",
            [
                {
                    "loc": ["body", "username"],
                    "msg": "no account with this username",
                    "type": "value_error",
                }
            ],
        )
    membership = _membership(session, cohort.id or 0, account.id or 0)
    if membership is not None and membership.removed_at is None:
        raise Conflict(f"{account.username} is already a member")
    if membership is None:
        membership = Membership(
            cohort_id=cohort.id or 0, account_id=account.id or 0, role=_member_role(account)
        )
    else:  # brought back with the role their account has now, not the one they left with
        membership.removed_at = None
        membership.joined_at = utcnow()
        membership.role = _member_role(account)
    session.add(membership)
    _audit(session, actor=actor, action="member_added", cohort=cohort, target=account)
    try:
        session.commit()
    except IntegrityError:  # added twice at once
        session.rollback()
        raise Conflict(f"{account.username} is already a member") from None
    security_log.event(
        "member_added",
        cohort_id=cohort.id,
        username=account.username,
        member_role=membership.role,
        by=actor.username,
    )
    return membership


def protected_members(session: Session, *, cohort: Cohort) -> set[int]:
    """Account ids that may not be removed: the creator, and the last faculty member."""
    faculty = session.exec(
        select(Membership.account_id).where(
            Membership.cohort_id == cohort.id,
            Membership.role == MemberRole.faculty.value,
            col(Membership.removed_at).is_(None),
        )
    ).all()
    protected = {cohort.created_by_id}
    if len(faculty) == 1:
        protected.add(faculty[0])
    return protected


def remove_member(
    session: Session, *, cohort: Cohort, actor: Account, username: str, reason: str | None = None
) -> None:
    """Remove a member; the membership is kept, marked removed, and the change audited.

    Raises NotFound for someone who is not a member, and Conflict for the actor themselves,
    the cohort's creator and its last faculty member (a cohort always keeps its faculty).
    """
    account = session.exec(
        select(Account).where(Account.username == username.strip().lower())
    ).first()
    membership = _membership(session, cohort.id or 0, account.id or 0) if account else None
    if account is None or membership is None or membership.removed_at is not None:
        raise NotFound(f"{username} is not a member of this cohort")
    if account.id == actor.id:
        raise Conflict("you cannot remove yourself; ask another faculty member or an admin")
    if account.id == cohort.created_by_id:
        raise Conflict(f"{account.username} is the cohort's creator and cannot be removed from it")
    if account.id in protected_members(session, cohort=cohort):
        raise Conflict(
            f"{account.username} is the cohort's last faculty member and cannot be removed; "
            "add another faculty member first"
        )
    membership.removed_at = utcnow()
    session.add(membership)
    _audit(
        session, actor=actor, action="member_removed", cohort=cohort, target=account, reason=reason
    )
    session.commit()
    security_log.event(
        "member_removed",
        cohort_id=cohort.id,
        username=account.username,
        member_role=membership.role,
        by=actor.username,
    )


def require_code_joiner(account: Account, *, address: str) -> None:
    """Raise NotAllowed (and log it) unless this account may join cohorts with a code."""
    if not policy.may_join_with_code(account):
        security_log.event(
            "join_refused", username=account.username, role=account.role, address=address
        )
        raise NotAllowed(JOIN_CODES_ARE_FOR_STUDENTS)


def join(
    session: Session,
    *,
    code: str,
    account: Account,
    address: str = "local",
    rate_limited: bool = True,
) -> Cohort:
    """Join the cohort whose code this is, as a student (limits on unless told otherwise).

    Raises NotAllowed for anyone but a student account (whatever the code), TooManyAttempts
    once this account or address has failed too often, NotFound for an unknown code (and
    counts it), NotAllowed for someone faculty removed (faculty can add them back), and
    returns the cohort unchanged for a current member.
    """
    require_code_joiner(account, address=address)
    if rate_limited:
        try:
            ratelimit.check_join(session, account_id=account.id or 0, address=address)
        except ratelimit.TooManyAttempts as exc:
            security_log.event(
                "join_locked",
                username=account.username,
                address=address,
                retry_after=exc.retry_after,
            )
            raise
    normalised = normalise_code(code)
    cohort = session.exec(select(Cohort).where(Cohort.join_code == normalised)).first()
    if cohort is None or cohort.archived_at is not None:
        ratelimit.record_join_failure(session, account_id=account.id or 0, address=address)
        security_log.event("join_failed", username=account.username, address=address)
        raise NotFound("no cohort has this join code; check it with your teacher")
    membership = _membership(session, cohort.id or 0, account.id or 0)
    if membership is not None:
        if membership.removed_at is not None:
            raise NotAllowed("you were removed from this cohort; ask its faculty to add you")
        return cohort
    session.add(
        Membership(
            cohort_id=cohort.id or 0, account_id=account.id or 0, role=MemberRole.student.value
        )
    )
    _audit(session, actor=account, action="member_joined", cohort=cohort, target=account)
    try:
        session.commit()
    except IntegrityError:  # joined twice at once: the first one counts
        session.rollback()
        return cohort
    security_log.event(
        "member_joined",
        cohort_id=cohort.id,
        username=account.username,
        member_role=MemberRole.student.value,
        address=address,
    )
    return cohort
