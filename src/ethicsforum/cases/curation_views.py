"""A case's history, diff and curation pages: /cases/{slug}/history, /diff, /reviews, /status.

Kept apart from cases/views.py, which holds the library, the case page and the editor.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from ethicsforum.accounts import policy
from ethicsforum.accounts.models import Account
from ethicsforum.accounts.web import PageAccount
from ethicsforum.cases import curation, deid, service
from ethicsforum.cases import diff as case_diff
from ethicsforum.cases.schemas import ReviewCreate, StatusChange
from ethicsforum.db import SessionDep
from ethicsforum.errors import Conflict, Invalid, NotAllowed
from ethicsforum.forms import FormDep, form_text
from ethicsforum.params import MAX_ID
from ethicsforum.templating import render

router = APIRouter(prefix="/cases", tags=["pages"], include_in_schema=False)


def _library_editor_page(account: PageAccount) -> Account:
    # A dependency, so permission is decided before any parameter or form is read. Those
    # who may not keep the library get 403 as on the API: they know the case exists.
    if not policy.may_read_case_history(account):
        raise NotAllowed("history and curation are for faculty, committee members and admins")
    return account


LibraryEditorPage = Annotated[Account, Depends(_library_editor_page)]


@router.get("/{slug}/history", name="case_history_page")
def case_history_page(
    request: Request, session: SessionDep, account: LibraryEditorPage, slug: str
) -> Response:
    history = case_diff.version_history(
        session, slug=slug, statuses=policy.case_statuses_visible_to(account)
    )
    return render(
        request,
        "cases/history.html",
        {
            "case": history.view.case,
            "v": history.view.version,
            "entries": history.entries,
        },
    )


@router.get("/{slug}/diff", name="case_diff_page")
def case_diff_page(
    request: Request,
    session: SessionDep,
    account: LibraryEditorPage,
    slug: str,
    before: Annotated[int, Query(alias="from", ge=1, le=MAX_ID)],
    after: Annotated[int, Query(alias="to", ge=1, le=MAX_ID)],
) -> Response:
    found = case_diff.compare_versions(
        session,
        slug=slug,
        statuses=policy.case_statuses_visible_to(account),
        before=before,
        after=after,
    )
    current = service.get_case(session, slug=slug, statuses=None)
    names = case_diff.display_names(
        session, {found.before.created_by_id, found.after.created_by_id}
    )
    return render(
        request,
        "cases/diff.html",
        {"d": found, "case": current.case, "v": current.version, "names": names},
    )


def _curation_page(
    request: Request,
    session: SessionDep,
    account: Account,
    slug: str,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int,
    problems: list[str] | None = None,
) -> Response:
    """The curation panel again, with what went wrong and what was typed."""
    session.rollback()
    view = service.get_case(session, slug=slug, statuses=policy.case_statuses_visible_to(account))
    return render(
        request,
        "cases/curation.html",
        {
            "case": view.case,
            "v": view.version,
            "curation": curation.panel(session, view=view, viewer=account),
            "errors": errors,
            "values": values,
            "problems": problems or [],
        },
        status_code=status_code,
    )


def _problems(exc: ValidationError | Invalid) -> dict[str, str]:
    """Field name -> a sentence, for the fields of the review and override forms."""
    found = exc.errors() if isinstance(exc, ValidationError) else exc.problems
    errors: dict[str, str] = {}
    for problem in found:
        loc = [str(p) for p in problem.get("loc", ()) if p != "body"]
        name = loc[0] if loc else "form"
        if name == "verdict":
            message = "Choose whether you approve this version or ask for changes."
        elif name == "comment":
            message = (
                f"Keep the comment to {curation.MAX_COMMENT} characters or fewer."
                if problem.get("type") == "string_too_long"
                else "Write a comment that explains your verdict."
            )
        elif name == "reason":
            message = (
                "Keep the reason to 500 characters or fewer."
                if problem.get("type") == "string_too_long"
                else "Say why the case is curated without another reviewer's approval."
            )
        elif name == "status":
            message = "Choose draft, review, curated or retired."
        else:
            message = str(problem.get("msg", "This could not be used."))
        errors.setdefault(name if name in {"verdict", "comment", "reason"} else "form", message)
    return errors


def _conflict_page(
    request: Request,
    session: SessionDep,
    account: Account,
    slug: str,
    values: dict[str, Any],
    exc: Conflict,
) -> Response:
    """409 with the reason as a sentence, and each listed problem (the de-id gate's)."""
    errors = {"form": exc.message[:1].upper() + exc.message[1:] + "."}
    listed = [str(p.get("msg", "")) for p in getattr(exc, "problems", [])]
    return _curation_page(request, session, account, slug, values, errors, 409, listed)


def _back_to_case(request: Request, slug: str) -> RedirectResponse:
    target = request.url_for("case_detail_page", slug=slug).path + "#curation"
    return RedirectResponse(target, status_code=303)


@router.post("/{slug}/reviews", name="case_review_submit")
def case_review_submit(
    request: Request, session: SessionDep, account: LibraryEditorPage, slug: str, form: FormDep
) -> Response:
    service.get_case(session, slug=slug, statuses=policy.case_statuses_visible_to(account))
    values = {"verdict": form_text(form, "verdict"), "comment": form_text(form, "comment")}
    try:
        data = ReviewCreate.model_validate(values)
        curation.add_review(
            session, slug=slug, verdict=data.verdict, comment=data.comment, actor=account
        )
    except (ValidationError, Invalid) as exc:
        return _curation_page(request, session, account, slug, values, _problems(exc), 422)
    except Conflict as exc:
        return _conflict_page(request, session, account, slug, values, exc)
    return _back_to_case(request, slug)


@router.post("/{slug}/status", name="case_status_submit")
def case_status_submit(
    request: Request, session: SessionDep, account: LibraryEditorPage, slug: str, form: FormDep
) -> Response:
    service.get_case(session, slug=slug, statuses=policy.case_statuses_visible_to(account))
    override = form_text(form, "override") in {"true", "on", "1"}
    values: dict[str, Any] = {
        "status": form_text(form, "status"),
        "override": override,
        "reason": form_text(form, "reason"),
    }
    try:
        data = StatusChange.model_validate({**values, "reason": values["reason"] or None})
        curation.set_status(
            session,
            slug=slug,
            status=data.status,
            actor=account,
            override=data.override,
            reason=data.reason,
        )
    except (ValidationError, Invalid) as exc:
        return _curation_page(request, session, account, slug, values, _problems(exc), 422)
    except Conflict as exc:
        return _conflict_page(request, session, account, slug, values, exc)
    return _back_to_case(request, slug)


@router.post("/{slug}/deid/accept", name="case_deid_accept_submit")
def case_deid_accept_submit(
    request: Request, session: SessionDep, account: LibraryEditorPage, slug: str, form: FormDep
) -> Response:
    """Accept one de-identification warning of the current version, with a reason."""
    view = service.get_case(session, slug=slug, statuses=policy.case_statuses_visible_to(account))
    values = {"reason": form_text(form, "reason"), "accept_key": form_text(form, "key")}
    try:
        deid.accept(
            session,
            case_id=view.case.id or 0,
            version=view.case.current_version,
            field=form_text(form, "field"),
            kind=form_text(form, "kind"),
            text=form_text(form, "text"),
            reason=values["reason"],
            actor=account,
        )
    except Invalid as exc:
        errors = {"deid": "Give a reason of 1 to 500 characters for accepting this text."}
        if not any(p.get("loc", [None, None])[-1] == "reason" for p in exc.problems):
            errors = {"deid": exc.message[:1].upper() + exc.message[1:] + "."}
        return _curation_page(request, session, account, slug, values, errors, 422)
    except Conflict as exc:
        errors = {"deid": exc.message[:1].upper() + exc.message[1:] + "."}
        return _curation_page(request, session, account, slug, values, errors, 409)
    return _back_to_case(request, slug)
