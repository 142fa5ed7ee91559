"""Who may see and do what: the one place authorisation is decided."""

from __future__ import annotations

from ethicsforum.accounts.models import Account, MemberRole, Membership, Role
from ethicsforum.cases.models import CaseStatus

_LIBRARY_EDITORS = {Role.faculty.value, Role.committee.value, Role.admin.value}
# Committee members review drafts and cases in review, so they see every status too.
_SEES_EVERY_CASE = _LIBRARY_EDITORS


def case_statuses_visible_to(account: Account | None) -> frozenset[str] | None:
    """The case statuses a viewer may see; None means every status.

    Students and visitors see curated cases; faculty, committee members and admins see all.
    """
    if account is not None and account.role in _SEES_EVERY_CASE:
        return None
    return frozenset({CaseStatus.curated.value})


def may_read_case_history(account: Account | None) -> bool:
    """Versions, diffs and exports are for those who look after the library."""
    return account is not None and account.role in _LIBRARY_EDITORS


_COHORT_LEADERS = {Role.faculty.value, Role.admin.value}


def may_create_cohort(account: Account) -> bool:
    return account.role in _COHORT_LEADERS


def may_view_cohort(account: Account, membership: Membership | None) -> bool:
    """Admins and current members; anyone else must not learn that the cohort exists."""
    return account.role == Role.admin.value or (
        membership is not None and membership.removed_at is None
    )


def may_manage_cohort(account: Account, membership: Membership | None) -> bool:
    """The cohort's faculty and admins add and remove members."""
    return account.role == Role.admin.value or (
        membership is not None
        and membership.removed_at is None
        and membership.role == MemberRole.faculty.value
    )


def may_join_with_code(account: Account) -> bool:
    """Join codes make student memberships, so only students use them.

    Faculty, committee members and admins are added by the cohort's faculty or an admin:
    a code shown on a slide must never make anyone faculty of someone else's cohort.
    """
    return account.role == Role.student.value


def may_write_cases(account: Account | None) -> bool:
    """Faculty, committee members and admins create and revise cases."""
    return account is not None and account.role in _LIBRARY_EDITORS


def may_create_accounts(account: Account) -> bool:
    return account.role == Role.admin.value
