"""Per-account request budgets for cheap-to-ask, costly-to-answer routes (the previews).

A sliding window kept in this process's memory: it bounds the CPU one signed-in account can
take from one server process, which is what it protects, so it needs no table and no write.
With several worker processes each keeps its own window. Off with the other rate limits
(`ETHICSFORUM_RATE_LIMITS=off`).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from starlette.requests import Request

from ethicsforum.errors import DomainError


class TooManyRequests(DomainError):
    """The account has used this route's budget for the moment; Retry-After says how long."""

    status_code = 429
    title = "Slow down"

    def __init__(self, what: str, limit: int, window: int, retry_after: int):
        super().__init__(
            f"at most {limit} {what} every {window} seconds; try again in {retry_after} seconds"
        )
        self.retry_after = retry_after


class Throttle:
    """At most `limit` requests per key in any `window` seconds."""

    # Keys are forgotten once their window has passed; this caps the dict between sweeps.
    MAX_KEYS = 10_000

    def __init__(self, what: str, *, limit: int, window: int = 60):
        self.what = what
        self.limit = limit
        self.window = window
        self._hits: dict[object, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: object) -> None:
        """Count one request for `key`, or raise TooManyRequests when over the budget."""
        now = time.monotonic()
        horizon = now - self.window
        with self._lock:
            if len(self._hits) > self.MAX_KEYS:
                self._sweep(horizon)
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= horizon:
                hits.popleft()
            if len(hits) >= self.limit:
                retry_after = max(1, math.ceil(hits[0] - horizon))
                raise TooManyRequests(self.what, self.limit, self.window, retry_after)
            hits.append(now)

    def _sweep(self, horizon: float) -> None:
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= horizon]:
            del self._hits[key]

    def reset(self) -> None:
        """Forget every count (tests)."""
        with self._lock:
            self._hits.clear()


_creating = threading.Lock()


def _of_app(state: object, name: str, what: str, *, limit: int, window: int = 60) -> Throttle:
    """The app's throttle called `name`, made on first use (kept on app.state, so each app,
    and each test's app, counts on its own)."""
    attribute = f"throttle_{name}"
    with _creating:
        found = getattr(state, attribute, None)
        if not isinstance(found, Throttle):
            found = Throttle(what, limit=limit, window=window)
            setattr(state, attribute, found)
    return found


def hit(request: Request, name: str, what: str, *, limit: int, key: object) -> None:
    """Count one request against the app's throttle `name`, unless rate limits are off."""
    if request.app.state.settings.rate_limits:
        _of_app(request.app.state, name, what, limit=limit).hit(key)
