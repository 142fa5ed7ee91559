"""Live updates: a post is announced after it commits and reaches every open stream.

On PostgreSQL the announcement is a NOTIFY on one channel, and every server process LISTENs
on it, so a stream held by any worker hears a post made through any other; nothing
home-made sits between the workers. On SQLite (one process) announcements go straight to
this process's streams. Announcements carry only ids: each stream loads and renders the
post for its own viewer, so anonymity and visibility rules apply per recipient.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from ethicsforum.config import STREAM_DB_SLOTS
from ethicsforum.db import listen_url
from ethicsforum.errors import BUSY, DomainError

CHANNEL = "ethicsforum_events"
QUEUE_SIZE = 100
log = logging.getLogger(__name__)
_serials = itertools.count(1)
T = TypeVar("T")


class TooManyStreams(DomainError):
    """One browser session already holds its share of open streams (a tab too many)."""

    status_code = 429
    title = "Too many live views"
    retry_after = 15


class StreamsFull(DomainError):
    """This server process holds as many open streams as it is allowed."""

    status_code = 503
    title = "The server is busy"
    retry_after = 1


class StreamTicket:
    """One admitted stream; released exactly once, however the stream ends."""

    def __init__(self, broker: Broker, owner: int) -> None:
        self._broker = broker
        self.owner = owner
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._broker._release(self.owner)


@dataclass(frozen=True)
class Event:
    discussion_id: int
    kind: str  # "position", "rebuttal" or "phase"
    post_id: int
    # One number per announcement heard by this process, so two announcements of the same
    # post (a post, then its edit) are never taken for one when renderings are shared.
    serial: int = field(default_factory=lambda: next(_serials), compare=False)


class Broker:
    """This process's open streams, by discussion, and their limits.

    At most `max_streams` streams per process (503 beyond) and `per_session` per browser
    session (429 beyond: a sixth tab gets no live updates rather than closing another tab's).
    Streams do their database work (access re-checks, rendering) through STREAM_DB_SLOTS
    connections at once, which the pool counts (Settings.pool_capacity).
    """

    def __init__(self, engine: Engine, *, max_streams: int = 1000, per_session: int = 5) -> None:
        self.engine = engine
        self.max_streams = max_streams
        self.per_session = per_session
        self._open: dict[int, int] = {}
        self._open_total = 0
        # Made here, bound to the running loop on first use (Python 3.10+).
        self._db_slots = asyncio.Semaphore(STREAM_DB_SLOTS)
        self.uses_postgres = engine.dialect.name == "postgresql"
        self._notifier: Any = None  # PostgreSQL: this process's connection for NOTIFY
        self._notify_lock = threading.Lock()
        self._streams: dict[int, set[asyncio.Queue[Event]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.uses_postgres:
            self._listener = asyncio.create_task(self._listen())
        else:
            self.listening.set()

    async def stop(self) -> None:
        with self._notify_lock:
            if self._notifier is not None:
                with contextlib.suppress(Exception):
                    self._notifier.close()
                self._notifier = None
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener

    async def _listen(self) -> None:
        import psycopg

        url = listen_url(self.engine)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    async for note in conn.notifies():
                        self._deliver(_decode(note.payload))
            except asyncio.CancelledError:
                raise
            except Exception:  # the database went away: keep trying, streams stay open
                self.listening.clear()
                log.warning("live updates: lost the LISTEN connection; retrying", exc_info=True)
                await asyncio.sleep(2)

    # -- streams ---------------------------------------------------------------------------

    def admit(self, owner: int) -> StreamTicket:
        """Count a new stream for a browser session, or refuse it (TooManyStreams, StreamsFull)."""
        if self._open.get(owner, 0) >= self.per_session:
            raise TooManyStreams(
                f"at most {self.per_session} live views per sign-in; close another tab"
            )
        if self._open_total >= self.max_streams:
            raise StreamsFull(BUSY)
        self._open[owner] = self._open.get(owner, 0) + 1
        self._open_total += 1
        return StreamTicket(self, owner)

    def _release(self, owner: int) -> None:
        self._open_total -= 1
        left = self._open.get(owner, 1) - 1
        if left:
            self._open[owner] = left
        else:
            self._open.pop(owner, None)

    @property
    def open_streams(self) -> int:
        return self._open_total

    async def run_db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a stream's database work in the thread pool, through the streams' slots."""
        async with self._db_slots:
            return await run_in_threadpool(fn, *args)

    @contextlib.asynccontextmanager
    async def subscribe(self, discussion_id: int) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self._streams.setdefault(discussion_id, set()).add(queue)
        try:
            yield queue
        finally:
            streams = self._streams.get(discussion_id, set())
            streams.discard(queue)
            if not streams:
                self._streams.pop(discussion_id, None)

    def _deliver(self, event: Event | None) -> None:
        if event is None:
            return
        for queue in list(self._streams.get(event.discussion_id, ())):
            with contextlib.suppress(asyncio.QueueFull):  # a stalled reader misses events
                queue.put_nowait(event)

    # -- publishing ------------------------------------------------------------------------

    def publish(self, event: Event) -> None:
        """Announce a committed change; callable from worker threads.

        On PostgreSQL through one connection of the process's own, outside the pool: the
        request announcing its post still holds its pooled connection, and taking a second
        one from the pool would let a busy class wait on itself for connections.
        """
        if self.uses_postgres:
            payload = _encode(event)
            with self._notify_lock:
                for attempt in (1, 2):
                    try:
                        if self._notifier is None or self._notifier.closed:
                            self._notifier = _connect_notifier(self.engine)
                        self._notifier.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                        return
                    except Exception:
                        self._notifier = None
                        if attempt == 2:
                            raise
        elif self._loop is not None:
            self._loop.call_soon_threadsafe(self._deliver, event)


def _libpq_url(engine: Engine) -> str:
    """The engine's database as psycopg's own connections (LISTEN, NOTIFY) name it."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _connect_notifier(engine: Engine) -> Any:
    import psycopg

    return psycopg.connect(_libpq_url(engine), autocommit=True, connect_timeout=5)


def _encode(event: Event) -> str:
    return json.dumps({"d": event.discussion_id, "k": event.kind, "p": event.post_id})


def _decode(payload: str) -> Event | None:
    try:
        data: dict[str, Any] = json.loads(payload)
        return Event(int(data["d"]), str(data["k"]), int(data["p"]))
    except (ValueError, KeyError, TypeError):
        return None


def publish(app: FastAPI, discussion_id: int, kind: str, post_id: int) -> None:
    """Announce a post, an edit or a phase change; never fails the request that made it."""
    broker: Broker | None = getattr(app.state, "broker", None)
    if broker is None:
        return
    try:
        broker.publish(Event(discussion_id, kind, post_id))
    except Exception:  # the post is stored; a missed live update only costs a reload
        log.warning("live updates: could not announce %s %s", kind, post_id, exc_info=True)
