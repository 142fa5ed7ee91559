"""Live updates: this process's open streams, and the announcements that reach them.

Announcements are made by discussions.announce, in the transaction of the change. On
PostgreSQL they arrive here through one LISTEN connection per server process (which also
hears the sign-in changes of accounts.identity, so every worker's cache drops them), so a stream
held by any worker hears a change made through any other; on SQLite (one process) they are
handed over after the commit. Announcements carry only ids: each stream renders what its
viewer may see (discussions.stream), once per visibility class.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sqlmodel import select

from ethicsforum.accounts import identity
from ethicsforum.config import STREAM_DB_SLOTS
from ethicsforum.db import listen_url, read_session
from ethicsforum.discussions import announce
from ethicsforum.discussions.announce import CHANNEL, Event
from ethicsforum.discussions.models import LiveEvent
from ethicsforum.errors import BUSY, DomainError

# Announcements a stream may fall behind by before it catches up from the LiveEvent table.
BACKLOG = 200
log = logging.getLogger(__name__)
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


class Subscription:
    """What one open stream has yet to send: announcements in arrival order, or, when it
    fell more than BACKLOG behind (a stalled reader), word that it must catch up from the
    LiveEvent table instead."""

    def __init__(self, account_id: int | None = None) -> None:
        self.account_id = account_id  # whose stream: a stance is sent to its student's alone
        self.pending: deque[Event] = deque()
        self.behind = False
        self.wake = asyncio.Event()

    def put(self, event: Event) -> None:
        if len(self.pending) >= BACKLOG:
            self.pending.clear()
            self.behind = True
        elif not self.behind:
            self.pending.append(event)
        self.wake.set()

    async def wait(self, timeout: float) -> bool:
        """Whether there is something to send, waiting at most `timeout` seconds."""
        if not (self.pending or self.behind):
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout)
        return bool(self.pending or self.behind)


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
        self._streams: dict[int, set[Subscription]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.uses_postgres:
            self._listener = asyncio.create_task(self._listen())
        else:
            announce.attach(str(self.engine.url), self)
            self.listening.set()

    async def stop(self) -> None:
        announce.detach(str(self.engine.url), self)
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
                    await conn.execute(f"LISTEN {identity.CHANNEL}")
                    # Whatever changed while not listening is unknown: forget every sign-in.
                    identity.CACHE.clear()
                    self.listening.set()
                    async for note in conn.notifies():
                        if note.channel == identity.CHANNEL:
                            identity.received(identity.decode(note.payload))
                        else:
                            self._deliver(Event.decode(note.payload))
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
    async def subscribe(
        self, discussion_id: int, account_id: int | None = None
    ) -> AsyncIterator[Subscription]:
        subscription = Subscription(account_id)
        self._streams.setdefault(discussion_id, set()).add(subscription)
        try:
            yield subscription
        finally:
            streams = self._streams.get(discussion_id, set())
            streams.discard(subscription)
            if not streams:
                self._streams.pop(discussion_id, None)

    def _deliver(self, event: Event | None) -> None:
        if event is None:
            return
        for subscription in list(self._streams.get(event.discussion_id, ())):
            if event.kind == "stance" and subscription.account_id != event.subject_id:
                continue  # private to its student: the other streams need not even wake
            subscription.put(event)

    def deliver_threadsafe(self, event: Event) -> None:
        """Hand a committed announcement to this process's streams from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._deliver, event)


def events_after(engine: Engine, discussion_id: int, after: int, limit: int) -> list[Event]:
    """A discussion's announcements after the one with id `after`, oldest first."""
    with read_session(engine) as session:
        rows = session.exec(
            select(LiveEvent)
            .where(LiveEvent.discussion_id == discussion_id, LiveEvent.id > after)  # type: ignore[operator]
            .order_by(LiveEvent.id)  # type: ignore[arg-type]
            .limit(limit)
        ).all()
    return [Event(r.discussion_id, r.kind, r.subject_id, r.id or 0) for r in rows]
