"""The discussions JSON API: discussions, positions, rebuttals, revisions and stances."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import TypeAdapter

from ethicsforum.accounts import policy
from ethicsforum.accounts.deps import ApiAccount
from ethicsforum.accounts.models import Account
from ethicsforum.db import SessionDep, answer_session
from ethicsforum.discussions import present, service
from ethicsforum.discussions.models import Position, Rebuttal
from ethicsforum.discussions.schemas import (
    DiscussionPublic,
    DiscussionWithCase,
    RevisionPublic,
    StancePublic,
)
from ethicsforum.discussions.service import Access
from ethicsforum.fragments import answer
from ethicsforum.params import Id, OptionalPage
from ethicsforum.urls import absolute_url

router = APIRouter(prefix="/api/v1", tags=["discussions"])


# Dependencies: permission is decided from the path and the account before any body is read.


def _discussion(discussion_id: Id, account: ApiAccount, session: SessionDep) -> Access:
    return service.access(session, discussion_id=discussion_id, account=account)


DiscussionIn = Annotated[Access, Depends(_discussion)]


def _faculty_in(found: DiscussionIn) -> Access:
    service.require_faculty(found)
    return found


def _student_in(found: DiscussionIn) -> Access:
    service.require_student(found)
    return found


FacultyIn = Annotated[Access, Depends(_faculty_in)]
StudentIn = Annotated[Access, Depends(_student_in)]


def _position(position_id: Id, account: ApiAccount, session: SessionDep) -> tuple[Position, Access]:
    return service.get_position(session, position_id=position_id, account=account)


PositionIn = Annotated[tuple[Position, Access], Depends(_position)]


def _position_author(found: PositionIn) -> tuple[Position, Access]:
    if found[0].author_id != found[1].account.id:
        raise service.NotAllowed("only its author may edit a position")
    return found


def _position_for_rebuttal(found: PositionIn) -> tuple[Position, Access]:
    service.require_student(found[1])
    return found


def _rebuttal_author(
    rebuttal_id: Id, account: ApiAccount, session: SessionDep
) -> tuple[Rebuttal, Access]:
    rebuttal, _, found = service.get_rebuttal(session, rebuttal_id=rebuttal_id, account=account)
    if rebuttal.author_id != account.id:
        raise service.NotAllowed("only its author may edit a rebuttal")
    return rebuttal, found


def _opener(account: ApiAccount) -> Account:
    if not policy.may_create_cohort(account):
        raise HTTPException(403, "only faculty and admins open discussions")
    return account


@router.post("/discussions", response_model=DiscussionPublic, status_code=201)
def open_discussion(
    session: SessionDep,
    account: Annotated[Account, Depends(_opener)],
    body: service.DiscussionInput,
) -> DiscussionPublic:
    """Open a discussion of a case (pinned to its current version) for a cohort."""
    discussion = service.open_discussion(session, data=body, account=account)
    return DiscussionPublic.of(discussion, body.case_slug)


@router.get("/discussions/{discussion_id}", response_model=DiscussionWithCase)
def get_discussion(request: Request, found: DiscussionIn) -> DiscussionWithCase:
    """A discussion with its case at the pinned version."""
    return DiscussionWithCase.build(found, base_url=absolute_url(request, "/"))


@router.patch("/discussions/{discussion_id}", response_model=DiscussionPublic)
def edit_discussion(
    request: Request, session: SessionDep, found: FacultyIn, body: service.DiscussionEdit
) -> DiscussionPublic:
    """Rename a discussion or move it between phases."""
    discussion = service.edit_discussion(session, found=found, data=body)
    return DiscussionPublic.of(discussion, found.case.slug)


@router.get("/discussions/{discussion_id}/positions", response_model=list[present.PositionPublic])
def list_positions(
    request: Request,
    session: SessionDep,
    found: DiscussionIn,
    page: OptionalPage = None,
    per_page: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    """Positions in posting order (all, or one page with ?page=)."""
    limit, offset = (per_page, (page - 1) * per_page) if page else (None, 0)

    def build() -> Response:
        positions = service.positions_of(session, found=found, limit=limit, offset=offset)
        items = present.positions_public(session, found, positions)
        return Response(_POSITION_LIST.dump_json(items), media_type="application/json")

    key = present.answer_key(request, found, "positions-api", limit, offset)
    return answer(request, key, build)


_POSITION_LIST = TypeAdapter(list[present.PositionPublic])


@router.post(
    "/discussions/{discussion_id}/positions", response_model=present.PositionPublic, status_code=201
)
def post_position(
    request: Request, session: SessionDep, found: StudentIn, body: service.PositionInput
) -> present.PositionPublic:
    """Post your position: an option, a summary, a body and 1 to 8 claims."""
    position = service.post_position(
        session, found=found, data=body, rate_limited=request.app.state.settings.rate_limits
    )
    with answer_session(request) as reader:
        return present.positions_public(reader, found, [position])[0]


@router.post("/discussions/{discussion_id}/stance", response_model=StancePublic)
def record_stance(session: SessionDep, found: StudentIn, body: service.StanceInput) -> StancePublic:
    """Record your initial (before posting) or final option."""
    stance = service.record_stance(session, found=found, data=body)
    return StancePublic(
        moment=stance.moment, option=stance.option_key, recorded_at=stance.recorded_at
    )


@router.get("/positions/{position_id}", response_model=present.PositionWithRebuttals)
def get_position(session: SessionDep, found: PositionIn) -> present.PositionWithRebuttals:
    """A position with its rebuttals as a tree."""
    position, access = found
    rebuttals = service.rebuttals_of(session, position_id=position.id or 0)
    return present.position_with_rebuttals(session, access, position, rebuttals)


@router.patch("/positions/{position_id}", response_model=present.PositionPublic)
def edit_position(
    request: Request,
    session: SessionDep,
    found: Annotated[tuple[Position, Access], Depends(_position_author)],
    body: service.PositionEdit,
) -> present.PositionPublic:
    """Edit your position; the previous text is kept as a revision."""
    position = service.edit_position(session, position=found[0], found=found[1], data=body)
    with answer_session(request) as reader:
        return present.positions_public(reader, found[1], [position])[0]


@router.get("/positions/{position_id}/revisions", response_model=list[RevisionPublic])
def list_revisions(session: SessionDep, found: PositionIn) -> list[RevisionPublic]:
    """Earlier versions of a position, newest first (its author, faculty and admins)."""
    rows = service.revisions(session, position=found[0], found=found[1])
    return [
        RevisionPublic(
            edited_at=r.replaced_at,
            option=r.option_key,
            summary=r.summary,
            body=r.body,
            claims=r.claims,
        )
        for r in rows
    ]


@router.post(
    "/positions/{position_id}/rebuttals", response_model=present.RebuttalPublic, status_code=201
)
def post_rebuttal(
    request: Request,
    session: SessionDep,
    found: Annotated[tuple[Position, Access], Depends(_position_for_rebuttal)],
    body: service.RebuttalInput,
) -> present.RebuttalPublic:
    """Rebut a position, one of its claims (claim_id) or another rebuttal (parent_id)."""
    position, access = found
    rebuttal = service.post_rebuttal(
        session,
        position=position,
        found=access,
        data=body,
        rate_limited=request.app.state.settings.rate_limits,
    )
    with answer_session(request) as reader:
        looked = present.lookups(reader, rebuttals=[rebuttal])
    return present.rebuttal_public(access, rebuttal, looked)


@router.patch("/rebuttals/{rebuttal_id}", response_model=present.RebuttalPublic)
def edit_rebuttal(
    request: Request,
    session: SessionDep,
    found: Annotated[tuple[Rebuttal, Access], Depends(_rebuttal_author)],
    body: service.RebuttalEdit,
) -> present.RebuttalPublic:
    """Edit your rebuttal; the previous text is kept as a revision."""
    rebuttal = service.edit_rebuttal(session, rebuttal=found[0], found=found[1], data=body)
    with answer_session(request) as reader:
        looked = present.lookups(reader, rebuttals=[rebuttal])
    return present.rebuttal_public(found[1], rebuttal, looked)
