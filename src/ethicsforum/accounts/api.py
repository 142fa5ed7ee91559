"""Accounts JSON API: tokens, the current account, and account creation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, Response

from ethicsforum.accounts import cohorts, policy, service
from ethicsforum.accounts.cohorts import CohortAccess
from ethicsforum.accounts.deps import (
    AdminAccount,
    ApiAccount,
    ApiIdentity,
    CodeJoiner,
    CohortLeader,
    ManagedCohort,
)
from ethicsforum.accounts.models import Account
from ethicsforum.accounts.ratelimit import TooManyAttempts
from ethicsforum.accounts.schemas import (
    AccountCreate,
    AccountPublic,
    CohortCreate,
    CohortPublic,
    JoinRequest,
    MemberAdd,
    MemberPublic,
    TokenPublic,
)
from ethicsforum.db import SessionDep, read_session
from ethicsforum.params import Id
from ethicsforum.urls import absolute_for

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.post("/auth/token", response_model=TokenPublic)
def issue_token(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
) -> TokenPublic:
    """Exchange a username and password for a bearer token (OAuth2 password flow)."""
    try:
        with read_session(request.app.state.engine) as reader:
            account = service.sign_in(
                session,
                reader=reader,
                username=username,
                password=password,
                address=request.client.host if request.client else "unknown",
                rate_limited=request.app.state.settings.rate_limits,
            )
    except service.BadCredentials as exc:
        raise HTTPException(401, exc.message, headers={"WWW-Authenticate": "Bearer"}) from None
    except TooManyAttempts as exc:
        raise HTTPException(429, exc.message, headers=exc.headers) from None

    token, lifetime = service.issue_token(session, account=account)
    return TokenPublic(access_token=token, expires_in=lifetime)


@router.post("/auth/revoke", status_code=204)
def revoke_token(session: SessionDep, identity: ApiIdentity) -> Response:
    """End the token this request was made with."""
    service.revoke_token(session, api_token=identity[1], account=identity[0])
    return Response(status_code=204)


@router.get("/me", response_model=AccountPublic)
def me(account: ApiAccount) -> AccountPublic:
    """The signed-in account."""
    return AccountPublic.of(account)


@router.post("/users", response_model=AccountPublic, status_code=201)
def create_user(session: SessionDep, admin: AdminAccount, body: AccountCreate) -> AccountPublic:
    """Create an account (admins only)."""
    created = service.create_account(
        session,
        new=service.NewAccount(
            username=body.username,
            password=body.password,
            role=body.role.value,
            display_name=body.display_name,
            profession=body.profession,
        ),
        by=admin.username,
    )
    return AccountPublic.of(created)


def cohort_public(
    session: SessionDep, found: CohortAccess, request: Request, viewer: Account
) -> CohortPublic:
    cohort = found.cohort
    rows = cohorts.members(session, cohort=cohort)
    if not found.manages:
        rows = [(m, a) for m, a in rows if a.id == viewer.id]
    code = cohorts.display_code(cohort.join_code) if found.manages else None
    return CohortPublic(
        id=cohort.id or 0,
        name=cohort.name,
        join_code=code,
        join_url=absolute_for(request, "join_page", code=cohort.join_code) if code else None,
        members=[
            MemberPublic(username=a.username, display_name=a.display_name, role=m.role)
            for m, a in rows
        ],
    )


@router.get("/cohorts", response_model=list[CohortPublic])
def list_cohorts(request: Request, session: SessionDep, account: ApiAccount) -> list[CohortPublic]:
    """The cohorts the signed-in account belongs to."""
    out = []
    for cohort, membership in cohorts.cohorts_of(session, account=account):
        found = CohortAccess(cohort, membership, policy.may_manage_cohort(account, membership))
        out.append(cohort_public(session, found, request, account))
    return out


@router.post("/cohorts", response_model=CohortPublic, status_code=201)
def create_cohort(
    request: Request, session: SessionDep, account: CohortLeader, body: CohortCreate
) -> CohortPublic:
    """Create a cohort; answers with its join code."""
    cohort = cohorts.create_cohort(session, name=body.name, creator=account)
    found = cohorts.access(session, cohort_id=cohort.id or 0, account=account)
    return cohort_public(session, found, request, account)


@router.post("/cohorts/join", response_model=CohortPublic)
def join_cohort(
    request: Request, session: SessionDep, account: CodeJoiner, body: JoinRequest
) -> CohortPublic:
    """Join a cohort with its code (students only; faculty are added by the cohort's faculty)."""
    cohort = cohorts.join(
        session,
        code=body.join_code,
        account=account,
        address=request.client.host if request.client else "unknown",
        rate_limited=request.app.state.settings.rate_limits,
    )
    found = cohorts.access(session, cohort_id=cohort.id or 0, account=account)
    return cohort_public(session, found, request, account)


@router.get("/cohorts/{cohort_id}", response_model=CohortPublic)
def get_cohort(
    request: Request, session: SessionDep, account: ApiAccount, cohort_id: Id
) -> CohortPublic:
    """A cohort: every member for its faculty and admins, only yourself for a student."""
    found = cohorts.access(session, cohort_id=cohort_id, account=account)
    return cohort_public(session, found, request, account)


@router.post("/cohorts/{cohort_id}/members", response_model=MemberPublic, status_code=201)
def add_member(
    session: SessionDep, found: ManagedCohort, account: ApiAccount, body: MemberAdd
) -> MemberPublic:
    """Add an account to the cohort by username."""
    membership = cohorts.add_member(
        session, cohort=found.cohort, actor=account, username=body.username
    )
    added = session.get(Account, membership.account_id)
    assert added is not None  # noqa: S101 - just added
    return MemberPublic(
        username=added.username, display_name=added.display_name, role=membership.role
    )


@router.delete("/cohorts/{cohort_id}/members/{username}", status_code=204)
def remove_member(
    session: SessionDep, found: ManagedCohort, account: ApiAccount, username: str
) -> Response:
    """Remove a member; the membership is kept as removed and the change audited."""
    cohorts.remove_member(session, cohort=found.cohort, actor=account, username=username)
    return Response(status_code=204)
