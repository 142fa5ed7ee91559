"""Discussion pages: the discussion, a position with its rebuttal tree, the composer."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from ethicsforum import throttle
from ethicsforum.accounts import cohorts
from ethicsforum.accounts.models import Account
from ethicsforum.accounts.web import PageAccount
from ethicsforum.cases import deid
from ethicsforum.cases import service as cases_service
from ethicsforum.db import SessionDep
from ethicsforum.discussions import present, service
from ethicsforum.discussions.models import Phase, Position
from ethicsforum.errors import DomainError, Invalid
from ethicsforum.forms import FormDep, form_text
from ethicsforum.fragments import answer, fragments
from ethicsforum.markdown import render_markdown
from ethicsforum.params import Id, OptionalQueryId, Page, id_or_none
from ethicsforum.templating import is_htmx, render, templates
from ethicsforum.urls import absolute_for

router = APIRouter(tags=["pages"], include_in_schema=False)

PAGE_SIZE = 20
MAX_CLAIMS = 8
TREE_DEPTH = 4  # deeper replies continue on their own page
# A claim row's index: ASCII digits, short, so int() never meets 5,000 digits or "²".
_CLAIM_ROW = re.compile(r"claims-([0-9]{1,4})-")


def claim_rows(form: FormData) -> list[dict[str, str]]:
    """Claim rows as typed, in order; rows left wholly blank are dropped."""
    rows = []
    for index in range(MAX_CLAIMS * 4):
        prefix = f"claims-{index}-"
        if not any(key.startswith(prefix) for key in form):
            continue
        row = {
            field: form_text(form, prefix + field).strip()
            if field != "text"
            else form_text(form, prefix + field)
            for field in ("id", "framework", "direction", "text")
        }
        if row["text"].strip() or row["id"]:
            rows.append(row)
    return rows


def _claims_payload(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [
        {
            # Left to the schema, which bounds it: "²" or 20 digits is a 422, not a crash.
            "id": r["id"] or None,
            "framework": r["framework"],
            "direction": r["direction"],
            "text": r["text"],
        }
        for r in rows
    ]


def _errors(exc: ValidationError | Invalid) -> dict[str, str]:
    """Problems keyed by form field name (claims-N-field), for messages beside each field."""
    items = exc.errors() if isinstance(exc, ValidationError) else exc.problems
    out: dict[str, str] = {}
    for error in items:
        loc = [str(p) for p in error.get("loc", ()) if p != "body"]
        if loc[:1] == ["claims"] and len(loc) >= 2:
            name = f"claims-{loc[1]}-{loc[2]}" if len(loc) >= 3 else f"claims-{loc[1]}-text"
        else:
            name = loc[0] if loc else "form"
        out.setdefault(name, str(error.get("msg", "invalid")).removeprefix("Value error, "))
    return out


def _options(found: service.Access) -> list[dict[str, Any]]:
    return list(found.version.options)


def _cards_html(
    request: Request, session: SessionDep, found: service.Access, page: int, own: Position | None
) -> str:
    """The page's position cards, rendered once per generation and visibility class and
    shared (fragments.py); the viewer's own card names them, so a page holding it is theirs."""
    d = found.discussion
    first = (page - 1) * PAGE_SIZE

    def render_cards() -> str:
        positions = service.positions_of(session, found=found, limit=PAGE_SIZE, offset=first)
        card = templates.get_template("discussions/_position_card.html")
        labels = {o["key"]: o["label"] for o in found.version.options}
        return "".join(
            card.render(p=p, d=d, option_labels=labels, request=request)
            for p in present.positions_public(session, found, positions)
        )

    if found.is_faculty:
        viewer: tuple[Any, ...] = ("faculty",)
    elif own is not None and service.position_on_page(
        session, found=found, position=own, limit=PAGE_SIZE, offset=first
    ):
        viewer = ("author", found.account.id)
    else:
        viewer = ("peer",)
    key = ("position-cards", d.id, d.summary_generation, page, viewer)
    return fragments(request).get_or_render(key, render_cards)


def _discussion_context(
    request: Request, session: SessionDep, found: service.Access, page: int
) -> dict[str, Any]:
    last_event = service.last_event_id(session, discussion_id=found.discussion.id or 0)
    total = service.count_positions(session, found=found)
    own = service.own_position_of(session, found) if found.is_student else None
    sees_peers = service.sees_peers(session, found)

    return {
        "found": found,
        "d": found.discussion,
        "v": found.version,
        "options": _options(found),
        "option_labels": {o["key"]: o["label"] for o in found.version.options},
        "cards_html": _cards_html(request, session, found, page, own) if sees_peers else "",
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "own": own,
        "stances": service.stances_of(session, found=found) if found.is_student else {},
        "sees_peers": sees_peers,
        "may_post": found.is_student
        and own is None
        and found.discussion.phase != Phase.closed.value,
        "rebuttals_open": service.rebuttals_open(found),
        "phases": [p.value for p in Phase],
        "last_event": last_event,
    }


def _composer_context(
    found: service.Access,
    *,
    rows: list[dict[str, str]] | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    position: Position | None = None,
) -> dict[str, Any]:
    blank = {"id": "", "framework": "", "direction": "supports", "text": ""}
    rows = rows if rows else [dict(blank) for _ in range(3)]
    return {
        "found": found,
        "d": found.discussion,
        "options": _options(found),
        "frameworks": found.frameworks,
        "rows": rows,
        "values": values or {},
        "errors": errors or {},
        "editing": position,
        "max_claims": MAX_CLAIMS,
    }


@router.get("/discussions/{discussion_id}", name="discussion_page")
def discussion_page(
    request: Request,
    session: SessionDep,
    account: PageAccount,
    discussion_id: Id,
    page: Page = 1,
) -> Response:
    found = service.access(session, discussion_id=discussion_id, account=account)

    def build() -> Response:
        context = _discussion_context(request, session, found, page)
        if context["may_post"]:
            context.update(_composer_context(found))
        if is_htmx(request) and request.headers.get("HX-Target") == "position-list":
            return render(request, "discussions/_position_list.html", context)
        return render(request, "discussions/discussion.html", context)

    # Everything the page shows changes with the generation or the rows access() read.
    return answer(request, present.answer_key(request, found, "discussion-page", page), build)


@router.post("/discussions/{discussion_id}/positions", name="position_create")
def position_create(
    request: Request, session: SessionDep, account: PageAccount, discussion_id: Id, form: FormDep
) -> Response:
    found = service.access(session, discussion_id=discussion_id, account=account)
    service.require_student(found)  # permission before the form is validated
    rows = claim_rows(form)
    values = {k: form_text(form, k) for k in ("option", "summary", "body")}
    try:
        data = service.PositionInput.model_validate({**values, "claims": _claims_payload(rows)})
        position = service.post_position(
            session, found=found, data=data, rate_limited=request.app.state.settings.rate_limits
        )
    except (ValidationError, Invalid) as exc:
        context = _discussion_context(request, session, found, 1)
        context.update(_composer_context(found, rows=rows, values=values, errors=_errors(exc)))
        return render(request, "discussions/discussion.html", context, status_code=422)
    return RedirectResponse(
        absolute_for(request, "position_page", position_id=position.id), status_code=303
    )


@router.post("/discussions/{discussion_id}/claim-row", name="claim_row_fragment")
def claim_row_fragment(
    request: Request, session: SessionDep, account: PageAccount, discussion_id: Id, form: FormDep
) -> Response:
    """One more empty claim row for the composer (htmx appends it in place).

    The composer sends its current rows, so the new row's index follows the highest one in
    use (removed rows leave gaps, which is fine) and no more than eight rows are made.
    """
    found = service.access(session, discussion_id=discussion_id, account=account)
    used = {int(m.group(1)) for key in form if (m := _CLAIM_ROW.match(key))}
    if len(used) >= MAX_CLAIMS:
        return HTMLResponse(f'<p class="field-error" role="alert">At most {MAX_CLAIMS} claims.</p>')
    return render(
        request,
        "discussions/_claim_row.html",
        {
            "index": max(used, default=-1) + 1,
            "frameworks": found.frameworks,
            "row": {"id": "", "framework": "", "direction": "supports", "text": ""},
            "errors": {},
        },
    )


PREVIEWS_PER_MINUTE = 60


@router.post("/markdown/preview", name="markdown_preview_fragment")
def markdown_preview_fragment(request: Request, account: PageAccount, form: FormDep) -> Response:
    """The composer's body as it will read; capped like the body and rate limited.

    Rendering costs CPU in proportion to the text, so text longer than a body may be is not
    rendered (422, or 200 for htmx so the message is swapped in where the preview goes), and
    each account gets PREVIEWS_PER_MINUTE previews a minute (429 with Retry-After).
    """
    throttle.hit(request, "markdown_preview", "previews", limit=PREVIEWS_PER_MINUTE, key=account.id)
    body = form_text(form, "body")
    if len(body) > service.MAX_BODY:
        message = (
            f"The text is {len(body):,} characters long; a post may have at most "
            f"{service.MAX_BODY:,}, so it is not previewed. Shorten it first."
        )
        return HTMLResponse(
            f'<div id="preview" class="preview" role="alert"><p class="error">{message}</p></div>',
            status_code=200 if is_htmx(request) else 422,
        )
    html = render_markdown(body) if body.strip() else "<p><em>Nothing to preview yet.</em></p>"
    return HTMLResponse(f'<div id="preview" class="preview">{html}</div>')


MAX_DEID_SHOWN = 5


@router.post("/discussions/{discussion_id}/deid-check", name="deid_check_fragment")
def deid_check_fragment(
    request: Request, session: SessionDep, account: PageAccount, discussion_id: Id, form: FormDep
) -> Response:
    """A gentle note above the composer's submit button when the text may identify a person.

    htmx asks as the student types (the composer's #deid-warning); it never blocks posting,
    and without JavaScript nothing asks. Texts are cut to the composer's limits.
    """
    service.access(session, discussion_id=discussion_id, account=account)
    fields = {"summary": form_text(form, "summary")[:280], "body": form_text(form, "body")[:20_000]}
    for index, row in enumerate(claim_rows(form)[:MAX_CLAIMS]):
        fields[f"claims.{index}.text"] = row["text"][:1000]
    found: dict[tuple[str, str], dict[str, str]] = {}
    for warning in deid.check_fields(fields):
        found.setdefault(
            (warning.kind, warning.text),
            {"text": warning.text, "kind": deid.kind_name(warning.kind)},
        )
    items = list(found.values())
    return render(
        request,
        "discussions/_deid_warning.html",
        {"deid_warnings": items[:MAX_DEID_SHOWN], "deid_more": max(0, len(items) - MAX_DEID_SHOWN)},
    )


@router.get("/empty", name="empty_fragment")
def empty_fragment(account: PageAccount) -> Response:
    """Nothing: htmx swaps a removed claim row with it."""
    return HTMLResponse("")


@router.post("/discussions/{discussion_id}/stance", name="stance_submit")
def stance_submit(
    request: Request, session: SessionDep, account: PageAccount, discussion_id: Id, form: FormDep
) -> Response:
    found = service.access(session, discussion_id=discussion_id, account=account)
    service.require_student(found)  # permission before the form is validated
    try:
        data = service.StanceInput.model_validate(
            {"moment": form_text(form, "moment"), "option": form_text(form, "option")}
        )
        service.record_stance(session, found=found, data=data)
    except (ValidationError, DomainError) as exc:
        context = _discussion_context(request, session, found, 1)
        if context["may_post"]:
            context.update(_composer_context(found))
        context["stance_error"] = (
            exc.message if isinstance(exc, DomainError) else "Choose one of the options."
        )
        status = exc.status_code if isinstance(exc, DomainError) else 422
        return render(request, "discussions/discussion.html", context, status_code=status)
    return RedirectResponse(
        str(absolute_for(request, "discussion_page", discussion_id=discussion_id)) + "#stance",
        status_code=303,
    )


@router.post("/discussions/{discussion_id}/phase", name="phase_submit")
def phase_submit(
    request: Request, session: SessionDep, account: PageAccount, discussion_id: Id, form: FormDep
) -> Response:
    found = service.access(session, discussion_id=discussion_id, account=account)
    service.require_faculty(found)  # permission before the form is validated
    try:
        data = service.DiscussionEdit.model_validate({"phase": form_text(form, "phase")})
    except ValidationError:
        raise Invalid("choose positions, rebuttals or closed") from None
    service.edit_discussion(session, found=found, data=data)
    return RedirectResponse(
        absolute_for(request, "discussion_page", discussion_id=discussion_id), status_code=303
    )


@router.post("/cohorts/{cohort_id}/discussions", name="discussion_create")
def discussion_create(
    request: Request, session: SessionDep, account: PageAccount, cohort_id: Id, form: FormDep
) -> Response:
    found = cohorts.managed(session, cohort_id=cohort_id, account=account)
    values = {
        "case_slug": form_text(form, "case_slug"),
        "cohort_id": found.cohort.id,
        "title": form_text(form, "title").strip() or None,
        "anonymity": form_text(form, "anonymity") or "anonymous_to_peers",
        "post_first": form_text(form, "post_first") == "on",
        "early_rebuttals": form_text(form, "early_rebuttals") == "on",
    }
    try:
        data = service.DiscussionInput.model_validate(values)
        discussion = service.open_discussion(session, data=data, account=account)
    except (ValidationError, DomainError) as exc:
        message = exc.message if isinstance(exc, DomainError) else "Choose a case to discuss."
        raise Invalid(message) from None
    return RedirectResponse(
        absolute_for(request, "discussion_page", discussion_id=discussion.id), status_code=303
    )


def open_discussion_cases(session: SessionDep) -> list[cases_service.CaseView]:
    return cases_service.list_cases(session, statuses=None, per_page=100).items


# ---- positions --------------------------------------------------------------------------


def _tree_key(
    session: SessionDep, position: Position, found: service.Access, thread: int | None
) -> tuple[Any, ...]:
    """What a position's rebuttal tree depends on, as a fragments.py key."""
    d = found.discussion
    account_id = found.account.id or 0
    if found.is_faculty:
        viewer: tuple[Any, ...] = ("faculty",)
    elif position.author_id == account_id or service.has_rebutted(
        session, position_id=position.id or 0, account_id=account_id
    ):
        viewer = ("author", account_id)  # their own posts in it name them, for them alone
    else:
        viewer = ("peer", found.membership is not None, found.is_student)
    return (
        "rebuttal-tree",
        position.id,
        thread,
        d.summary_generation,
        d.phase,
        d.early_rebuttals,
        viewer,
    )


def _position_head_context(
    session: SessionDep, position: Position, found: service.Access
) -> dict[str, Any]:
    """Everything but the rebuttal tree, for a page whose tree comes from the cache."""
    [head] = present.positions_public(session, found, [position])
    return _page_context(found, position, head, roots=[], thread=None, reply_to=None)


def _position_context(
    session: SessionDep,
    position: Position,
    found: service.Access,
    thread: int | None = None,
    reply_to: int | None = None,
) -> dict[str, Any]:
    rebuttals = service.rebuttals_of(session, position_id=position.id or 0)
    full = present.position_with_rebuttals(session, found, position, rebuttals)
    roots = full.rebuttals
    by_id: dict[int, present.RebuttalPublic] = {}

    def index(items: list[present.RebuttalPublic]) -> None:
        for item in items:
            by_id[item.id] = item
            index(item.replies)

    index(roots)
    if thread is not None:
        if thread not in by_id:
            raise service.PostNotFound(f"no rebuttal {thread} under this position")
        roots = [by_id[thread]]
    return _page_context(
        found,
        position,
        full,
        roots=roots,
        thread=thread,
        # One reply form for the page, pointed at a rebuttal by ?reply_to=, instead of a
        # form under every rebuttal: the page stays small with hundreds of replies.
        reply_to=by_id.get(reply_to) if reply_to is not None else None,
    )


def _page_context(
    found: service.Access,
    position: Position,
    p: present.PositionPublic,
    *,
    roots: list[present.RebuttalPublic],
    thread: int | None,
    reply_to: present.RebuttalPublic | None,
) -> dict[str, Any]:
    return {
        "found": found,
        "d": found.discussion,
        "p": p,
        "roots": roots,
        "thread": thread,
        "reply_to": reply_to,
        "claim_by_id": {c.id: c for c in p.claims},
        "option_labels": {o["key"]: o["label"] for o in found.version.options},
        "may_rebut": found.is_student and service.rebuttals_open(found),
        "is_author": position.author_id == found.account.id,
        "may_edit": position.author_id == found.account.id
        and found.discussion.phase != Phase.closed.value,
        "tree_depth": TREE_DEPTH,
        "kinds": ["counter", "challenge", "concede", "question"],
        "frameworks": found.frameworks,
    }


def _tree_html(request: Request, context: dict[str, Any]) -> str:
    return templates.get_template("discussions/_rebuttal_tree.html").render(
        {**context, "request": request}
    )


@router.get("/positions/{position_id}", name="position_page")
def position_page(
    request: Request,
    session: SessionDep,
    account: PageAccount,
    position_id: Id,
    thread: OptionalQueryId = None,
    reply_to: OptionalQueryId = None,
) -> Response:
    position, found = service.get_position(session, position_id=position_id, account=account)
    key = present.answer_key(request, found, "position-page", position.id, thread, reply_to)
    return answer(
        request, key, lambda: _position_page(request, session, position, found, thread, reply_to)
    )


def _position_page(
    request: Request,
    session: SessionDep,
    position: Position,
    found: service.Access,
    thread: int | None,
    reply_to: int | None,
) -> Response:
    last_event = service.last_event_id(session, discussion_id=found.discussion.id or 0)
    # The tree is the page's bulk (hundreds of rebuttals); it is rendered once per
    # generation and visibility class and shared (fragments.py). A reply form pointed at
    # one rebuttal needs that rebuttal, so it takes the long way.
    cache = fragments(request)
    key = _tree_key(session, position, found, thread) if reply_to is None else None
    tree = cache.get(key) if key is not None else None
    if tree is None:
        context = _position_context(session, position, found, thread, reply_to)
        tree = _tree_html(request, context)
        if key is not None:
            cache.put(key, tree)
    else:
        context = _position_head_context(session, position, found)
        context["thread"] = thread
    return render(
        request,
        "discussions/position.html",
        {**context, "tree_html": tree, "last_event": last_event},
    )


@router.post("/positions/{position_id}/rebuttals", name="rebuttal_create")
def rebuttal_create(
    request: Request, session: SessionDep, account: PageAccount, position_id: Id, form: FormDep
) -> Response:
    position, found = service.get_position(session, position_id=position_id, account=account)
    service.require_student(found)  # permission before the form is validated
    parent = form_text(form, "parent_id")
    claim = form_text(form, "claim_id")
    rows = claim_rows(form)
    payload = {
        "kind": form_text(form, "kind"),
        "body": form_text(form, "body"),
        # Left to the schema, which bounds ids: out of range is a 422 beside the form.
        "parent_id": parent.strip() or None,
        "claim_id": claim.strip() or None,
        "claims": _claims_payload(rows),
    }
    try:
        data = service.RebuttalInput.model_validate(payload)
        rebuttal = service.post_rebuttal(
            session,
            position=position,
            found=found,
            data=data,
            rate_limited=request.app.state.settings.rate_limits,
        )
    except (ValidationError, Invalid) as exc:
        parent_id = id_or_none(parent)
        context = _position_context(session, position, found, reply_to=parent_id)
        context.update(
            rebuttal_errors=_errors(exc),
            rebuttal_values=payload,
            rebuttal_parent=parent_id,
        )
        context["tree_html"] = _tree_html(request, context)
        return render(request, "discussions/position.html", context, status_code=422)
    url = absolute_for(request, "position_page", position_id=position_id)
    return RedirectResponse(f"{url}#rebuttal-{rebuttal.id}", status_code=303)


@router.get("/positions/{position_id}/edit", name="position_edit_page")
def position_edit_page(
    request: Request, session: SessionDep, account: PageAccount, position_id: Id
) -> Response:
    position, found = service.get_position(session, position_id=position_id, account=account)
    if position.author_id != account.id:
        raise service.NotAllowed("only its author may edit a position")
    claims = service.active_claims(session, position_ids=[position.id or 0])
    rows = [
        {"id": str(c.id), "framework": c.framework, "direction": c.direction, "text": c.text}
        for c in claims
    ]
    values = {"option": position.option_key, "summary": position.summary, "body": position.body}
    return render(
        request,
        "discussions/edit.html",
        _composer_context(found, rows=rows, values=values, position=position),
    )


@router.post("/positions/{position_id}/edit", name="position_edit_submit")
def position_edit_submit(
    request: Request, session: SessionDep, account: PageAccount, position_id: Id, form: FormDep
) -> Response:
    position, found = service.get_position(session, position_id=position_id, account=account)
    if position.author_id != account.id:  # permission before the form is validated
        raise service.NotAllowed("only its author may edit a position")
    rows = claim_rows(form)
    values = {k: form_text(form, k) for k in ("option", "summary", "body")}
    try:
        data = service.PositionEdit.model_validate({**values, "claims": _claims_payload(rows)})

        service.edit_position(session, position=position, found=found, data=data)
    except (ValidationError, Invalid) as exc:
        return render(
            request,
            "discussions/edit.html",
            _composer_context(
                found, rows=rows, values=values, errors=_errors(exc), position=position
            ),
            status_code=422,
        )
    return RedirectResponse(
        absolute_for(request, "position_page", position_id=position_id), status_code=303
    )


@router.get("/positions/{position_id}/revisions", name="revisions_page")
def revisions_page(
    request: Request, session: SessionDep, account: PageAccount, position_id: Id
) -> Response:
    position, found = service.get_position(session, position_id=position_id, account=account)
    rows = service.revisions(session, position=position, found=found)
    return render(
        request,
        "discussions/revisions.html",
        {
            "found": found,
            "position": position,
            "revisions": rows,
            "option_labels": {o["key"]: o["label"] for o in found.version.options},
        },
    )


def discussions_for(session: SessionDep, account: Account) -> list[Any]:
    return service.discussions_of(session, account=account)
