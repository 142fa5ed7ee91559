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

from fastapi import Request

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
