"""Browser sign-in state, CSRF protection and the dependencies pages use."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ethicsforum.accounts import sessions
from ethicsforum.accounts.models import Account
from ethicsforum.db import SessionDep
from ethicsforum.errors import DomainError

CSRF_COOKIE = "ef_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class SignInRequired(DomainError):
    """The page needs a signed-in account; answered with a redirect to the sign-in page."""

    status_code = 401
    title = "Please sign in"
    redirect_to_sign_in = True


class CsrfRefused(DomainError):
    status_code = 403
    title = "Request refused"


def signed_in(request: Request, db: SessionDep) -> sessions.SignedIn | None:
    """The browser's live session, if its cookie names one."""
    token = request.cookies.get(sessions.COOKIE)
    found = None
    if token:
        idle = timedelta(minutes=request.app.state.settings.session_idle_minutes)
        found = sessions.resolve(db, token=token, idle=idle)
    request.state.signed_in = found
    return found


SignedInDep = Annotated[sessions.SignedIn | None, Depends(signed_in)]


def page_viewer(state: SignedInDep) -> Account | None:
    return state.account if state else None


PageViewer = Annotated[Account | None, Depends(page_viewer)]


def page_account(state: SignedInDep) -> Account:
    if state is None:
        raise SignInRequired("sign in to see this page")
    return state.account


PageAccount = Annotated[Account, Depends(page_account)]


def _same_origin(request: Request, origin: str) -> bool:
    parts = urlsplit(origin)
    return f"{parts.scheme}://{parts.netloc}" == f"{request.url.scheme}://{request.url.netloc}"


async def csrf_protect(request: Request, state: SignedInDep) -> None:
    """Refuse unsafe cookie-carrying requests from other sites or without the form's token.

    Applied to the whole app. The JSON API is exempt because it authenticates by bearer
    token only, which a browser never attaches on its own.
    """
    if request.method in SAFE_METHODS or request.url.path.startswith("/api/"):
        return
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in {"same-origin", "none"}:
        raise CsrfRefused("this form was sent from another site")
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null" and not _same_origin(request, origin):
        raise CsrfRefused("this form was sent from another site")
    expected = state.csrf_token if state else request.cookies.get(CSRF_COOKIE)
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not expected or not sessions.tokens_match(expected, given):
        raise CsrfRefused(
            "this form has expired or is missing its security token; reload the page and try again"
        )


def csrf_token_for(request: Request) -> str:
    state = getattr(request.state, "signed_in", None)
    if state is not None:
        return str(state.csrf_token)
    return str(request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_cookie", ""))


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target on this site only: a path, never another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def login_url(request: Request) -> str:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(path, safe='')}"


class CsrfCookie:
    """Gives every browser without one a random anti-forgery cookie for anonymous forms.

    Signed-in forms use a token tied to the server-side session instead.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(("/api/", "/static/")):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        cookie_header = headers.get(b"cookie", b"").decode("latin-1")
        if f"{CSRF_COOKIE}=" in cookie_header:
            await self.app(scope, receive, send)
            return
        value = secrets.token_urlsafe(32)
        scope.setdefault("state", {})["new_csrf_cookie"] = value
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        cookie = f"{CSRF_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax{secure}"

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
            await send(message)

        await self.app(scope, receive, send_with_cookie)
