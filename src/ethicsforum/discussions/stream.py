"""The Server-Sent Events stream of a discussion, rendered for each recipient.

A stream holds no database session while it waits: it checks access when it opens, then for
each announced post opens a short session to load and render that post for its own viewer.
Every keep-alive (ETHICSFORUM_STREAM_KEEPALIVE_SECONDS, 15 s) checks the sign-in and the
access again, so a stream opened before sign-out, deactivation or removal from the cohort
ends within one keep-alive. A stream ends after ETHICSFORUM_STREAM_LIFETIME_SECONDS (30
minutes); the browser's EventSource reconnects by itself (`retry: 3000`) and is checked
afresh. Open streams are capped per sign-in and per process (events.Broker).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import Receive, Scope, Send

from ethicsforum.accounts import sessions
from ethicsforum.accounts.models import Account
from ethicsforum.accounts.web import SignInRequired, session_cookie
from ethicsforum.db import SessionDep, read_session
from ethicsforum.discussions import present, service
from ethicsforum.discussions.events import Broker, Event, StreamTicket
from ethicsforum.errors import NotFound
from ethicsforum.params import Id, OptionalQueryId
from ethicsforum.templating import templates

router = APIRouter(tags=["pages"], include_in_schema=False)

# Renderers for events other domains announce on a discussion's stream (the spotlight), so
# this module need not know them.
Renderer = Callable[[Request, Event, Account, "int | None"], "str | None"]
_renderers: dict[str, Renderer] = {}


def register_renderer(kind: str, renderer: Renderer) -> None:
    _renderers[kind] = renderer


def _viewer(request: Request, *, touch: bool = True) -> sessions.SignedIn:
    token = session_cookie(request)
    idle = timedelta(minutes=request.app.state.settings.session_idle_minutes)
    with read_session(request.app.state.engine) as session:
        signed = sessions.resolve(session, token=token, idle=idle, touch=touch) if token else None
        if signed is None:
            raise SignInRequired("sign in to follow a discussion")
        return signed


def _check(
    request: Request, discussion_id: int, position_id: int | None, touch: bool = True
) -> sessions.SignedIn:
    signed = _viewer(request, touch=touch)
    with read_session(request.app.state.engine) as session:
        found = service.access(session, discussion_id=discussion_id, account=signed.account)
        if position_id is not None:
            position, _ = service.get_position(
                session, position_id=position_id, account=signed.account
            )
            if position.discussion_id != found.discussion.id:
                raise service.PostNotFound(f"no position {position_id}")
    return signed


def _still_allowed(
    request: Request, discussion_id: int, position_id: int | None
) -> sessions.SignedIn | None:
    """The viewer again, or None once signed out, deactivated or no longer let in."""
    try:
        return _check(request, discussion_id, position_id, touch=False)
    except (SignInRequired, NotFound):
        return None


def render_event(
    request: Request, event: Event, account: Account, position_id: int | None
) -> str | None:
    """The fragment this viewer should receive for an event, or None to send nothing."""
    if event.kind in _renderers:
        return _renderers[event.kind](request, event, account, position_id)
    with read_session(request.app.state.engine) as session:
        try:
            found = service.access(session, discussion_id=event.discussion_id, account=account)
            if event.kind == "position" and position_id is None:
                position, _ = service.get_position(
                    session, position_id=event.post_id, account=account
                )
                [card] = present.positions_public(session, found, [position])
                return templates.get_template("discussions/_position_card.html").render(
                    p=card,
                    d=found.discussion,
                    request=request,
                    option_labels={o["key"]: o["label"] for o in found.version.options},
                )
            if event.kind == "rebuttal":
                rebuttal, position, _ = service.get_rebuttal(
                    session, rebuttal_id=event.post_id, account=account
                )
                if position_id is not None and position.id != position_id:
                    return None
                looked = present.lookups(session, rebuttals=[rebuttal])
                item = present.rebuttal_public(found, rebuttal, looked)
                return templates.get_template("discussions/_live_rebuttal.html").render(
                    r=item,
                    position=position,
                    on_position_page=position_id is not None,
                    request=request,
                )
            if event.kind == "phase":
                return templates.get_template("discussions/_live_phase.html").render(
                    d=found.discussion, request=request
                )
        except NotFound:
            return None
    return None


def _sse(kind: str, html: str) -> str:
    data = "\n".join(f"data: {line}" for line in html.strip().splitlines() or [""])
    return f"event: {kind}\n{data}\n\n"


class EventStream(StreamingResponse):
    """A stream whose admission ticket is released however the response ends, even when the
    client leaves before the body starts (an unstarted generator never runs its finally)."""

    def __init__(self, body: AsyncIterator[str], ticket: StreamTicket) -> None:
        super().__init__(
            body,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self.ticket = ticket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.ticket.release()


@router.get("/discussions/{discussion_id}/events", name="discussion_events")
async def discussion_events(
    request: Request,
    discussion_id: Id,
    db: SessionDep,
    position: OptionalQueryId = None,
) -> StreamingResponse:
    # The app-wide CSRF check reads the sign-in through the request's session, which would
    # otherwise stay open (a pooled connection idle in transaction) as long as the stream.
    await run_in_threadpool(db.close)
    signed = await run_in_threadpool(_check, request, discussion_id, position)
    broker: Broker = request.app.state.broker
    settings = request.app.state.settings
    ticket = broker.admit(signed.browser_session.id or 0)

    async def stream() -> AsyncIterator[str]:
        account = signed.account
        loop = asyncio.get_running_loop()
        ends = loop.time() + settings.stream_lifetime_seconds
        next_check = loop.time() + settings.stream_keepalive_seconds
        try:
            async with broker.subscribe(discussion_id) as queue:
                yield "retry: 3000\n: connected\n\n"
                while (now := loop.time()) < ends:
                    if now >= next_check:
                        next_check = now + settings.stream_keepalive_seconds
                        try:
                            again = await broker.run_db(
                                _still_allowed, request, discussion_id, position
                            )
                        except PoolTimeout:  # the server is full: check at the next one
                            again = signed
                        if again is None:
                            yield ": signed out\n\n"
                            return
                        account = again.account
                        yield ": keep-alive\n\n"
                        continue
                    try:
                        event = await asyncio.wait_for(
                            queue.get(), timeout=min(next_check, ends) - now
                        )
                    except TimeoutError:
                        continue
                    try:
                        html = await broker.run_db(render_event, request, event, account, position)
                    except PoolTimeout:  # a missed update; the page is right on reload
                        continue
                    if html:
                        yield _sse(event.kind, html)
                # Lifetime over: the browser reconnects after `retry` and is checked afresh.
                yield ": reconnect\n\n"
        finally:
            ticket.release()

    return EventStream(stream(), ticket)
