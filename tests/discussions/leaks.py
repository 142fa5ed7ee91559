"""Scanning what one viewer received for things they must never learn.

Reusable for JSON answers, HTML pages, fragments and event streams: give it text (or a
response) and the strings that must not appear, and it fails naming every string found, in
which response, with the text around it.

A forbidden string counts only where it stands alone, not inside a longer word: short
usernames such as "cat" or "ann" occur inside "application/json" or a pseudonym like
"Gannet", and those are not leaks. Matching ignores case by default, so "ANN" or "Ann" is
caught as well as "ann". Each text is also scanned HTML-unescaped, URL-decoded and, when it
is JSON, re-serialised without \\u escapes, so an escaped name is caught too.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote

_WORD = r"[0-9A-Za-z_]"
ACCOUNT_ID_KEYS = ['"author_id"', '"account_id"', '"user_id"']


def _pattern(needle: str, ignore_case: bool) -> re.Pattern[str]:
    flags = re.IGNORECASE if ignore_case else 0
    return re.compile(rf"(?<!{_WORD}){re.escape(needle)}(?!{_WORD})", flags)


def _views(text: str) -> list[str]:
    """The text as sent and as a browser or a JSON parser would read it."""
    views = [text, html.unescape(text), unquote(text)]
    with contextlib.suppress(ValueError):
        views.append(json.dumps(json.loads(text), ensure_ascii=False))
    return list(dict.fromkeys(views))


def find_leaks(text: str, forbidden: Iterable[str], *, ignore_case: bool = True) -> list[str]:
    """One line per forbidden string found in the text: the string and where it stands."""
    found = []
    for needle in dict.fromkeys(forbidden):
        if not needle:
            continue
        pattern = _pattern(needle, ignore_case)
        for view in _views(text):
            match = pattern.search(view)
            if match:
                start, end = max(match.start() - 40, 0), match.end() + 40
                found.append(f"{needle!r} in …{view[start:end]!r}…")
                break
    return found


def assert_no_leak(
    label: str, text: str, forbidden: Iterable[str], *, ignore_case: bool = True
) -> None:
    """Fail naming each forbidden string that appears in `text` (what `label` received)."""
    leaks = find_leaks(text, forbidden, ignore_case=ignore_case)
    assert not leaks, f"{label} leaks:\n  " + "\n  ".join(leaks)


def response_text(response) -> str:  # type: ignore[no-untyped-def]
    """A response's status line, every header and its body, as one text to scan."""
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    return f"{response.status_code}\n{headers}\n\n{response.text}"


@dataclass
class Received:
    """Everything one viewer received, labelled by request, ready to be scanned at once."""

    viewer: str
    responses: list[tuple[str, object]] = field(default_factory=list)

    def add(self, label: str, response) -> object:  # type: ignore[no-untyped-def]
        assert response.status_code < 500, f"{label}: {response.status_code} {response.text}"
        self.responses.append((label, response))
        return response

    def assert_no_leak(self, forbidden: Iterable[str], *, ignore_case: bool = True) -> None:
        """Fail listing every (response, forbidden string) pair found, not just the first."""
        forbidden = list(forbidden)
        problems = []
        for label, response in self.responses:
            for leak in find_leaks(response_text(response), forbidden, ignore_case=ignore_case):
                problems.append(f"{label}: {leak}")
        assert not problems, f"{self.viewer} received:\n  " + "\n  ".join(problems)
