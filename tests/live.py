"""Serve an app on a free loopback port in a thread, and read Server-Sent Events."""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_in_thread(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    port = free_port()
    # Open event streams never finish by themselves: give them a second at shutdown.
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=1,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class SseEvent:
    event: str
    data: str
    id: str | None = None


class EventReader:
    """Reads an event stream in a background thread; `next()` waits for the next event."""

    def __init__(self, url: str, cookies: dict[str, str], headers: dict[str, str] | None = None):
        self.last: SseEvent | None = None  # what next() returned last
        self.events: queue.Queue[SseEvent | BaseException] = queue.Queue()
        self.connected = threading.Event()
        self._stop = threading.Event()
        self.status: int | None = None
        self._response: httpx.Response | None = None
        self._thread = threading.Thread(
            target=self._run, args=(url, cookies, headers or {}), daemon=True
        )
        self._thread.start()
        if not self.connected.wait(15):
            raise RuntimeError("the event stream did not open")

    def _run(self, url: str, cookies: dict[str, str], headers: dict[str, str]) -> None:
        try:
            with (
                httpx.Client(cookies=cookies, timeout=httpx.Timeout(30, read=60)) as client,
                client.stream("GET", url, headers=headers) as response,
            ):
                self.status = response.status_code
                self._response = response
                self.connected.set()
                kind, data, event_id = "message", [], None
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith("id:"):
                        event_id = line[3:].strip()
                    elif line.startswith("event:"):
                        kind = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].removeprefix(" "))
                    elif line == "" and data:
                        self.events.put(SseEvent(kind, "\n".join(data), event_id))
                        kind, data, event_id = "message", [], None
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.connected.set()
            if not self._stop.is_set():
                self.events.put(exc)

    def next(self, timeout: float = 15) -> SseEvent:
        item = self.events.get(timeout=timeout)
        if isinstance(item, BaseException):
            raise item
        self.last = item
        return item

    def close(self) -> None:
        self._stop.set()
        # The reading thread is a daemon blocked on the socket; the server's shutdown
        # closes the connection and ends it, so nothing waits for it here.
