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
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import Engine

CHANNEL = "ethicsforum_events"
QUEUE_SIZE = 100
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    discussion_id: int
    kind: str  # "position", "rebuttal" or "phase"
    post_id: int


class Broker:
    """This process's open streams, by discussion."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.uses_postgres = engine.dialect.name == "postgresql"
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
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener

    async def _listen(self) -> None:
        import psycopg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
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
        """Announce a committed change; callable from worker threads."""
        if self.uses_postgres:
            with self.engine.connect() as conn:
                conn.execute(
                    text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": CHANNEL, "payload": _encode(event)},
                )
                conn.commit()
        elif self._loop is not None:
            self._loop.call_soon_threadsafe(self._deliver, event)


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
