"""Security headers on every response, the request body guard and the overload limiter."""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ethicsforum.errors import BUSY
from ethicsforum.urls import SESSION_COOKIE, cookie_name, is_https

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]


HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
NO_STORE = (b"cache-control", b"no-store")


def _private(scope: Scope) -> bool:
    """Whether the answer is for one person: every API answer, and every page requested with
    a session cookie or a bearer token. Static files and anonymous pages may be cached."""
    path: str = scope["path"]
    if path.startswith("/static/"):
        return False
    if path.startswith("/api/") or path == "/openapi.json":
        return True
    request = Request(scope)
    return (
        cookie_name(scope, SESSION_COOKIE) in request.cookies or "authorization" in request.headers
    )


class SecurityHeaders:
    """Pure ASGI middleware (no BaseHTTPMiddleware), so streamed responses stay streamed.

    Adds HSTS over HTTPS only (a browser ignores it over HTTP, and an HTTP-only laptop must
    not be pinned), and `Cache-Control: no-store` on whatever is meant for one person.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(HEADERS)
        if is_https(scope):
            extra.append(HSTS)
        private = _private(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if private:
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append(NO_STORE)
                present = {name.lower() for name, _ in headers}
                message["headers"] = headers + [
                    (name, value) for name, value in extra if name not in present
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


MAX_BODY_BYTES = 1024 * 1024
# NUL cannot be stored in PostgreSQL text and has no place in anything a person writes. In a
# query string or form it arrives as %00; in JSON as \u0000 after an even run of backslashes.
_NUL_IN_URL = re.compile(rb"%00")
_NUL_IN_JSON = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)


def _has_nul(body: bytes, content_type: bytes) -> bool:
    if content_type.startswith(b"application/zip"):
        # A case bundle is binary; cases/bundle.py refuses NUL in the files it unpacks.
        return False
    if b"\x00" in body:
        return True
    if content_type.startswith(b"application/x-www-form-urlencoded"):
        return _NUL_IN_URL.search(body) is not None
    if b"json" in content_type:
        return _NUL_IN_JSON.search(body) is not None
    return False


class InputGuard:
    """Refuse, before anything reads them, bodies over 1 MiB (413) and NUL characters (422).

    The body is read here (at most 1 MiB) and handed on whole, so a refusal never reaches
    the app and nothing is stored.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await _refuse(scope, send, 413, "the request body is larger than 1 MiB")
            return
        if _NUL_IN_URL.search(scope.get("query_string", b"")) or "\x00" in scope["path"]:
            await _refuse(scope, send, 422, "the address may not contain the NUL character")
            return
        if scope["method"] in {"GET", "HEAD", "OPTIONS", "DELETE"} and not length:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _refuse(scope, send, 413, "the request body is larger than 1 MiB")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if _has_nul(body, headers.get(b"content-type", b"").lower()):
            await _refuse(scope, send, 422, "text may not contain the NUL character (U+0000)")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _refuse(scope: Scope, send: Send, status: int, message: str) -> None:
    import json

    if scope["path"].startswith("/api/"):
        detail: object = (
            message if status == 413 else [{"loc": ["body"], "type": "value_error", "msg": message}]
        )
        body = json.dumps({"detail": detail}).encode()
        kind = b"application/json"
    else:
        body = f"{message[0].upper()}{message[1:]}.".encode()
        kind = b"text/plain; charset=utf-8"
    await _answer(send, status, kind, body)


async def _answer(
    send: Send,
    status: int,
    kind: bytes,
    body: bytes,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """A whole response sent straight from middleware, before the app is reached."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


BUSY_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Busy: ethicsforum</title>"
    "<link rel=stylesheet href=/static/site.css><main><h1>The server is busy</h1>"
    "<p>Too many people are asking at once. Please try again in a moment.</p></main></html>"
)


async def answer_busy(scope: Scope, send: Send, status: int = 503, retry_after: int = 1) -> None:
    """503 (or 429) with Retry-After: JSON under /api/, a small page elsewhere."""
    import json

    if scope["path"].startswith("/api/"):
        body = json.dumps({"detail": BUSY}).encode()
        kind = b"application/json"
    else:
        body = BUSY_PAGE.encode()
        kind = b"text/html; charset=utf-8"
    await _answer(send, status, kind, body, [(b"retry-after", str(retry_after).encode())])


class ConcurrencyLimit:
    """At most `max_requests` HTTP requests in flight in this process; the next gets 503.

    Answering at once is kinder than queueing: beyond the thread pool and the database
    pool (sized from the same number, db.py) a request would only wait, holding a socket,
    until some pool timed out. An event stream counts while it opens (its access check
    uses the database) and stops counting once its response starts: open streams have
    limits of their own (discussions/events.py).
    """

    def __init__(self, app: ASGIApp, max_requests: int) -> None:
        self.app = app
        self.max_requests = max_requests
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_requests:
            await answer_busy(scope, send)
            return
        # One event loop per process and no await between the test and the increment.
        self.in_flight += 1
        counted = True

        def release() -> None:
            nonlocal counted
            if counted:
                counted = False
                self.in_flight -= 1

        async def send_and_release(message: Message) -> None:
            if message["type"] == "http.response.start" and any(
                k.lower() == b"content-type" and v.startswith(b"text/event-stream")
                for k, v in message.get("headers", [])
            ):
                release()
            await send(message)

        try:
            await self.app(scope, receive, send_and_release)
        finally:
            release()
