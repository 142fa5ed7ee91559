"""Request dependencies: who is asking, and the 401 when nobody is."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool

from ethicsforum.accounts import cohorts, policy, service
from ethicsforum.accounts.cohorts import CohortAccess
from ethicsforum.accounts.models import Account, ApiToken
from ethicsforum.db import SessionDep
from ethicsforum.params import Id

# The API authenticates by bearer token only, never by cookie.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def _api_identity(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> tuple[Account, ApiToken]:
    # On the event loop: the identity cache answers without I/O; only a miss takes a thread
    # (and a short read transaction of its own, never the request's, which may be a write).
    if not token:
        raise HTTPException(401, "not signed in", headers={"WWW-Authenticate": "Bearer"})
    found = service.cached_token(token)
    if found is None:
        found = await run_in_threadpool(
            service.looked_up_token, request.app.state.engine, token=token
        )
    if found is None:
        raise HTTPException(401, "invalid or expired token", headers={"WWW-Authenticate": "Bearer"})
    return found


ApiIdentity = Annotated[tuple[Account, ApiToken], Depends(_api_identity)]


async def _api_account(identity: ApiIdentity) -> Account:
    return identity[0]


ApiAccount = Annotated[Account, Depends(_api_account)]


def _admin_account(account: ApiAccount) -> Account:
    # A dependency, so permission is decided before the body is validated.
    if not policy.may_create_accounts(account):
        raise HTTPException(403, "only admins may do this")

    return account


AdminAccount = Annotated[Account, Depends(_admin_account)]


def _cohort_leader(account: ApiAccount) -> Account:
    if not policy.may_create_cohort(account):
        raise HTTPException(403, "only faculty and admins create cohorts")
    return account


CohortLeader = Annotated[Account, Depends(_cohort_leader)]


def _code_joiner(request: Request, account: ApiAccount) -> Account:
    # Before the body is read: a faculty account learns nothing about any code it sends.
    cohorts.require_code_joiner(
        account, address=request.client.host if request.client else "unknown"
    )
    return account


CodeJoiner = Annotated[Account, Depends(_code_joiner)]


def _case_writer(account: ApiAccount) -> Account:
    if not policy.may_write_cases(account):
        raise HTTPException(403, "only faculty, committee members and admins write cases")
    return account


CaseWriter = Annotated[Account, Depends(_case_writer)]


def _managed_cohort(cohort_id: Id, account: ApiAccount, session: SessionDep) -> CohortAccess:
    # A dependency, so a member who may not manage gets 403 whatever body they sent.
    return cohorts.managed(session, cohort_id=cohort_id, account=account)


ManagedCohort = Annotated[CohortAccess, Depends(_managed_cohort)]
