"""Moderation JSON API: flags, hide and restore, exemplary marks, the queue and the audit log."""
# No `from __future__ import annotations` here: the routes are made in a function whose
# local Annotated aliases FastAPI must be able to resolve.

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel

from ethicsforum.accounts import policy
from ethicsforum.accounts.deps import ApiAccount
from ethicsforum.accounts.models import Account
from ethicsforum.db import SessionDep
from ethicsforum.discussions import present
from ethicsforum.discussions import service as discussions
from ethicsforum.discussions.models import Position
from ethicsforum.moderation import service
from ethicsforum.moderation.service import Target
from ethicsforum.params import Id, OptionalQueryId, Page

router = APIRouter(prefix="/api/v1", tags=["moderation"])


class FlagPublic(BaseModel):
    """A flag: faculty see who raised it; the flagger sees their own."""

    id: int
    discussion_id: int
    target_type: str
    target_id: int
    reason: str
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None


class QueueItem(FlagPublic):
    """An open flag with its post in context."""

    cohort: str
    discussion_title: str
    flagged_by: str
    post: dict[str, Any]


class MarkPublic(BaseModel):
    note: str
    criteria: list[str]
    by: str
    created_at: datetime


class AuditPublic(BaseModel):
    """Who did what, to what, when and why."""

    id: int
    actor: str | None
    action: str
    cohort_id: int | None
    discussion_id: int | None
    target_type: str
    target_id: int | None
    reason: str | None
    detail: dict[str, Any]
    created_at: datetime


def _flag_public(row: Any) -> FlagPublic:
    kind = "position" if row.position_id is not None else "rebuttal"
    return FlagPublic(
        id=row.id,
        discussion_id=row.discussion_id,
        target_type=kind,
        target_id=row.position_id or row.rebuttal_id,
        reason=row.reason,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        resolution=row.resolution,
    )


def _post_public(session: SessionDep, t: Target) -> dict[str, Any]:
    if isinstance(t.post, Position):
        looked = present.lookups(session, positions=[t.post])
        return present.position_public(t.found, t.post, looked).model_dump(mode="json")
    looked = present.lookups(session, rebuttals=[t.post])
    return present.rebuttal_public(t.found, t.post, looked).model_dump(mode="json")


def _target_dep(kind: str) -> Callable[..., Target]:
    def load(post_id: Id, account: ApiAccount, session: SessionDep) -> Target:
        return service.target(session, kind=kind, post_id=post_id, account=account)

    return load


def _member_dep(kind: str) -> Callable[..., Target]:
    load = _target_dep(kind)

    def check(t: Annotated[Target, Depends(load)]) -> Target:
        if t.found.membership is None:
            raise discussions.NotAllowed("only members of the cohort flag its posts")
        return t

    return check


def _faculty_dep(kind: str) -> Callable[..., Target]:
    load = _target_dep(kind)

    def check(t: Annotated[Target, Depends(load)]) -> Target:
        # A dependency, so members who may not moderate get 403 whatever body they sent.
        discussions.require_faculty(t.found)
        return t

    return check


def _routes(kind: str) -> None:
    plural = f"{kind}s"
    Member = Annotated[Target, Depends(_member_dep(kind))]  # noqa: N806 - a type alias
    Seen = Annotated[Target, Depends(_target_dep(kind))]  # noqa: N806
    Run = Annotated[Target, Depends(_faculty_dep(kind))]  # noqa: N806

    @router.post(
        f"/{plural}/{{post_id}}/flag",
        response_model=FlagPublic,
        status_code=201,
        name=f"flag_{kind}",
    )
    def flag(session: SessionDep, t: Member, body: service.ReasonInput) -> FlagPublic:
        """Flag a post for faculty, with a reason (one flag per member per post)."""
        return _flag_public(service.flag(session, t=t, data=body))

    @router.post(f"/{plural}/{{post_id}}/hide", name=f"hide_{kind}")
    def hide(
        request: Request, session: SessionDep, t: Run, body: service.ReasonInput
    ) -> dict[str, Any]:
        """Hide a post from students, with a reason; nothing is deleted."""
        service.hide(session, t=t, data=body)
        return _post_public(session, t)

    @router.post(f"/{plural}/{{post_id}}/restore", name=f"restore_{kind}")
    def restore(session: SessionDep, t: Run) -> dict[str, Any]:
        """Show a hidden post again."""
        service.restore(session, t=t)
        return _post_public(session, t)

    @router.put(f"/{plural}/{{post_id}}/exemplary", response_model=MarkPublic, name=f"mark_{kind}")
    def mark(session: SessionDep, t: Run, body: service.ExemplaryInput) -> MarkPublic:
        """Mark a post exemplary with a note saying why (and rubric criteria)."""
        made = service.mark_exemplary(session, t=t, data=body)
        return MarkPublic(
            note=made.note,
            criteria=made.criteria,
            by=t.found.account.display_name,
            created_at=made.created_at,
        )

    @router.delete(f"/{plural}/{{post_id}}/exemplary", status_code=204, name=f"unmark_{kind}")
    def unmark(session: SessionDep, t: Run) -> Response:
        """Take the exemplary mark off a post."""
        service.unmark_exemplary(session, t=t)
        return Response(status_code=204)

    class FeedbackPublic(BaseModel):
        body: str
        by: str
        created_at: datetime

    @router.post(
        f"/{plural}/{{post_id}}/feedback",
        response_model=FeedbackPublic,
        status_code=201,
        name=f"feedback_{kind}",
    )
    def give_feedback(session: SessionDep, t: Run, body: service.FeedbackInput) -> FeedbackPublic:
        """Leave private feedback that only the post's author and faculty see."""
        row = service.give_feedback(session, t=t, data=body)
        return FeedbackPublic(
            body=row.body, by=t.found.account.display_name, created_at=row.created_at
        )

    @router.get(
        f"/{plural}/{{post_id}}/feedback",
        response_model=list[FeedbackPublic],
        name=f"feedback_list_{kind}",
    )
    def list_feedback(session: SessionDep, t: Seen) -> list[FeedbackPublic]:
        """Private feedback on a post (its author and faculty only)."""
        return [
            FeedbackPublic(body=f.body, by=a.display_name, created_at=f.created_at)
            for f, a in service.feedback_for(session, t=t)
        ]


_routes("position")
_routes("rebuttal")


def _moderator(account: ApiAccount) -> Account:
    if not policy.may_create_cohort(account):
        raise HTTPException(403, "only faculty and admins moderate")
    return account


Moderator = Annotated[Account, Depends(_moderator)]


@router.get("/moderation/queue", response_model=list[QueueItem])
def queue(session: SessionDep, account: Moderator) -> list[QueueItem]:
    """Open flags of your cohorts, oldest first, each with its post in context."""
    items = []
    for row, discussion, cohort in service.open_flags(session, account=account):
        kind = "position" if row.position_id is not None else "rebuttal"
        t = service.target(
            session, kind=kind, post_id=row.position_id or row.rebuttal_id or 0, account=account
        )
        flagger = session.get(Account, row.flagged_by_id)
        base = _flag_public(row)
        items.append(
            QueueItem(
                **base.model_dump(),
                cohort=cohort.name,
                discussion_title=discussion.title,
                flagged_by=flagger.display_name if flagger else "",
                post=_post_public(session, t),
            )
        )
    return items


@router.post("/flags/{flag_id}/dismiss", response_model=FlagPublic)
def dismiss(
    session: SessionDep, account: Moderator, flag_id: Id, body: service.ReasonInput
) -> FlagPublic:
    """Close a flag without hiding its post, with a reason."""
    row, t = service.get_flag(session, flag_id=flag_id, account=account)
    return _flag_public(service.dismiss(session, flag_row=row, t=t, data=body))


@router.get("/audit", response_model=list[AuditPublic])
def audit(
    session: SessionDep,
    account: Moderator,
    discussion_id: OptionalQueryId = None,
    page: Page = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[AuditPublic]:
    """Moderation, phase and membership actions of your cohorts: who, what, when, why."""
    rows = service.audit_entries(
        session,
        account=account,
        discussion_id=discussion_id,
        limit=per_page,
        offset=(page - 1) * per_page,
    )
    return [
        AuditPublic(
            id=e.id or 0,
            actor=a.display_name if a else None,
            action=e.action,
            cohort_id=e.cohort_id,
            discussion_id=e.discussion_id,
            target_type=e.target_type,
            target_id=e.target_id,
            reason=e.reason,
            detail=e.detail,
            created_at=e.created_at,
        )
        for e, a in rows
    ]
