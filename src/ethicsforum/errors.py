"""Domain errors and the handlers that answer them as JSON, a page or an inline fragment."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

BUSY = "the server is busy; please try again in a moment"


class DomainError(Exception):
    """A rule of the product was broken; subclasses say which and with what status."""

    status_code = 400
    title = "That did not work"
    # Pages answer this error by sending the browser to the sign-in page.
    redirect_to_sign_in = False

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    @property
    def headers(self) -> dict[str, str]:
        retry_after = getattr(self, "retry_after", None)
        return {"Retry-After": str(retry_after)} if retry_after is not None else {}


class NotFound(DomainError):
    """Absent, or not visible to this user: the two must look the same."""

    status_code = 404
    title = "Not found"


class Conflict(DomainError):
    status_code = 409
    title = "Conflict"


class NotAllowed(DomainError):
    """Signed in, and may know the thing exists, but may not do this to it."""

    status_code = 403
    title = "Not allowed"


class Invalid(DomainError):
    """Input that passed the schema but breaks a rule; carries every problem."""

    status_code = 422
    title = "Please correct the following"

    def __init__(self, message: str, problems: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.problems = problems or []


class ErrorDetail(BaseModel):
    """Every refusal of the API: a message, or (413, some 409s) a list of problems."""

    detail: str | list[dict[str, Any]]


class Problem(BaseModel):
    """One problem of a 422, in FastAPI's shape; `input` and `ctx` may come with it."""

    loc: list[str | int]
    msg: str
    type: str


class Problems(BaseModel):
    """A 422: every problem with what was sent."""

    detail: list[Problem]


# Documented on every API operation (main.py includes the API routers with it): any of them
# may be asked without a token, by a role that may not, about a row that is not there or not
# the caller's, in a state that forbids it, too large, too often, or with bad input.
API_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorDetail, "description": "The body could not be read (not UTF-8, not JSON)"},
    401: {"model": ErrorDetail, "description": "No valid bearer token"},
    403: {"model": ErrorDetail, "description": "This role may not do this"},
    404: {"model": ErrorDetail, "description": "Absent, or not visible to this account"},
    405: {"model": ErrorDetail, "description": "Not a method of this address (see Allow)"},
    409: {"model": ErrorDetail, "description": "In conflict with the current state"},
    413: {"model": ErrorDetail, "description": "Body larger than 1 MiB"},
    422: {"model": Problems, "description": "Invalid input, every problem listed"},
    429: {"model": ErrorDetail, "description": "Rate limited (see Retry-After)"},
}


def errors_are_json(document: dict[str, Any]) -> dict[str, Any]:
    """Document every 4xx/5xx answer as JSON with its schema, which it is.

    FastAPI files an operation's error models under its response class's media type, so the
    text exports would claim `text/plain` refusals; and a route's own description-only entry
    would leave the body undocumented.
    """
    for operation in (op for item in document.get("paths", {}).values() for op in item.values()):
        for status, response in operation.get("responses", {}).items():
            if status[:1] not in ("4", "5"):
                continue
            content = response.get("content")
            if not content:
                # A route's own `responses=` entry with only a description replaces ours.
                name = "Problems" if status == "422" else "ErrorDetail"
                schema = {"$ref": f"#/components/schemas/{name}"}
                response["content"] = {"application/json": {"schema": schema}}
            elif "application/json" not in content:
                response["content"] = {"application/json": next(iter(content.values()))}
    return document


def _problem(problem: dict[str, Any]) -> dict[str, Any]:
    return {"loc": ["body"], "type": "value_error", **problem}


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _page(
    request: Request, status: int, title: str, message: str, problems: list[str] | None = None
) -> Response:
    from ethicsforum.templating import templates

    return templates.TemplateResponse(
        request,
        "errors/error.html",
        {"status": status, "title": title, "message": message, "problems": problems or []},
        status_code=status,
    )


_HTTP_TITLES = {
    400: "Bad request",
    401: "Please sign in",
    403: "Not allowed",
    404: "Page not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    429: "Too many requests",
}


NOTHING_HERE = "There is nothing at this address, or you may not see it."


def _describe(error: dict[str, Any]) -> str:
    loc = [str(p) for p in error.get("loc", ()) if p not in ("query", "body", "path", "form")]
    where = ".".join(loc)
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg"))


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if is_api(request):
            # Invalid, and conflicts that carry a list (a bundle's clashes, unaccepted
            # de-identification warnings), answer with every problem in FastAPI's shape.
            problems = getattr(exc, "problems", None)
            if exc.status_code == 422:
                # Always FastAPI's shape, as the contract says, even for a single message.
                problems = [_problem(p) for p in problems or [{"msg": exc.message}]]
            if problems:
                return JSONResponse(
                    {"detail": problems}, status_code=exc.status_code, headers=exc.headers
                )
            return JSONResponse(
                {"detail": exc.message}, status_code=exc.status_code, headers=exc.headers
            )
        if exc.redirect_to_sign_in:
            from ethicsforum.accounts.web import login_url

            target = login_url(request)
            if request.headers.get("HX-Request") == "true":
                return Response(status_code=204, headers={"HX-Redirect": target})
            return RedirectResponse(target, status_code=303)
        problems = [str(p.get("msg")) for p in getattr(exc, "problems", [])]
        response = _page(request, exc.status_code, exc.title, exc.message, problems)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(PoolTimeout)
    async def _pool_timeout(request: Request, exc: PoolTimeout) -> Response:
        # Every database connection stayed busy for the pool's whole (short) timeout: the
        # server is full, which is no fault of the request. Answered like the limiter does.
        headers = {"Retry-After": "1"}
        if is_api(request):
            return JSONResponse({"detail": BUSY}, status_code=503, headers=headers)
        response = _page(request, 503, "The server is busy", BUSY[0].upper() + BUSY[1:] + ".")
        response.headers.update(headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        if is_api(request):
            # Written with ASCII escapes: an echoed input holding a lone surrogate ("\\ud800",
            # which no UTF-8 can carry) must not turn a 422 into a 500.
            body = json.dumps({"detail": jsonable_encoder(exc.errors())})
            return Response(body, status_code=422, media_type="application/json")
        errors = exc.errors()
        if errors and all(tuple(e.get("loc", ()))[:1] == ("path",) for e in errors):
            # An id in a page's address that no row could have (0, -1, 20 digits): the page
            # cannot exist, so it answers like one that does not.
            return _page(request, 404, _HTTP_TITLES[404], NOTHING_HERE)
        problems = [_describe(e) for e in errors]
        return _page(
            request,
            422,
            "Please correct the following",
            "Some of what was sent could not be used.",
            problems,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            # The router names only the first route that matched the path; list them all.
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        if is_api(request):
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=headers
            )
        title = _HTTP_TITLES.get(exc.status_code, "Something went wrong")
        message = (
            exc.detail
            if isinstance(exc.detail, str) and exc.status_code != 404
            else (NOTHING_HERE if exc.status_code == 404 else str(exc.detail))
        )
        response = _page(request, exc.status_code, title, message)
        if headers:
            response.headers.update(headers)
        return response


def internal_error(request: Request) -> Response:
    """The answer to a failure nobody foresaw: JSON under /api/, else a page in the site's style."""
    if is_api(request):
        return JSONResponse({"detail": "internal error"}, status_code=500)
    message = "Something went wrong on our side. It has been logged; please try again later."
    try:
        return _page(request, 500, "Something went wrong", message)
    except Exception:
        # The page itself failed (a template or the sign-in it shows): a plain page, no less.
        log.exception("the error page could not be rendered")
        title = "Something went wrong"
        body = f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{message}</p>"
        return Response(body, status_code=500, media_type="text/html")


class LastResort:
    """Turn an unexpected exception into a 500 answer that still carries the security headers.

    Starlette's own ServerErrorMiddleware sits outside every middleware we add, so its plain
    "Internal Server Error" leaves without the headers SecurityHeaders adds; this one sits
    just inside SecurityHeaders. It logs the traceback with the request's method and path
    and does not re-raise (the log line is the record). When the response had already
    started (a stream), nothing more can be sent and the exception goes on to the server.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            log.exception("unexpected error answering %s %s", scope["method"], scope["path"])
            if started:
                raise
            response = internal_error(Request(scope, receive))
            await response(scope, receive, send)


@dataclass(frozen=True)
class _Routes:
    """Every route's address pattern and methods, and the methods of each literal address."""

    patterns: list[tuple[Any, frozenset[str]]]
    literal: dict[str, frozenset[str]]


def _routes(app: Any) -> _Routes:
    """The app's routes, read once per app."""
    found: _Routes | None = getattr(app.state, "route_methods", None)
    if found is None:
        found = _Routes([], {})

        def walk(routes: Any) -> None:
            for route in routes:
                expand = getattr(route, "effective_candidates", None)
                if expand is not None:
                    walk(expand())
                elif getattr(route, "methods", None) and getattr(route, "path_regex", None):
                    methods = frozenset(route.methods)
                    found.patterns.append((route.path_regex, methods))
                    if "{" not in route.path:
                        literal = found.literal
                        literal[route.path] = literal.get(route.path, frozenset()) | methods

        walk(app.routes)
        app.state.route_methods = found
    return found


def allowed_methods(request: Request) -> list[str]:
    path = request.url.path
    found = set().union(*(m for regex, m in _routes(request.app).patterns if regex.match(path)))
    return sorted(found)


class LiteralApiPaths:
    """Under /api/, a literal route's address (/cohorts/join) is that resource alone.

    Another method there answers 405 with Allow, instead of falling through to a route with a
    parameter that takes "join" for an id (a 422) or "import" for a slug (a 404).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            # A literal route's pattern matches its own path only: one look-up per request,
            # not a pass over every route's pattern.
            allowed = _routes(scope["app"]).literal.get(scope["path"])
            if allowed and scope["method"] not in allowed:
                allow = ", ".join(sorted(allowed))
                response = JSONResponse(
                    {"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": allow}
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
