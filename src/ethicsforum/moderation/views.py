"""Moderation pages: the queue, a post's moderation page, flagging; notifications."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import col, func, select

from ethicsforum import security_log
from ethicsforum.accounts import policy
from ethicsforum.accounts.models import Account
from ethicsforum.accounts.web import PageAccount, PageViewer
from ethicsforum.db import SessionDep, utcnow
from ethicsforum.discussions import present
from ethicsforum.discussions import service as discussions
from ethicsforum.discussions.models import Position
from ethicsforum.errors import DomainError, Invalid, NotFound
from ethicsforum.moderation import participation, service
from ethicsforum.moderation.service import Criterion, Target
from ethicsforum.notifications.models import Notification
from ethicsforum.params import Id, OptionalQueryId, Page
from ethicsforum.templating import render

router = APIRouter(tags=["pages"], include_in_schema=False)
KINDS = {"positions": "position", "rebuttals": "rebuttal"}


def _kind(plural: str) -> str:
    kind = KINDS.get(plural)
    if kind is None:
        raise NotFound("there is nothing at this address")
    return kind


def _public(session: SessionDep, t: Target) -> Any:
    if isinstance(t.post, Position):
        return present.position_public(
            t.found, t.post, present.lookups(session, positions=[t.post])
        )
    return present.rebuttal_public(t.found, t.post, present.lookups(session, rebuttals=[t.post]))


def _back(t: Target) -> str:
    position_id = t.post.id if isinstance(t.post, Position) else t.post.position_id
    anchor = "" if isinstance(t.post, Position) else f"#rebuttal-{t.post.id}"
    return f"/positions/{position_id}{anchor}"


def _post_page(
    request: Request,
    session: SessionDep,
    t: Target,
    *,
    status_code: int = 200,
    error: str | None = None,
    done: str | None = None,
) -> Response:
    return render(
        request,
        "moderation/post.html",
        {
            "t": t,
            "post": _public(session, t),
            "kind": t.kind,
            "plural": f"{t.kind}s",
            "criteria": [c.value for c in Criterion],
            "error": error,
            "done": done,
            "back": _back(t),
            "feedback": service.feedback_for(session, t=t)
            if t.found.is_faculty or t.post.author_id == t.found.account.id
            else [],
        },
        status_code=status_code,
    )


@router.get("/moderation", name="moderation_page")
def moderation_page(request: Request, session: SessionDep, account: PageAccount) -> Response:
    if not policy.may_create_cohort(account):
        raise discussions.NotAllowed("the moderation queue is for faculty and admins")
    items = []
    for flag_row, discussion, cohort in service.open_flags(session, account=account):
        kind = "position" if flag_row.position_id is not None else "rebuttal"
        t = service.target(
            session,
            kind=kind,
            post_id=flag_row.position_id or flag_row.rebuttal_id or 0,
            account=account,
        )
        flagger = session.get(Account, flag_row.flagged_by_id)
        items.append(
            {
                "flag": flag_row,
                "discussion": discussion,
                "cohort": cohort,
                "t": t,
                "post": _public(session, t),
                "flagger": flagger,
                "back": _back(t),
            }
        )
    return render(request, "moderation/queue.html", {"items": items})


@router.post("/moderation/flags/{flag_id}/dismiss", name="flag_dismiss_submit")
def flag_dismiss_submit(
    request: Request,
    session: SessionDep,
    account: PageAccount,
    flag_id: Id,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    flag_row, t = service.get_flag(session, flag_id=flag_id, account=account)
    try:
        service.dismiss(session, flag_row=flag_row, t=t, data=service.ReasonInput(reason=reason))
    except ValidationError:
        raise Invalid("give a reason for dismissing the flag") from None
    return RedirectResponse("/moderation", status_code=303)


DONE = {
    "flag": "Thank you: faculty will look at this post.",
    "hide": "Hidden from students.",
    "restore": "Shown to students again.",
    "mark": "Marked exemplary.",
    "feedback": "Your feedback was sent privately to the author.",
    "unmark": "The exemplary mark was removed.",
}


@router.get("/moderate/{plural}/{post_id}", name="moderate_post_page")
def moderate_post_page(
    request: Request,
    session: SessionDep,
    account: PageAccount,
    plural: str,
    post_id: Id,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    t = service.target(session, kind=_kind(plural), post_id=post_id, account=account)
    return _post_page(request, session, t, done=DONE.get(done or ""))


@router.post("/moderate/{plural}/{post_id}/{action}", name="moderate_post_submit")
def moderate_post_submit(
    request: Request,
    session: SessionDep,
    account: PageAccount,
    plural: str,
    post_id: Id,
    action: str,
    reason: Annotated[str, Form(max_length=500)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    body: Annotated[str, Form(max_length=5000)] = "",
    criteria: Annotated[list[str] | None, Form()] = None,
    next: Annotated[str, Form(max_length=20)] = "",  # noqa: A002 - the form field's name
) -> Response:
    t = service.target(session, kind=_kind(plural), post_id=post_id, account=account)
    if action not in {"flag", "hide", "restore", "mark", "unmark", "feedback"}:
        raise NotFound("there is nothing at this address")
    if action == "flag":
        if t.found.membership is None:
            raise discussions.NotAllowed("only members of the cohort flag its posts")
    else:
        discussions.require_faculty(t.found)  # permission before the form is validated
    try:
        if action == "flag":
            service.flag(session, t=t, data=service.ReasonInput(reason=reason))
            done = "flag"
        elif action == "hide":
            service.hide(session, t=t, data=service.ReasonInput(reason=reason))
            done = "hide"
        elif action == "restore":
            service.restore(session, t=t)
            done = "restore"
        elif action == "mark":
            service.mark_exemplary(
                session,
                t=t,
                data=service.ExemplaryInput.model_validate(
                    {"note": note, "criteria": criteria or []}
                ),
            )
            done = "mark"
        elif action == "feedback":
            service.give_feedback(session, t=t, data=service.FeedbackInput(body=body))
            done = "feedback"
        else:
            service.unmark_exemplary(session, t=t)
            done = "unmark"
    except ValidationError as exc:
        message = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        return _post_page(request, session, t, status_code=422, error=message)
    except DomainError as exc:
        return _post_page(request, session, t, status_code=exc.status_code, error=exc.message)
    # Post, then redirect: a reload must not send the form again. The queue's forms come
    # back to the queue.
    if next == "/moderation":
        return RedirectResponse("/moderation", status_code=303)
    return RedirectResponse(f"/moderate/{plural}/{post_id}?done={done}", status_code=303)


# ---- notifications -----------------------------------------------------------------------


@router.get("/notifications", name="notifications_page")
def notifications_page(request: Request, session: SessionDep, account: PageAccount) -> Response:
    rows = list(
        session.exec(
            select(Notification)
            .where(Notification.account_id == account.id)
            .order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
            .limit(100)
        )
    )
    return render(request, "moderation/notifications.html", {"notifications": rows})


@router.post("/notifications/read", name="notifications_read")
def notifications_read(session: SessionDep, account: PageAccount) -> Response:
    now = utcnow()
    for row in session.exec(
        select(Notification).where(
            Notification.account_id == account.id, col(Notification.read_at).is_(None)
        )
    ):
        row.read_at = now
        session.add(row)
    session.commit()
    return RedirectResponse("/notifications", status_code=303)


@router.get("/notifications/count", name="notifications_count_fragment")
def notifications_count_fragment(session: SessionDep, account: PageAccount) -> Response:
    """The unread count for the header (htmx polls it)."""
    unread = session.exec(
        select(func.count())
        .select_from(Notification)
        .where(Notification.account_id == account.id, col(Notification.read_at).is_(None))
    ).one()
    label = f"{unread} unread" if unread else "none unread"
    return HTMLResponse(f'<span class="badge count" id="unread-count">{label}</span>')


@router.get("/discussions/{discussion_id}/participation", name="participation_page")
def participation_page(
    request: Request,
    session: SessionDep,
    account: PageAccount,
    discussion_id: Id,
    sort: Annotated[
        str, Query(pattern="^(name|positions|rebuttals|claims|exemplary|flags)$")
    ] = "name",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
) -> Response:
    found = discussions.access(session, discussion_id=discussion_id, account=account)
    discussions.require_faculty(found)
    attribute = "flags_received" if sort == "flags" else sort
    rows = participation.participation(
        session, found=found, sort=attribute, descending=order == "desc"
    )
    labels = {o["key"]: o["label"] for o in found.version.options}
    return render(
        request,
        "moderation/participation.html",
        {
            "found": found,
            "d": found.discussion,
            "rows": rows,
            "frameworks": found.frameworks,
            "sort": sort,
            "order": order,
            "labels": labels,
            "columns": participation.SORTABLE,
        },
    )


@router.get("/discussions/{discussion_id}/participation.csv", name="participation_csv")
def participation_csv(session: SessionDep, account: PageAccount, discussion_id: Id) -> Response:
    found = discussions.access(session, discussion_id=discussion_id, account=account)
    discussions.require_faculty(found)
    body = participation.to_csv(
        participation.participation(session, found=found), frameworks=found.frameworks
    )
    security_log.event(
        "export_with_names",
        kind="discussion_csv",
        discussion_id=discussion_id,
        cohort_id=found.cohort.id,
        username=account.username,
    )
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="participation-{discussion_id}.csv"'
        },
    )


@router.get("/cases/{slug}/exemplary", name="case_exemplary_fragment")
def case_exemplary_fragment(
    request: Request, session: SessionDep, viewer: PageViewer, slug: str
) -> Response:
    """Exemplary reasoning from closed discussions of a case, anonymised, for its page."""
    from ethicsforum.cases import service as cases_service

    view = cases_service.get_case(
        session, slug=slug, statuses=policy.case_statuses_visible_to(viewer)
    )
    items = service.exemplary_for_case(session, case_id=view.case.id or 0)
    return render(request, "moderation/_case_exemplary.html", {"items": items, "case": view.case})


@router.get("/audit", name="audit_page")
def audit_page(
    request: Request,
    session: SessionDep,
    account: PageAccount,
    discussion_id: OptionalQueryId = None,
    page: Page = 1,
) -> Response:
    if not policy.may_create_cohort(account):
        raise discussions.NotAllowed("the audit log is for faculty and admins")
    per_page = 50
    rows = service.audit_entries(
        session,
        account=account,
        discussion_id=discussion_id,
        limit=per_page + 1,
        offset=(page - 1) * per_page,
    )
    return render(
        request,
        "moderation/audit.html",
        {
            "entries": rows[:per_page],
            "page": page,
            "has_next": len(rows) > per_page,
            "discussion_id": discussion_id,
        },
    )


def _cohort_rows(
    session: SessionDep, account: Account, cohort_id: int
) -> tuple[Any, list[participation.Row], list[str], list[Any]]:
    """Participation summed over every discussion of a cohort the account runs."""
    from ethicsforum.accounts import cohorts

    found = cohorts.managed(session, cohort_id=cohort_id, account=account)
    totals: dict[int, participation.Row] = {}
    frameworks: list[str] = []
    per_discussion = discussions.cohort_discussions(session, cohort_id=cohort_id)
    for discussion in per_discussion:
        access = discussions.access(session, discussion_id=discussion.id or 0, account=account)
        frameworks += [f for f in access.frameworks if f not in frameworks]
        for row in participation.participation(session, found=access):
            total = totals.setdefault(row.account.id or 0, participation.Row(row.account))
            total.positions += row.positions
            total.rebuttals += row.rebuttals
            total.exemplary += row.exemplary
            total.flags_received += row.flags_received
            for framework, count in row.claims_by_framework.items():
                total.claims_by_framework[framework] = (
                    total.claims_by_framework.get(framework, 0) + count
                )
    return found.cohort, list(totals.values()), frameworks, per_discussion


@router.get("/cohorts/{cohort_id}/participation", name="cohort_participation_page")
def cohort_participation_page(
    request: Request,
    session: SessionDep,
    account: PageAccount,
    cohort_id: Id,
    sort: Annotated[
        str, Query(pattern="^(name|positions|rebuttals|claims|exemplary|flags)$")
    ] = "name",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
) -> Response:
    cohort, rows, frameworks, per_discussion = _cohort_rows(session, account, cohort_id)
    attribute = "flags_received" if sort == "flags" else sort

    def key(row: participation.Row) -> tuple[object, str]:
        name = row.account.display_name.lower()
        return (name if attribute == "name" else getattr(row, attribute)), name

    rows.sort(key=key, reverse=order == "desc")
    return render(
        request,
        "moderation/cohort_participation.html",
        {
            "cohort": cohort,
            "rows": rows,
            "frameworks": frameworks,
            "discussions": per_discussion,
            "sort": sort,
            "order": order,
        },
    )


@router.get("/cohorts/{cohort_id}/participation.csv", name="cohort_participation_csv")
def cohort_participation_csv(session: SessionDep, account: PageAccount, cohort_id: Id) -> Response:
    cohort, rows, frameworks, _ = _cohort_rows(session, account, cohort_id)
    rows.sort(key=lambda r: r.account.display_name.lower())
    security_log.event(
        "export_with_names", kind="cohort_csv", cohort_id=cohort.id, username=account.username
    )
    return Response(
        participation.to_csv(rows, frameworks=frameworks),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="participation-cohort-{cohort.id}.csv"'
        },
    )
