"""Accounts JSON API: tokens, the current account, and account creation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Response

from ethicsforum.accounts import service
from ethicsforum.accounts.deps import AdminAccount, ApiAccount, ApiIdentity
from ethicsforum.accounts.schemas import AccountCreate, AccountPublic, TokenPublic
from ethicsforum.db import SessionDep

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.post("/auth/token", response_model=TokenPublic)
def issue_token(
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
) -> TokenPublic:
    """Exchange a username and password for a bearer token (OAuth2 password flow)."""
    try:
        account = service.authenticate(session, username=username, password=password)
    except service.BadCredentials as exc:
        raise HTTPException(401, exc.message, headers={"WWW-Authenticate": "Bearer"}) from None
    token, lifetime = service.issue_token(session, account=account)
    return TokenPublic(access_token=token, expires_in=lifetime)


@router.post("/auth/revoke", status_code=204)
def revoke_token(session: SessionDep, identity: ApiIdentity) -> Response:
    """End the token this request was made with."""
    service.revoke_token(session, api_token=identity[1])
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
    )
    return AccountPublic.of(created)
