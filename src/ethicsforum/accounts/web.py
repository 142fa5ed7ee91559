"""Browser sign-in state, CSRF protection and the dependencies pages use."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ethicsforum import keys
from ethicsforum.accounts import sessions
from ethicsforum.accounts.models import Account
from ethicsforum.errors import DomainError
from ethicsforum.urls import cookie_name, is_https

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


def session_cookie(request: Request) -> str | None:
    """The session cookie's value, under its name for this scheme (`__Host-` over HTTPS)."""
    return request.cookies.get(cookie_name(request.scope, sessions.COOKIE))


def set_session_cookie(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        cookie_name(request.scope, sessions.COOKIE),
        token,
        httponly=True,
        samesite="lax",
        secure=is_https(request.scope),
        path="/",
        max_age=max_age,
    )


def delete_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        cookie_name(request.scope, sessions.COOKIE),
        path="/",
        secure=is_https(request.scope),
        httponly=True,
        samesite="lax",
    )


async def signed_in(request: Request) -> sessions.SignedIn | None:
    """The browser's live session, if its cookie names one.

    On the event loop: the identity cache answers without I/O; only a miss (or a session due
    its touch) takes a thread and a short transaction of its own, never the request's.
    """
    token = session_cookie(request)
    found = None
    if token:
        idle = timedelta(minutes=request.app.state.settings.session_idle_minutes)
        found = sessions.cached(token, idle=idle)
        if found is None:
            found = await run_in_threadpool(
                sessions.looked_up, request.app.state.engine, token=token, idle=idle
            )
    request.state.signed_in = found
    return found


SignedInDep = Annotated[sessions.SignedIn | None, Depends(signed_in)]


async def page_viewer(state: SignedInDep) -> Account | None:
    return state.account if state else None


PageViewer = Annotated[Account | None, Depends(page_viewer)]


async def page_account(state: SignedInDep) -> Account:
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
    expected = _expected_csrf_token(request, state)
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


def _csrf_cookie(request: Request) -> str | None:
    """The anonymous anti-forgery cookie, under its name for this scheme."""
    return request.cookies.get(cookie_name(request.scope, CSRF_COOKIE))


def _session_csrf_token(state: sessions.SignedIn) -> str:
    # Derived from the secret key and the session's own random value: a stolen database
    # (which holds csrf_secret) is not enough to forge a signed-in form.
    return keys.token("csrf-session", state.csrf_token)


def _anonymous_csrf_token(cookie: str | None) -> str | None:
    # A signed double-submit cookie: a cookie planted by someone else (a sibling subdomain
    # over HTTP) is of no use without the token the server derives from it.
    return keys.token("csrf-anonymous", cookie) if cookie else None


def _expected_csrf_token(request: Request, state: sessions.SignedIn | None) -> str | None:
    if state is not None:
        return _session_csrf_token(state)
    return _anonymous_csrf_token(_csrf_cookie(request))


def csrf_token_for(request: Request) -> str:
    """The token this page's forms carry (field `csrf_token`, header X-CSRF-Token)."""
    state = getattr(request.state, "signed_in", None)
    if state is not None:
        return _session_csrf_token(state)
    cookie = _csrf_cookie(request) or getattr(request.state, "new_csrf_cookie", None)
    return _anonymous_csrf_token(cookie) or ""


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
        name = cookie_name(scope, CSRF_COOKIE)
        if Request(scope).cookies.get(name):
            await self.app(scope, receive, send)
            return
        value = secrets.token_urlsafe(32)
        scope.setdefault("state", {})["new_csrf_cookie"] = value
        secure = "; Secure" if is_https(scope) else ""
        cookie = f"{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}"

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
            await send(message)

        await self.app(scope, receive, send_with_cookie)
