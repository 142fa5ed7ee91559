"""Request dependencies: who is asking, and the 401 when nobody is."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordBearer

from ethicsforum.accounts import service
from ethicsforum.accounts.models import Account, ApiToken, Role
from ethicsforum.db import SessionDep

# The API authenticates by bearer token only, never by cookie.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def _api_identity(
    request: Request, session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> tuple[Account, ApiToken]:
    if not token:
        raise HTTPException(401, "not signed in", headers={"WWW-Authenticate": "Bearer"})
    found = service.resolve_token(session, token=token)
    if found is None:
        raise HTTPException(401, "invalid or expired token", headers={"WWW-Authenticate": "Bearer"})
    return found


ApiIdentity = Annotated[tuple[Account, ApiToken], Depends(_api_identity)]


def _api_account(identity: ApiIdentity) -> Account:
    return identity[0]


ApiAccount = Annotated[Account, Depends(_api_account)]


def _page_viewer(request: Request) -> Account | None:
    # Browser sign-in arrives with the accounts issue; until then pages are read anonymously.
    return getattr(request.state, "account", None)


PageViewer = Annotated[Account | None, Depends(_page_viewer)]


def _admin_account(account: ApiAccount) -> Account:
    # A dependency, so permission is decided before the body is validated.
    if account.role != Role.admin.value:
        raise HTTPException(403, "only admins may do this")
    return account


AdminAccount = Annotated[Account, Depends(_admin_account)]
