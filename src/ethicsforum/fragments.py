"""Rendered page parts shared by every viewer who would see them alike.

A fragment is kept under a key naming everything it depends on: the discussion's
generation (bumped in the same transaction as every change to its posts, claims, stances
and marks; aggregation/freshness.py), its phase, and the viewer's visibility class (faculty;
a classmate; a viewer whose own posts it shows, whose key names them). A change makes a new
key, so a stale fragment is never served; old ones age out. Per process, bounded.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from fastapi import Request, Response

KEEP = 256


class FragmentCache:
    """The most recently used fragments, safe to share between request threads."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self._items: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> str | None:
        with self._lock:
            html = self._items.get(key)
            if html is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return html

    def put(self, key: Hashable, html: str) -> None:
        with self._lock:
            self._items[key] = html
            self._items.move_to_end(key)
            while len(self._items) > self.keep:
                self._items.popitem(last=False)

    def get_or_render(self, key: Hashable, render: Callable[[], str]) -> str:
        """The fragment under key, rendered (outside the lock) and kept when absent."""
        html = self.get(key)
        if html is None:
            html = render()
            self.put(key, html)
        return html


def fragments(request: Request) -> FragmentCache:
    cache: FragmentCache = request.app.state.fragments
    return cache


# ---- whole answers, with their ETag ------------------------------------------------------

RESPONSE_BUDGET = 64 * 1024 * 1024  # bytes of kept answers per process


class ResponseCache:
    """Whole answers (body and media type) by key, bounded by their total size, LRU."""

    def __init__(self, budget: int = RESPONSE_BUDGET) -> None:
        self.budget = budget
        self.size = 0
        self._items: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, etag: str) -> tuple[bytes, str] | None:
        with self._lock:
            item = self._items.get(etag)
            if item is not None:
                self._items.move_to_end(etag)
            return item

    def put(self, etag: str, body: bytes, media_type: str) -> None:
        if len(body) > self.budget // 8:
            return
        with self._lock:
            old = self._items.pop(etag, None)
            if old is not None:
                self.size -= len(old[0])
            self._items[etag] = (body, media_type)
            self.size += len(body)
            while self.size > self.budget:
                _, (dropped, _) = self._items.popitem(last=False)
                self.size -= len(dropped)


def etag_of(key: Hashable) -> str:
    """A weak validator naming the key (keyed by the secret, so it tells nothing about it)."""
    from ethicsforum import keys

    return f'W/"{keys.token("etag", repr(key))[:32]}"'


def answer(request: Request, key: Hashable, build: Callable[[], Response]) -> Response:
    """The answer under key: 304 when the client holds it (If-None-Match), the kept bytes when
    this process has them, else build() (kept when 200).

    The key must name everything the answer depends on: for a discussion's pages and API, the
    rows access() read (the discussion with its generation and phase, cohort, case, version,
    membership), the viewer's account and sign-in, and the path, query and htmx headers.
    """
    etag = etag_of(key)
    # Cache-Control stays SecurityHeaders' (no-store on what is meant for one person).
    headers = {"ETag": etag, "Vary": "HX-Request"}
    if etag in _if_none_match(request):
        return Response(status_code=304, headers=headers)
    store: ResponseCache = request.app.state.responses
    kept = store.get(etag)
    if kept is not None:
        return Response(kept[0], media_type=kept[1], headers=headers)
    response = build()
    if response.status_code == 200:
        store.put(etag, bytes(response.body), response.media_type or "text/html")
        for name, value in headers.items():
            response.headers[name] = value
    return response


def _if_none_match(request: Request) -> set[str]:
    value = request.headers.get("if-none-match")
    return {v.strip() for v in value.split(",")} if value else set()
