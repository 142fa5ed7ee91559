"""The Server-Sent Events stream of a discussion, rendered for each recipient.

A stream holds no database session while it waits: it checks access when it opens, then for
each announced change (discussions.announce) works out which visibility class its viewer is
in (the post's author; faculty; a classmate who may see peers; a student who has not yet
posted under post-first) and takes the fragment rendered for that class. Each event is
rendered once per class in this process (`LiveRenders`), however many streams are open: one
post in a class of 200 costs a few renders, not 200.

New posts are appended; an edit, a hide or restore, or an exemplary mark replaces the post
where it stands (an out-of-band swap sent as an `update` event); a stance updates its
author's other tabs. Every message carries its LiveEvent id: a browser that reconnects sends
the last one (Last-Event-ID), and a page names the last one it was rendered after (`after`),
and the stream first sends what was missed, up to REPLAY events (beyond that, a notice to
reload).
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
from jinja2 import Template
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import Receive, Scope, Send

from ethicsforum.accounts import sessions
from ethicsforum.accounts.models import Account
from ethicsforum.accounts.web import SignInRequired, session_cookie
from ethicsforum.db import read_session
from ethicsforum.discussions import present, service
from ethicsforum.discussions.announce import Event
from ethicsforum.discussions.events import Broker, StreamTicket, Subscription, events_after
from ethicsforum.discussions.models import Position, Rebuttal
from ethicsforum.errors import NotFound
from ethicsforum.params import AfterEvent, Id, OptionalQueryId
from ethicsforum.templating import templates

router = APIRouter(tags=["pages"], include_in_schema=False)

# Renderers for events other domains announce on a discussion's stream (the spotlight), so
# this module need not know them.
Renderer = Callable[[Request, Event, Account, "int | None"], "str | None"]
_renderers: dict[str, Renderer] = {}


def register_renderer(kind: str, renderer: Renderer) -> None:
    _renderers[kind] = renderer


# Missed events a reconnecting stream is sent before it asks for a reload instead.
REPLAY = 200
# The SSE event name each kind of change arrives under; "update" swaps out of band.
SSE_NAMES = {
    "position": "position",
    "rebuttal": "rebuttal",
    "phase": "phase",
    "spotlight": "spotlight",
    "position_changed": "update",
    "rebuttal_changed": "update",
    "stance": "update",
}


@dataclass
class Viewer:
    """What decides which rendering of an event a stream's viewer receives."""

    signed: sessions.SignedIn
    faculty: bool
    # A post-first student who has not posted: peers' posts are not theirs to see yet.
    blind: bool
    member: bool = True
    student: bool = True

    @property
    def account(self) -> Account:
        return self.signed.account


@dataclass(frozen=True)
class Facts:
    """What every stream needs to know of an announced change, loaded once per event:
    whose it is (the post's author, the stance's student) and which position it is under."""

    author_id: int | None
    position_id: int | None


def _facts(request: Request, event: Event) -> Facts:
    with read_session(request.app.state.engine) as session:
        if event.kind in ("position", "position_changed"):
            position = session.get(Position, event.subject_id)
            if position is not None:
                return Facts(position.author_id, position.id)
        elif event.kind in ("rebuttal", "rebuttal_changed"):
            rebuttal = session.get(Rebuttal, event.subject_id)
            if rebuttal is not None:
                return Facts(rebuttal.author_id, rebuttal.position_id)
        elif event.kind == "stance":  # its subject is the student
            return Facts(event.subject_id, None)
    return Facts(None, None)


def visibility_class(viewer: Viewer, event: Event, facts: Facts, position_id: int | None) -> Any:
    """The key under which this viewer's rendering of the event is shared with others.

    None means this viewer is sent nothing; a key naming the viewer means a rendering of
    their own (their own post, or anything a post-first student receives before posting).
    `position_id` is the position whose page holds the stream (None: the discussion page).
    """
    own = ("own", viewer.account.id, position_id)
    on_position_page = position_id is not None
    kind = event.kind
    if kind == "phase":
        return ("phase",)
    if kind == "stance":  # private to its student: their other tabs follow
        return own if facts.author_id == viewer.account.id else None
    if kind in _renderers:  # another domain's event (the spotlight)
        if viewer.faculty:
            return (kind, "faculty")
        return own if viewer.blind else (kind, "peer")
    if facts.author_id is None:  # the post is gone from view (or never was)
        return None
    if on_position_page:
        if kind == "position" or facts.position_id != position_id:
            return None  # a position page's stream follows only that position
    elif kind == "rebuttal_changed":
        return None  # the discussion page shows no rebuttal bodies
    if facts.author_id == viewer.account.id:
        return own
    if viewer.faculty:
        return ("faculty", on_position_page)
    if viewer.blind:
        return own
    return ("peer", on_position_page, viewer.member, viewer.student)


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
        return Viewer(
            signed,
            found.is_faculty,
            not service.sees_peers(session, found),
            member=found.membership is not None,
            student=found.is_student,
        )


def _still_allowed(request: Request, discussion_id: int, position_id: int | None) -> Viewer | None:
    """The viewer again, or None once signed out, deactivated or no longer let in."""
    try:
        return _check(request, discussion_id, position_id, touch=False)
    except (SignInRequired, NotFound):
        return None


def _template(name: str) -> Template:
    return templates.get_template(f"discussions/{name}")


def render_event(
    request: Request, event: Event, account: Account, position_id: int | None
) -> str | None:
    """The fragment this viewer should receive for an event, or None to send nothing."""
    if event.kind in _renderers:
        return _renderers[event.kind](request, event, account, position_id)
    with read_session(request.app.state.engine) as session:
        try:
            found = service.access(session, discussion_id=event.discussion_id, account=account)
            labels = {o["key"]: o["label"] for o in found.version.options}
            if event.kind in ("position", "position_changed"):
                position, _ = service.get_position(
                    session, position_id=event.subject_id, account=account
                )
                [card] = present.positions_public(session, found, [position])
                if position_id is None:
                    return _template("_position_card.html").render(
                        p=card,
                        d=found.discussion,
                        request=request,
                        option_labels=labels,
                        oob=event.kind == "position_changed",
                    )
                return _template("_position_article.html").render(
                    p=card,
                    d=found.discussion,
                    found=found,
                    request=request,
                    option_labels=labels,
                    is_author=position.author_id == account.id,
                    may_edit=position.author_id == account.id
                    and found.discussion.phase != "closed",
                    oob=True,
                )
            if event.kind in ("rebuttal", "rebuttal_changed"):
                rebuttal, position, _ = service.get_rebuttal(
                    session, rebuttal_id=event.subject_id, account=account
                )
                looked = present.lookups(session, rebuttals=[rebuttal])
                item = present.rebuttal_public(found, rebuttal, looked)
                [head] = present.positions_public(session, found, [position])
                return _template("_live_rebuttal.html").render(
                    r=item,
                    p=head,
                    position=position,
                    found=found,
                    claim_by_id={c.id: c for c in head.claims},
                    may_rebut=found.is_student and service.rebuttals_open(found),
                    on_position_page=position_id is not None,
                    oob=event.kind == "rebuttal_changed",
                    request=request,
                )
            if event.kind == "stance":
                return _template("_live_stance.html").render(
                    stances=service.stances_of(session, found=found),
                    option_labels=labels,
                    oob=True,
                    request=request,
                )
            if event.kind == "phase":
                return _template("_live_phase.html").render(d=found.discussion, request=request)
        except NotFound:
            return None
    return None


def _sse(event: Event | None, name: str, html: str) -> str:
    data = "\n".join(f"data: {line}" for line in html.strip().splitlines() or [""])
    head = f"id: {event.id}\n" if event is not None else ""
    return f"{head}event: {name}\n{data}\n\n"


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
        ("facts", event.id), lambda: broker.run_db(_facts, request, event)
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
    html: str | None = await renders.get(("html", event.id, key), render)
    return html, facts


def _latest(engine: Any, discussion_id: int) -> int:
    with read_session(engine) as session:
        return service.last_event_id(session, discussion_id=discussion_id)


def _last_event_id(request: Request, after: int | None) -> int | None:
    """Where the browser is: its Last-Event-ID on a reconnect, else what its page was
    rendered after; None when neither says (nothing is replayed)."""
    header = request.headers.get("last-event-id", "").strip()
    if header.isdigit() and len(header) < 19:
        return int(header)
    return after


def _reload_notice(request: Request, discussion_id: int) -> str:
    return _template("_live_reload.html").render(request=request, discussion_id=discussion_id)


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


class _Sent:
    """The ids of the events a stream has sent recently, so a replayed event that also
    arrives live (or arrives twice after a catch-up) is sent once."""

    KEEP = 1024

    def __init__(self, last: int) -> None:
        self.last = last  # the highest id sent (or known to the browser)
        self._ids: OrderedDict[int, None] = OrderedDict()

    def first_time(self, event: Event) -> bool:
        if event.id in self._ids or event.id <= self.last - self.KEEP:
            return False
        self._ids[event.id] = None
        if len(self._ids) > self.KEEP:
            self._ids.popitem(last=False)
        self.last = max(self.last, event.id)
        return True


@router.get("/discussions/{discussion_id}/events", name="discussion_events")
async def discussion_events(
    request: Request,
    discussion_id: Id,
    position: OptionalQueryId = None,
    after: AfterEvent = None,
) -> StreamingResponse:
    viewer = await run_in_threadpool(_check, request, discussion_id, position)
    broker: Broker = request.app.state.broker
    settings = request.app.state.settings
    renders = live_renders(request)
    engine = request.app.state.engine
    ticket = broker.admit(viewer.signed.browser_session.id or 0)
    since = _last_event_id(request, after)

    async def missed(last: int) -> list[Event] | None:
        """What followed `last`, or None when it is more than a stream should replay."""
        found = await broker.run_db(events_after, engine, discussion_id, last, REPLAY + 1)
        return None if len(found) > REPLAY else found

    async def stream() -> AsyncIterator[str]:
        # The ticket is released by EventStream, however the stream ends.
        nonlocal viewer
        loop = asyncio.get_running_loop()
        ends = loop.time() + settings.stream_lifetime_seconds
        next_check = loop.time() + settings.stream_keepalive_seconds
        sent = _Sent(since or 0)
        # Subscribed before the catch-up is read, so nothing falls between the two.
        subscription: Subscription
        async with broker.subscribe(discussion_id, viewer.account.id) as subscription:
            yield "retry: 3000\n: connected\n\n"
            backlog: list[Event] = []
            if since is None:
                # Nothing to replay, but a stream that falls behind later catches up from
                # here, not from the discussion's first event.
                sent.last = await broker.run_db(_latest, engine, discussion_id)
            else:
                replay = await missed(since)
                if replay is None:
                    yield _sse(None, "update", _reload_notice(request, discussion_id))
                    return
                backlog = replay
            while (now := loop.time()) < ends:
                if not backlog:
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
                    if not await subscription.wait(min(next_check, ends) - now):
                        continue
                    if subscription.behind:  # fell behind: catch up from the table
                        subscription.behind = False
                        subscription.pending.clear()
                        backlog = await broker.run_db(
                            events_after, engine, discussion_id, sent.last, 10 * REPLAY
                        )
                        if len(backlog) == 10 * REPLAY:
                            yield _sse(None, "update", _reload_notice(request, discussion_id))
                            return
                    else:
                        backlog = list(subscription.pending)
                        subscription.pending.clear()
                event = backlog.pop(0)
                if not sent.first_time(event):
                    continue
                try:
                    html, facts = await _rendering(
                        request, renders, broker, viewer, event, position
                    )
                except PoolTimeout:  # a missed update; the page is right on reload
                    continue
                if html:
                    yield _sse(event, SSE_NAMES.get(event.kind, event.kind), html)
                if (
                    viewer.blind
                    and event.kind == "position"
                    and facts.author_id == viewer.account.id
                ):
                    # Their own position arrived: from now on they see their peers'.
                    viewer = Viewer(
                        viewer.signed,
                        viewer.faculty,
                        blind=False,
                        member=viewer.member,
                        student=viewer.student,
                    )
            # Lifetime over: the browser reconnects after `retry` and is checked afresh.
            yield ": reconnect\n\n"

    return EventStream(stream(), ticket)
