"""Who may see and do what: the one place authorisation is decided."""

from __future__ import annotations

from ethicsforum.accounts.models import Account, Role
from ethicsforum.cases.models import CaseStatus

_LIBRARY_EDITORS = {Role.faculty.value, Role.committee.value, Role.admin.value}
_SEES_EVERY_CASE = {Role.faculty.value, Role.admin.value}


def case_statuses_visible_to(account: Account | None) -> frozenset[str] | None:
    """The case statuses a viewer may see; None means every status.

    Students, committee members and visitors see curated cases; faculty and admins see all.
    """
    if account is not None and account.role in _SEES_EVERY_CASE:
        return None
    return frozenset({CaseStatus.curated.value})


def may_read_case_history(account: Account | None) -> bool:
    """Versions, diffs and exports are for those who look after the library."""
    return account is not None and account.role in _LIBRARY_EDITORS
