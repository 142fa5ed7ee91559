"""Domain errors and the handlers that answer them as JSON, a page or an inline fragment."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

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
        problems = [_describe(e) for e in exc.errors()]
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
        if is_api(request):
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=headers
            )
        title = _HTTP_TITLES.get(exc.status_code, "Something went wrong")
        message = (
            exc.detail
            if isinstance(exc.detail, str) and exc.status_code != 404
            else (
                "There is nothing at this address, or you may not see it."
                if exc.status_code == 404
                else str(exc.detail)
            )
        )
        response = _page(request, exc.status_code, title, message)
        if headers:
            response.headers.update(headers)
        return response
