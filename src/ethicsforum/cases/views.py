"""The case library's pages: /cases and /cases/{slug}."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from ethicsforum import throttle
from ethicsforum.accounts import policy
from ethicsforum.accounts.models import Account
from ethicsforum.accounts.web import PageAccount, PageViewer
from ethicsforum.cases import curation, editor, editor_page, reuse, service
from ethicsforum.cases.api import check_framework
from ethicsforum.cases.fileformat import MAX_VIGNETTE, SLUG_HINT
from ethicsforum.cases.models import CaseStatus
from ethicsforum.cases.schemas import citation
from ethicsforum.db import SessionDep
from ethicsforum.errors import Invalid, NotAllowed
from ethicsforum.forms import FormDep
from ethicsforum.markdown import render_markdown
from ethicsforum.params import OptionalQueryId, OptionalVersion, Page, id_or_none
from ethicsforum.templating import is_htmx, render
from ethicsforum.urls import absolute_for, absolute_url

router = APIRouter(prefix="/cases", tags=["pages"], include_in_schema=False)

# The live preview asks as the vignette is typed (after a 600 ms pause), so it gets more than
# the composer's button; the cap is the vignette's own limit.
EDITOR_PREVIEWS_PER_MINUTE = 120


def _status_filter(value: str | None) -> CaseStatus | None:
    if not value:
        return None
    try:
        return CaseStatus(value)
    except ValueError:
        raise Invalid(
            "status must be one of " + ", ".join(s.value for s in CaseStatus),
            [
                {
                    "loc": ["query", "status"],
                    "type": "enum",
                    "msg": "expected draft, review, curated or retired",
                    "input": value,
                }
            ],
        ) from None


@router.get("", name="case_list_page")
def case_list_page(
    request: Request,
    session: SessionDep,
    viewer: PageViewer,
    q: Annotated[str | None, Query(max_length=200)] = None,
    framework: Annotated[str | None, Query(max_length=40)] = None,
    tag: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    page: Page = 1,
) -> Response:
    # An empty select in the filter form sends "framework=" or "status=": no filter.
    framework = framework or None
    tag = tag or None
    status_filter = _status_filter(status)
    check_framework(request, framework)
    statuses = policy.case_statuses_visible_to(viewer)
    per_page = request.app.state.settings.page_size
    found = service.list_cases(
        session,
        statuses=statuses,
        q=q,
        framework=framework,
        tag=tag,
        status=status_filter.value if status_filter else None,
        page=page,
        per_page=per_page,
    )
    context = {
        "found": found,
        "q": q or "",
        "framework": framework or "",
        "tag": tag or "",
        "status": status_filter.value if status_filter else "",
        "frameworks": request.app.state.settings.frameworks,
        "tags": service.library_tags(session, statuses=statuses),
        "statuses": [s.value for s in CaseStatus] if statuses is None else [],
        "filtered": bool(q or framework or tag or status_filter),
        "may_write_cases": policy.may_write_cases(viewer),
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "case-results":
        return render(request, "cases/_results.html", context)
    return render(request, "cases/list.html", context)


# ---- the case editor: new cases and new versions (form parsing in cases/editor.py) ------
# Registered before /{slug}, which would otherwise take /cases/new for a case's slug.


def _case_editor_page(account: PageAccount) -> Account:
    # A dependency, so permission is decided before anything sent is read.
    if not policy.may_write_cases(account):
        raise editor.EditingRefused("cases are written by faculty, committee members and admins")
    return account


CaseEditorPage = Annotated[Account, Depends(_case_editor_page)]


def _editable_case(session: SessionDep, account: PageAccount, slug: str) -> service.CaseView:
    """The current version of a case to edit: 404 if unseen, then 403 if not a writer."""
    view = service.get_case(session, slug=slug, statuses=policy.case_statuses_visible_to(account))
    if not policy.may_write_cases(account):
        raise editor.EditingRefused("cases are revised by faculty, committee members and admins")
    return view


EditableCase = Annotated[service.CaseView, Depends(_editable_case)]


def _frameworks(request: Request) -> tuple[str, ...]:
    frameworks: tuple[str, ...] = request.app.state.settings.frameworks
    return frameworks


def _editing(current: service.CaseView, **extra: Any) -> dict[str, Any]:
    return {"case": current.case, "v": current.version, "derived_from": None, **extra}


@router.get("/new", name="case_new_page")
def case_new_page(request: Request, account: CaseEditorPage) -> Response:
    context = editor_page.page_context(
        editor.blank_form(), mode="new", framework_choices=_frameworks(request)
    )
    return render(request, "cases/edit.html", context)


@router.post("/new", name="case_create_submit")
def case_create_submit(
    request: Request, session: SessionDep, account: CaseEditorPage, sent: FormDep
) -> Response:
    form = editor.from_form(sent)
    choices = _frameworks(request)
    again = editor.action_of(form, sent)
    if again is not None:
        context = editor_page.page_context(
            again.form, mode="new", framework_choices=choices, notes=again.notes, focus=again.focus
        )
        return render(request, "cases/edit.html", context)
    form = form.renumbered()
    created, errors = editor.check_new(
        form, frameworks=choices, slug_taken=lambda slug: editor.slug_in_use(session, slug)
    )
    if created is not None:
        try:
            view = service.create_case(
                session, slug=created.slug, content=editor.content_of(created), actor=account
            )
        except service.CaseConflict:  # taken between the check and the insert
            errors = {"slug": editor.taken_message(created.slug)}
        else:
            url = absolute_for(request, "case_detail_page", slug=view.case.slug)
            return RedirectResponse(f"{url}?saved=1", status_code=303)
    context = editor_page.page_context(form, mode="new", framework_choices=choices, errors=errors)
    return render(request, "cases/edit.html", context, status_code=422)


@router.post("/preview", name="case_preview_fragment")
def case_preview_fragment(request: Request, account: CaseEditorPage, sent: FormDep) -> Response:
    """The vignette as readers will see it; htmx swaps it in as the vignette is typed.

    Capped at the vignette's own limit (422, or 200 for htmx with the message where the
    preview goes) and rate limited per account like the composer's preview (429).
    """
    throttle.hit(
        request, "case_preview", "previews", limit=EDITOR_PREVIEWS_PER_MINUTE, key=account.id
    )
    text = editor.from_form(sent).values["vignette"]
    if len(text) > MAX_VIGNETTE:
        context = {"preview_html": "", "too_long": len(text), "limit": MAX_VIGNETTE}
        status = 200 if is_htmx(request) else 422
        return render(request, "cases/_editor_preview.html", context, status_code=status)
    html = render_markdown(text) if text.strip() else ""
    return render(request, "cases/_editor_preview.html", {"preview_html": html})


@router.post("/option-row", name="case_option_row_fragment")
def case_option_row_fragment(
    request: Request,
    session: SessionDep,
    account: CaseEditorPage,
    sent: FormDep,
    remove: Annotated[int | None, Query(ge=0, le=9999)] = None,
) -> Response:
    """One more empty option row, or none after removing one; the options' messages OOB.

    The editor sends its whole form, so the new row's index follows the highest in use and
    the count is judged on what remains.
    """
    form = editor.from_form(sent)
    row = None
    if remove is not None:
        form = editor.without_row(form, remove)
    else:
        row = editor.next_row(form)
    problem = editor.check_field(
        form,
        "options",
        creating=not sent.get("editing"),
        frameworks=_frameworks(request),
        slug_taken=lambda _: False,
    )
    if remove is None and row is None:
        _, most = editor.list_limits("options")
        problem = f"A case has at most {most} options; remove one first."
    context: dict[str, Any] = {"row": row, "errors": {}, "warnings": {}}
    context["options_error"] = problem
    return render(request, "cases/_editor_row_added.html", context)


@router.post("/check", name="case_check_fragment")
def case_check_fragment(
    request: Request,
    session: SessionDep,
    account: CaseEditorPage,
    sent: FormDep,
    field: Annotated[str, Query(pattern=editor.FIELD_PATTERN, max_length=64)],
) -> Response:
    """What the editor says about one field as it is typed: its problem and its warnings."""
    form = editor.from_form(sent)
    editing = sent.get("editing")
    accepted: set[tuple[str, str, str]] = set()
    if isinstance(editing, str) and editing:  # the edit form names its case
        statuses = policy.case_statuses_visible_to(account)
        current = service.get_case(session, slug=editing, statuses=statuses)
        accepted = editor_page.accepted_warnings(session, current)
    problem = editor.check_field(
        form,
        field,
        creating=not editing,
        frameworks=_frameworks(request),
        slug_taken=lambda slug: editor.slug_in_use(session, slug),
    )
    notes = editor_page.deid_warnings(form, accepted).get(field, [])
    context = {"name": field, "error": problem, "notes": notes, "oob": False}
    return render(request, "cases/_editor_messages.html", context)


@router.get("/{slug}/edit", name="case_edit_page")
def case_edit_page(
    request: Request,
    session: SessionDep,
    account: PageAccount,
    current: EditableCase,
    from_version: OptionalVersion = None,
) -> Response:
    source = current
    if from_version is not None:
        source = service.get_case(
            session,
            slug=current.case.slug,
            version=from_version,
            statuses=policy.case_statuses_visible_to(account),
            history=policy.may_read_case_history(account),
        )
    form = editor.from_version(source)
    if from_version is not None and from_version != current.case.current_version:
        form.values["change_note"] = f"Restored the text of version {from_version}."
    else:
        from_version = None
    context = editor_page.page_context(
        form,
        mode="edit",
        framework_choices=_frameworks(request),
        accepted=editor_page.accepted_warnings(session, current),
        **_editing(
            current,
            derived_from=current.version.derived_from,
            base_version=current.case.current_version,
            from_version=from_version,
        ),
    )
    return render(request, "cases/edit.html", context)


@router.post("/{slug}/edit", name="case_edit_submit")
def case_edit_submit(
    request: Request,
    session: SessionDep,
    account: PageAccount,
    current: EditableCase,
    sent: FormDep,
) -> Response:
    case = current.case
    form = editor.from_form(sent)
    choices = _frameworks(request)
    base = editor.number_in(sent, "base_version") or case.current_version
    shown = {
        "derived_from": current.version.derived_from,
        "from_version": editor.number_in(sent, "from_version"),
    }
    again = editor.action_of(form, sent)
    if again is not None:
        context = editor_page.page_context(
            again.form,
            mode="edit",
            framework_choices=choices,
            notes=again.notes,
            focus=again.focus,
            accepted=editor_page.accepted_warnings(session, current),
            **_editing(current, base_version=base, **shown),
        )
        return render(request, "cases/edit.html", context)
    form = form.renumbered()
    revision, errors = editor.check_revision(
        form, frameworks=choices, derived_from=current.version.derived_from
    )
    status = 422
    if revision is not None and base != case.current_version:
        # Someone saved since this form was opened: saving now would quietly undo their
        # version. Show it; the next save (from this form, as it is) goes through.
        errors = {"form": editor.stale_message(base, case.current_version)}
        status, base = 409, case.current_version
    if revision is not None and not errors:
        view = service.revise_case(
            session,
            slug=case.slug,
            content=editor.content_of(revision),
            change_note=revision.change_note,
            actor=account,
        )
        url = absolute_for(request, "case_detail_page", slug=case.slug)
        return RedirectResponse(f"{url}?saved={view.version.version}", status_code=303)
    context = editor_page.page_context(
        form,
        mode="edit",
        framework_choices=choices,
        errors=errors,
        accepted=editor_page.accepted_warnings(session, current),
        **_editing(current, base_version=base, **shown),
    )
    return render(request, "cases/edit.html", context, status_code=status)


@router.get("/{slug}", name="case_detail_page")
def case_detail_page(
    request: Request,
    session: SessionDep,
    viewer: PageViewer,
    slug: str,
    version: OptionalVersion = None,
    saved: OptionalQueryId = None,
) -> Response:
    view = service.get_case(
        session,
        slug=slug,
        version=version,
        statuses=policy.case_statuses_visible_to(viewer),
        history=policy.may_read_case_history(viewer),
    )
    may_write = policy.may_write_cases(viewer)
    return render(
        request,
        "cases/detail.html",
        {
            "view": view,
            "case": view.case,
            "v": view.version,
            "citation": citation(view, base_url=absolute_url(request, "/")),
            "is_old_version": view.version.version != view.case.current_version,
            "library_editor": policy.may_read_case_history(viewer),
            "reuse": reuse.for_case_page(session, view=view, viewer=viewer),
            "may_write_cases": may_write,
            # After the editor's redirect: "Saved as version N", and what may identify someone.
            "saved": editor_page.saved_notice(session, view, saved) if may_write else None,
            # Status, reviews and moves of the current version (cases/curation_views.py).
            "curation": curation.panel(session, view=view, viewer=viewer)
            if viewer is not None
            and policy.may_read_case_history(viewer)
            and view.version.version == view.case.current_version
            else None,
        },
    )


# ---- reuse: copy a case, start a discussion from it, its dossier --------------------------


def _case_writer_page(account: PageAccount) -> Account:
    # A dependency, so permission is decided before the form is read.
    if not policy.may_write_cases(account):
        raise NotAllowed("copying cases is for faculty, committee members and admins")
    return account


CaseWriterPage = Annotated[Account, Depends(_case_writer_page)]


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _copy_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "form"
        if name == "slug":
            message = f"The new case's address must be {SLUG_HINT}."
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
        errors.setdefault(name, message)
    return errors


@router.get("/{slug}/copy", name="case_copy_page")
def case_copy_page(
    request: Request,
    session: SessionDep,
    account: CaseWriterPage,
    slug: str,
    version: OptionalVersion = None,
) -> Response:
    view = service.get_case(
        session, slug=slug, version=version, statuses=policy.case_statuses_visible_to(account)
    )
    return render(
        request,
        "cases/copy.html",
        {"view": view, "case": view.case, "v": view.version, "values": {}, "errors": {}},
    )


@router.post("/{slug}/copy", name="case_copy_submit")
def case_copy_submit(
    request: Request,
    session: SessionDep,
    account: CaseWriterPage,
    slug: str,
    form: FormDep,
) -> Response:
    statuses = policy.case_statuses_visible_to(account)
    asked = _field(form, "version")
    view = service.get_case(session, slug=slug, version=id_or_none(asked), statuses=statuses)
    values = {"slug": _field(form, "slug"), "title": _field(form, "title")}
    try:
        data = reuse.CaseCopy.model_validate(
            {**values, "title": values["title"] or None, "version": view.version.version}
        )
        copy = reuse.copy_case(
            session, source_slug=slug, data=data, actor=account, statuses=statuses
        )
    except (ValidationError, service.CaseConflict) as exc:
        conflict = isinstance(exc, service.CaseConflict)
        errors = (
            {"slug": f"A case with the address {values['slug']} already exists; choose another."}
            if conflict
            else _copy_errors(exc)  # type: ignore[arg-type]
        )
        context = {"view": view, "case": view.case, "v": view.version}
        context |= {"values": values, "errors": errors}
        return render(request, "cases/copy.html", context, status_code=409 if conflict else 422)
    return RedirectResponse(
        absolute_for(request, "case_detail_page", slug=copy.case.slug), status_code=303
    )


@router.get("/{slug}/discuss", name="case_discuss_page")
def case_discuss_page(
    request: Request, session: SessionDep, account: PageAccount, slug: str
) -> Response:
    if not policy.may_create_cohort(account):
        raise NotAllowed("discussions are opened by faculty and admins")
    view = service.get_case(session, slug=slug, statuses=policy.case_statuses_visible_to(account))
    return render(
        request,
        "cases/discuss.html",
        {
            "view": view,
            "case": view.case,
            "v": view.version,
            "cohorts": reuse.cohorts_run_by(session, account=account),
        },
    )


@router.get("/{slug}/dossier", name="case_dossier_page")
def case_dossier_page(
    request: Request,
    session: SessionDep,
    account: PageAccount,
    slug: str,
    version: OptionalVersion = None,
    fmt: Annotated[Literal["html", "markdown"], Query(alias="format")] = "html",
) -> Response:
    if not policy.may_read_case_history(account):
        raise NotAllowed("dossiers are for faculty, committee members and admins")
    found = reuse.dossier(
        session,
        slug=slug,
        version=version,
        statuses=policy.case_statuses_visible_to(account),
        base_url=absolute_url(request, "/"),
    )
    if fmt == "markdown":
        # The same document as the API's, for a browser signed in with its cookie.
        return PlainTextResponse(
            reuse.render_dossier(found),
            media_type="text/markdown; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{slug}-dossier.md"'},
        )
    return render(
        request,
        "cases/dossier.html",
        {"d": found, "case": found.view.case, "v": found.view.version},
    )


@router.get("/{slug}/export", name="case_export_file")
def case_export_file(
    session: SessionDep,
    account: PageAccount,
    slug: str,
    version: OptionalVersion = None,
) -> Response:
    """The case file of a version, downloaded with the browser's session (the API's export
    takes a bearer token)."""
    if not policy.may_read_case_history(account):
        raise NotAllowed("case files are for faculty, committee members and admins")
    text = service.export_case(
        session, slug=slug, statuses=policy.case_statuses_visible_to(account), version=version
    )
    return PlainTextResponse(
        text,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{slug}.md"'},
    )
