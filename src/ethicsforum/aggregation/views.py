"""Pages: the summary, the live debate screen, the spotlight and the print-friendly brief."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ethicsforum.accounts.models import Account
from ethicsforum.accounts.web import PageAccount, safe_next
from ethicsforum.aggregation import brief, charts, service, spotlight
from ethicsforum.db import SessionDep, read_session
from ethicsforum.discussions import service as discussions
from ethicsforum.discussions import stream
from ethicsforum.discussions.announce import Event
from ethicsforum.errors import Invalid, NotFound
from ethicsforum.forms import FormDep
from ethicsforum.params import Id, id_or_none
from ethicsforum.templating import is_htmx, render, templates

router = APIRouter(tags=["pages"], include_in_schema=False)


def _cache(request: Request) -> service.SummaryCache:
    cache: service.SummaryCache = request.app.state.summaries
    return cache


def _labels(found: discussions.Access) -> dict[str, str]:
    return {str(o["key"]): str(o["label"]) for o in found.version.options}


def _summary_context(found: discussions.Access, summary: service.Summary) -> dict[str, Any]:
    labels = _labels(found)
    return {
        "found": found,
        "d": found.discussion,
        "v": found.version,
        "s": summary,
        "labels": labels,
        "letters": charts.letters(summary.option_keys),
        "bars": charts.option_bars(summary, labels),
        "heat": charts.heat_map(summary),
        "flow": charts.stance_flow(summary),
        "side_label": lambda option, direction: brief.side_label(labels, option, direction),
    }


@router.get("/discussions/{discussion_id}/summary", name="summary_page")
def summary_page(
    request: Request,
    session: SessionDep,
    account: PageAccount,
    discussion_id: Id,
    include_hidden: bool = False,
) -> Response:
    """The class's reasoning in aggregate: counts, charts, tensions, exemplary reasoning."""
    found = discussions.access(session, discussion_id=discussion_id, account=account)
    include_hidden = include_hidden and found.is_faculty
    try:
        summary = service.summarize(
            session, found=found, include_hidden=include_hidden, cache=_cache(request)
        )
    except service.PeersNotYetVisible as exc:
        return render(
            request,
            "aggregation/summary.html",
            {"found": found, "d": found.discussion, "v": found.version, "withheld": exc.message},
        )
    return render(request, "aggregation/summary.html", _summary_context(found, summary))


def _faculty_summary_context(
    request: Request, session: SessionDep, account: Account, discussion_id: Id
) -> tuple[discussions.Access, dict[str, Any]]:
    """The visible-posts summary of a discussion the account runs, as page context."""
    found = discussions.access(session, discussion_id=discussion_id, account=account)
    discussions.require_faculty(found)
    summary = service.summarize(session, found=found, cache=_cache(request))
    return found, _summary_context(found, summary)


@router.get("/discussions/{discussion_id}/debate", name="debate_page")
def debate_page(
    request: Request, session: SessionDep, account: PageAccount, discussion_id: Id
) -> Response:
    """The projector screen: large type, tensions, latest claims and the spotlight."""
    found, context = _faculty_summary_context(request, session, account, discussion_id)
    context["shown"] = spotlight.current(session, found=found)
    return render(request, "aggregation/debate.html", context)


@router.get("/discussions/{discussion_id}/debate/live", name="debate_live_fragment")
def debate_live_fragment(
    request: Request, session: SessionDep, account: PageAccount, discussion_id: Id
) -> Response:
    """The debate screen's changing part, fetched again whenever something is posted."""
    _, context = _faculty_summary_context(request, session, account, discussion_id)
    return render(request, "aggregation/_debate_live.html", context)


@router.get("/discussions/{discussion_id}/spotlight", name="spotlight_fragment")
def spotlight_fragment(
    request: Request, session: SessionDep, account: PageAccount, discussion_id: Id
) -> Response:
    """What is in the spotlight, as this viewer may see it (empty when nothing is)."""
    found = discussions.access(session, discussion_id=discussion_id, account=account)
    return render(
        request,
        "aggregation/_spotlight.html",
        {"found": found, "d": found.discussion, "shown": spotlight.current(session, found=found)},
    )


@router.post("/discussions/{discussion_id}/spotlight", name="spotlight_submit")
def spotlight_submit(
    request: Request, session: SessionDep, account: PageAccount, discussion_id: Id, form: FormDep
) -> Response:
    """Put a position or a claim in the spotlight (target "position:12" or "claim:34"), or
    take it down (action "clear")."""
    found = discussions.access(session, discussion_id=discussion_id, account=account)
    discussions.require_faculty(found)  # permission before the form is read
    target = form.get("target")
    if form.get("action") == "clear":
        spotlight.clear_spotlight(session, found=found)
    else:
        kind, _, raw_id = (target if isinstance(target, str) else "").partition(":")
        target_id = id_or_none(raw_id)
        if kind not in ("position", "claim") or target_id is None:
            raise Invalid("choose a position or a claim to put in the spotlight")
        spotlight.set_spotlight(session, found=found, kind=kind, target_id=target_id)
    if is_htmx(request):
        return render(
            request,
            "aggregation/_spotlight.html",
            {
                "found": found,
                "d": found.discussion,
                "shown": spotlight.current(session, found=found),
            },
        )
    back = form.get("next")
    fallback = request.app.url_path_for("debate_page", discussion_id=str(discussion_id))
    return RedirectResponse(
        safe_next(back if isinstance(back, str) else None, default=fallback), status_code=303
    )


@router.get("/discussions/{discussion_id}/brief", name="brief_page")
def brief_page(
    request: Request, session: SessionDep, account: PageAccount, discussion_id: Id
) -> Response:
    """The debate brief as a page made for printing (the browser's Save as PDF)."""
    _, context = _faculty_summary_context(request, session, account, discussion_id)
    return render(request, "aggregation/brief.html", context)


def render_spotlight_event(
    request: Request, event: Event, account: Account, position_id: int | None
) -> str | None:
    """The spotlight as each open screen's viewer may see it, sent over the event stream."""
    with read_session(request.app.state.engine) as session:
        try:
            found = discussions.access(session, discussion_id=event.discussion_id, account=account)
        except NotFound:
            return None
        return templates.get_template("aggregation/_spotlight.html").render(
            found=found,
            d=found.discussion,
            shown=spotlight.current(session, found=found),
            request=request,
        )


stream.register_renderer("spotlight", render_spotlight_event)


@router.get("/cases/{slug}/comparison", name="case_comparison_page")
def case_comparison_page(
    request: Request, session: SessionDep, account: PageAccount, slug: str
) -> Response:
    """Side by side, how each cohort that discussed this case reasoned."""
    view, compared = service.compare(session, slug=slug, viewer=account, cache=_cache(request))
    columns = [
        {
            "c": c,
            # The comparison's counts, small ones withheld; never the summary's own.
            "bars": charts.option_bars(
                c.summary, c.option_labels, counts=c.options, total=c.positions
            ),
            "heat": charts.heat_map(c.summary, matrix=c.frameworks),
            "letters": charts.letters(c.summary.option_keys),
            # Charts of nothing but "<5" say nothing: a sentence says it instead.
            "all_withheld": all(n is None for n in c.options.values())
            and all(
                n is None
                for by_option in c.frameworks.values()
                for cell in by_option.values()
                for n in cell.values()
            ),
        }
        for c in compared
    ]
    return render(
        request,
        "aggregation/comparison.html",
        {
            "view": view,
            "v": view.version,
            "columns": columns,
            "small_count": service.SMALL_COUNT,
        },
    )
