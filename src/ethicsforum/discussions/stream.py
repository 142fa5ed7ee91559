"""The Server-Sent Events stream of a discussion, rendered for each recipient.

A stream holds no database session while it waits: it checks access when it opens, then for
each announced post works out which visibility class its viewer is in (the post's author;
faculty; a classmate who may see peers; a student who has not yet posted under post-first) and
takes the fragment rendered for that class. Each event is rendered once per class in this
process (`LiveRenders`), however many streams are open: one post in a class of 200 costs a
few renders, not 200.
Every keep-alive (ETHICSFORUM_STREAM_KEEPALIVE_SECONDS, 15 s) checks the sign-in and the
access again, so a stream opened before sign-out, deactivation or removal from the cohort
ends within one keep-alive. A stream ends after ETHICSFORUM_STREAM_LIFETIME_SECONDS (30
minutes); the browser's EventSource reconnects by itself (`retry: 3000`) and is checked
afresh. Open streams are capped per sign-in and per process (events.Broker).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

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
from ethicsforum.discussions.models import Position, Rebuttal
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


@dataclass
class Viewer:
    """What decides which rendering of an event a stream's viewer receives."""

    signed: sessions.SignedIn
    faculty: bool
    # A post-first student who has not posted: peers' posts are not theirs to see yet.
    blind: bool

    @property
    def account(self) -> Account:
        return self.signed.account


@dataclass(frozen=True)
class Facts:
    """What every stream needs to know of an announced post, loaded once per event."""

    author_id: int | None
    position_id: int | None


def _facts(request: Request, event: Event) -> Facts:
    with read_session(request.app.state.engine) as session:
        if event.kind == "position":
            position = session.get(Position, event.post_id)
            if position is not None:
                return Facts(position.author_id, position.id)
        elif event.kind == "rebuttal":
            rebuttal = session.get(Rebuttal, event.post_id)
            if rebuttal is not None:
                return Facts(rebuttal.author_id, rebuttal.position_id)
    return Facts(None, None)


def visibility_class(viewer: Viewer, event: Event, facts: Facts, position_id: int | None) -> Any:
    """The key under which this viewer's rendering of the event is shared with others.

    None means this viewer is sent nothing; a key naming the viewer means a rendering of
    their own (their own post, or anything a post-first student receives before posting).
    """
    if event.kind == "phase":
        return ("phase",)
    if event.kind not in ("position", "rebuttal"):
        return ("own", viewer.account.id, position_id)
    if event.kind == "position" and position_id is not None:
        return None  # a position page's stream follows only that position's rebuttals
    if event.kind == "rebuttal" and position_id is not None and facts.position_id != position_id:
        return None
    if facts.author_id is not None and facts.author_id == viewer.account.id:
        return ("own", viewer.account.id, position_id)
    if viewer.faculty:
        return ("faculty", position_id is not None)
    if viewer.blind:
        return ("own", viewer.account.id, position_id)
    return ("peer", position_id is not None)


class LiveRenders:
    """Each event's facts and renderings, shared by this process's streams.

    Keyed by the event's id and a visibility class. The first stream to need a rendering
    starts it; every other stream of the same class awaits the same result. Only the most
    recent events are kept: an event is rendered within moments of being announced.
    """

    KEEP = 2048

    def __init__(self) -> None:
        self._results: OrderedDict[Any, asyncio.Future[Any]] = OrderedDict()
        self.renders = 0  # renderings made, for tests and benchmarks

    async def get(self, key: Any, make: Callable[[], Awaitable[Any]]) -> Any:
        future = self._results.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._results[key] = future
            while len(self._results) > self.KEEP:
                self._results.popitem(last=False)
            try:
                future.set_result(await make())
            except BaseException as exc:
                # A failed rendering is not kept: the next stream tries again.
                self._results.pop(key, None)
                future.set_exception(exc)
                future.exception()  # retrieved here, so no "never retrieved" warning
                raise
        return await asyncio.shield(future)


def live_renders(request: Request) -> LiveRenders:
    renders: LiveRenders = request.app.state.live_renders  # made by create_app
    return renders


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
) -> Viewer:
    signed = _viewer(request, touch=touch)
    with read_session(request.app.state.engine) as session:
        found = service.access(session, discussion_id=discussion_id, account=signed.account)
        if position_id is not None:
            position, _ = service.get_position(
                session, position_id=position_id, account=signed.account
            )
            if position.discussion_id != found.discussion.id:
                raise service.PostNotFound(f"no position {position_id}")
        return Viewer(signed, found.is_faculty, not service.sees_peers(session, found))


def _still_allowed(request: Request, discussion_id: int, position_id: int | None) -> Viewer | None:
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


async def _rendering(
    request: Request,
    renders: LiveRenders,
    broker: Broker,
    viewer: Viewer,
    event: Event,
    position_id: int | None,
) -> tuple[str | None, Facts]:
    """This viewer's fragment for an event, rendered once per visibility class, and the
    event's facts."""
    facts: Facts = await renders.get(
        ("facts", event.serial), lambda: broker.run_db(_facts, request, event)
    )
    key = visibility_class(viewer, event, facts, position_id)
    if key is None:
        return None, facts

    async def render() -> str | None:
        renders.renders += 1
        html: str | None = await broker.run_db(
            render_event, request, event, viewer.account, position_id
        )
        return html

    if key[0] == "own":  # nobody shares it: not worth keeping
        return await render(), facts
    html: str | None = await renders.get(("html", event.serial, key), render)
    return html, facts


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
    viewer = await run_in_threadpool(_check, request, discussion_id, position)
    broker: Broker = request.app.state.broker
    settings = request.app.state.settings
    renders = live_renders(request)
    ticket = broker.admit(viewer.signed.browser_session.id or 0)

    async def stream() -> AsyncIterator[str]:
        # The ticket is released by EventStream, however the stream ends.
        nonlocal viewer
        loop = asyncio.get_running_loop()
        ends = loop.time() + settings.stream_lifetime_seconds
        next_check = loop.time() + settings.stream_keepalive_seconds
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
                        again = viewer
                    if again is None:
                        yield ": signed out\n\n"
                        return
                    viewer = again
                    yield ": keep-alive\n\n"
                    continue
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=min(next_check, ends) - now)
                except TimeoutError:
                    continue
                try:
                    html, facts = await _rendering(
                        request, renders, broker, viewer, event, position
                    )
                except PoolTimeout:  # a missed update; the page is right on reload
                    continue
                if html:
                    yield _sse(event.kind, html)
                if (
                    viewer.blind
                    and event.kind == "position"
                    and facts.author_id == viewer.account.id
                ):
                    # Their own position arrived: from now on they see their peers'.
                    viewer = Viewer(viewer.signed, viewer.faculty, blind=False)
            # Lifetime over: the browser reconnects after `retry` and is checked afresh.
            yield ": reconnect\n\n"

    return EventStream(stream(), ticket)
