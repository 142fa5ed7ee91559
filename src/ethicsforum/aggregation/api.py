"""The aggregation JSON API: the summary, the spotlight and the discussion's exports."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from ethicsforum import security_log
from ethicsforum.accounts.deps import ApiAccount
from ethicsforum.aggregation import brief, service, spotlight
from ethicsforum.db import SessionDep
from ethicsforum.discussions import present
from ethicsforum.discussions import service as discussions
from ethicsforum.discussions.service import Access
from ethicsforum.fragments import answer
from ethicsforum.moderation import participation
from ethicsforum.params import BodyId, Id

router = APIRouter(prefix="/api/v1", tags=["aggregation"])


# Permission is decided from the path and the account before any body is read.
def _discussion(discussion_id: Id, account: ApiAccount, session: SessionDep) -> Access:
    return discussions.access(session, discussion_id=discussion_id, account=account)


DiscussionIn = Annotated[Access, Depends(_discussion)]


def _faculty_in(found: DiscussionIn) -> Access:
    discussions.require_faculty(found)
    return found


FacultyIn = Annotated[Access, Depends(_faculty_in)]


def summary_cache(request: Request) -> service.SummaryCache:
    cache: service.SummaryCache = request.app.state.summaries
    return cache


@router.get(
    "/discussions/{discussion_id}/summary",
    responses={200: {"content": {"application/json": {}}}},
)
def get_summary(
    request: Request,
    session: SessionDep,
    found: DiscussionIn,
    include_hidden: bool = False,
) -> Response:
    """The class's reasoning in aggregate; faculty may count hidden posts too."""

    def build() -> Response:
        summary = service.summarize(
            session, found=found, include_hidden=include_hidden, cache=summary_cache(request)
        )
        return Response(summary.json_bytes(), media_type="application/json")

    key = present.answer_key(request, found, "summary-api", include_hidden)
    return answer(request, key, build)


class SpotlightInput(BaseModel):
    type: Literal["position", "claim"]
    id: BodyId


@router.get("/discussions/{discussion_id}/spotlight")
def get_spotlight(session: SessionDep, found: DiscussionIn) -> dict[str, Any] | None:
    """What faculty have put in front of the room, or null."""
    shown = spotlight.current(session, found=found)
    return shown.public() if shown else None


@router.put("/discussions/{discussion_id}/spotlight")
def put_spotlight(
    request: Request,
    session: SessionDep,
    found: FacultyIn,
    body: SpotlightInput,
) -> dict[str, Any] | None:
    """Put one position or claim in front of the room; every open screen follows."""
    spotlight.set_spotlight(session, found=found, kind=body.type, target_id=body.id)
    shown = spotlight.current(session, found=found)
    return shown.public() if shown else None


@router.delete("/discussions/{discussion_id}/spotlight", status_code=204)
def delete_spotlight(request: Request, session: SessionDep, found: FacultyIn) -> Response:
    """Take the spotlight down."""
    spotlight.clear_spotlight(session, found=found)
    return Response(status_code=204)


@router.get(
    "/discussions/{discussion_id}/export",
    responses={200: {"content": {"text/csv": {}, "text/markdown": {}, "application/json": {}}}},
)
def export_discussion(
    request: Request,
    session: SessionDep,
    found: FacultyIn,
    format: Annotated[str, Query(pattern="^(markdown|csv|json)$")] = "markdown",  # noqa: A002
) -> Response:
    """The debate brief (markdown), participation per student (csv) or everything (json)."""
    discussion_id = found.discussion.id
    if format in {"csv", "json"}:  # the ones with students' names in them
        security_log.event(
            "export_with_names",
            kind=f"discussion_{format}",
            discussion_id=discussion_id,
            cohort_id=found.cohort.id,
            username=found.account.username,
        )
    if format == "csv":
        rows = participation.participation(session, found=found)
        return Response(
            participation.to_csv(rows, frameworks=found.frameworks),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="participation-{discussion_id}.csv"'
            },
        )
    if format == "markdown":
        summary = service.summarize(session, found=found, cache=summary_cache(request))
        return Response(
            brief.markdown(session, found=found, summary=summary),
            media_type="text/markdown; charset=utf-8",
            headers={"Content-Disposition": f'inline; filename="brief-{discussion_id}.md"'},
        )
    return Response(
        brief.everything_json(session, found=found),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="discussion-{discussion_id}.json"'},
    )


@router.get("/cases/{slug}/comparison")
def case_comparison(
    request: Request, session: SessionDep, account: ApiAccount, slug: str
) -> dict[str, Any]:
    """How each cohort that discussed this case reasoned: option counts and the framework x
    option matrix per discussion, side by side; counts under 5 are null."""
    view, compared = service.compare(
        session, slug=slug, viewer=account, cache=summary_cache(request)
    )
    return {
        "slug": view.case.slug,
        "title": view.version.title,
        "suppressed_below": service.SMALL_COUNT,
        "discussions": [c.public() for c in compared],
    }
