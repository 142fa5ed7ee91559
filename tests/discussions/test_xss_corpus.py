"""Naughty strings through the discussions API: stored verbatim, never 5xx, rendered inert.

The corpus is the Big List of Naughty Strings (tests/data/blns.json, all of it, script
injection section included) plus htmx-specific attacks of our own. Each string goes in as
a position summary, body and claim text, and as a rebuttal body and claim text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup

from tests.discussions.conftest import open_discussion, position_body

BLNS = Path(__file__).resolve().parents[1] / "data" / "blns.json"
OURS = [
    '<div hx-get="/x" hx-trigger="load">',
    '<div hx-get="/x" hx-trigger="load">boom</div>',
    '<a data-hx-post="/y">click</a>',
    '<a data-hx-post="/y">',
    "<form hx-post=/api/v1/auth/revoke hx-trigger=load></form>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "![x](javascript:alert(1))",
    '[x](https://example.org "title onmouseover=alert(1)")',
    "<javascript:alert(1)>",
    "[x]: javascript:alert(1)\n\n[y][x]",
    "<img src=x onerror=alert(1)>",
    "![img](x onerror=alert(1))",
    "<svg/onload=alert(1)>",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "<object data=javascript:alert(1)></object><embed src=javascript:alert(1)>",
    "<style>*{background:url(javascript:alert(1))}</style>",
    '<p style="background:url(javascript:alert(1))" onclick="alert(1)">x</p>',
    "`<script>alert(1)</script>`",
    "```\n<script>alert(1)</script>\n```",
    "<details open ontoggle=alert(1)>",
    # Not htmx, but naughty all the same: a NUL (PostgreSQL text cannot hold it) and ANSI.
    "nul \x00 byte",
    "\x1b[31mred\x1b[0m",
]
LIVE_ELEMENTS = {"script", "iframe", "object", "embed", "style", "img", "svg"}
LIVE_ATTRIBUTES = {"style", "src", "srcdoc", "action", "formaction"}
SAFE_SCHEMES = {"http", "https", "mailto"}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
SUMMARY_MAX, CLAIM_MAX = 280, 1000
PLACEHOLDER = "Placeholder text."
LONE = "@lone-surrogate@"  # stands in for LONE_JSON, which Python's JSON encoder cannot write
LONE_JSON = '"lone \\ud800 surrogate"'


def corpus() -> list[str]:
    blns = json.loads(BLNS.read_text(encoding="utf-8"))
    assert len(blns) >= 300 and "<script>alert(123)</script>" in blns
    return list(dict.fromkeys(blns + OURS))


def scheme_of(href: str) -> str | None:
    """The scheme a browser would see: tabs and newlines dropped, edges trimmed."""
    cleaned = re.sub(r"[\t\n\r]", "", href).strip("".join(map(chr, range(0x21))))
    match = _SCHEME.match(cleaned)
    return match.group(1).lower() if match else None


def live_markup(fragment: str) -> list[str]:
    """Everything in an HTML fragment that could run script, load content or act (htmx)."""
    problems = []
    for tag in BeautifulSoup(fragment, "html.parser").find_all(True):
        if tag.name.lower() in LIVE_ELEMENTS:
            problems.append(f"<{tag.name}> element")
        for name, value in tag.attrs.items():
            lowered = name.lower()
            if lowered.startswith(("on", "hx-", "data-hx")) or lowered in LIVE_ATTRIBUTES:
                problems.append(f"{name}= attribute on <{tag.name}>")
            if lowered == "href":
                scheme = scheme_of(value if isinstance(value, str) else " ".join(value))
                if scheme is not None and scheme not in SAFE_SCHEMES:
                    problems.append(f"href with scheme {scheme!r}")
    return problems


def test_the_inertness_check_itself_catches_live_markup():
    assert live_markup('<p>fine <a href="https://x.org">x</a> <a href="rel/x">y</a></p>') == []
    assert live_markup("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>") == []
    for live in [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<svg/onload=alert(1)>",
        '<div hx-get="/x">',
        '<a data-hx-post="/y">',
        '<a href="javascript:alert(1)">',
        '<a href=" java&#9;script:alert(1)">',
        '<a href="data:text/html,x">',
    ]:
        assert live_markup(live), live


class Checker:
    """Collects every problem, so one run names all the strings that misbehave."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.rejected: list[str] = []

    def send(self, what: str, sent: str, request: Callable[[], Any]) -> Any:
        """The response, or None after noting a server error (raised or answered)."""
        try:
            return request()
        except Exception as exc:  # the test client re-raises what the app did not handle
            first_line = (str(exc).splitlines() or [""])[0]
            self.problems.append(
                f"{what} {sent!r}: server error {type(exc).__name__}: {first_line}"
            )
            return None

    def status(self, what: str, sent: str, response, ok: int) -> bool:  # type: ignore[no-untyped-def]
        if response is None:
            return False
        if response.status_code >= 500:
            self.problems.append(f"{what} {sent!r}: {response.status_code} {response.text[:200]}")
        elif response.status_code == 422:
            self.rejected.append(f"{what} {sent!r}")
        elif response.status_code != ok:
            self.problems.append(f"{what} {sent!r}: {response.status_code} {response.text[:200]}")
        return response.status_code == ok

    def same(self, what: str, sent: str, got: object) -> None:
        if got != sent:
            self.problems.append(f"{what}: sent {sent!r}, read back {got!r}")

    def inert(self, what: str, sent: str, body_html: str) -> None:
        for problem in live_markup(body_html):
            self.problems.append(f"{what} {sent!r}: {problem} in {body_html!r}")

    def verify(self) -> None:
        assert not self.problems, f"{len(self.problems)} problems:\n" + "\n".join(self.problems)


def _summary(sent: str) -> str:
    """`sent` where a summary may hold it (some text, at most 280 characters), else filler."""
    return sent if sent.strip() and len(sent) <= SUMMARY_MAX else PLACEHOLDER


def _claim_text(sent: str) -> str:
    return sent if sent.strip() and len(sent) <= CLAIM_MAX else PLACEHOLDER


def _position_fields(sent: str) -> dict[str, object]:
    """A position carrying `sent` in every field that takes it; filler where it cannot."""
    return {
        "summary": _summary(sent),
        "body": sent,
        "claims": [{"framework": "autonomy", "direction": "supports", "text": _claim_text(sent)}],
    }


def _check_position(check: Checker, sent: str, got: dict) -> None:
    check.same("summary", _summary(sent), got["summary"])
    check.same("position body", sent, got["body"])
    check.same("claim text", _claim_text(sent), got["claims"][0]["text"])
    check.inert("position body_html of", sent, got["body_html"])


def test_naughty_strings_in_positions_are_stored_verbatim_and_rendered_inert(client, world):
    strings = corpus()
    discussion = open_discussion(client, world)
    h, students = world["h"], ["ann", "bob", "cat"]
    check = Checker()
    position_ids: dict[str, int] = {}
    sent_history: dict[str, list[str]] = {name: [] for name in students}
    rounds = [strings[i : i + len(students)] for i in range(0, len(strings), len(students))]
    for number, batch in enumerate(rounds):
        sent_now: dict[str, str] = {}
        for name, sent in zip(students, batch, strict=False):
            fields = _position_fields(sent)
            if number == 0:
                response = client.post(
                    f"/api/v1/discussions/{discussion['id']}/positions",
                    json=position_body(**fields),
                    headers=h[name],
                )
                assert response.status_code == 201, (sent, response.text)
                position_ids[name] = response.json()["id"]
            else:
                response = check.send(
                    "position edit",
                    sent,
                    lambda name=name, fields=fields: client.patch(
                        f"/api/v1/positions/{position_ids[name]}", json=fields, headers=h[name]
                    ),
                )
                if not check.status("position edit", sent, response, 200):
                    continue
            sent_now[name] = sent
            sent_history[name].append(sent)
            check.inert(
                "position body_html (answer to the write) of", sent, response.json()["body_html"]
            )
        listed = client.get(f"/api/v1/discussions/{discussion['id']}/positions", headers=h["prof"])
        assert listed.status_code == 200, listed.text
        by_id = {p["id"]: p for p in listed.json()}
        for name, sent in sent_now.items():
            _check_position(check, sent, by_id[position_ids[name]])
    # Every earlier version is kept verbatim too, newest first.
    for name in students:
        revisions = client.get(f"/api/v1/positions/{position_ids[name]}/revisions", headers=h[name])
        assert revisions.status_code == 200, revisions.text
        kept = list(reversed(revisions.json()))
        assert len(kept) == len(sent_history[name]) - 1
        for sent, revision in zip(sent_history[name], kept, strict=False):
            check.same("revision summary", _summary(sent), revision["summary"])
            check.same("revision body", sent, revision["body"])
            check.same("revision claim", _claim_text(sent), revision["claims"][0]["text"])
    check.verify()


def test_naughty_strings_in_rebuttals_are_stored_verbatim_and_rendered_inert(client, world):
    strings = [s for s in corpus() if s.strip()]  # a rebuttal needs some text
    discussion = open_discussion(client, world, early_rebuttals=True)
    h = world["h"]
    target = client.post(
        f"/api/v1/discussions/{discussion['id']}/positions",
        json=position_body(),
        headers=h["ann"],
    ).json()
    check = Checker()
    sent_in_order: list[str] = []
    for sent in strings:
        claims = [{"framework": "justice", "direction": "challenges", "text": _claim_text(sent)}]
        response = check.send(
            "rebuttal",
            sent,
            lambda sent=sent, claims=claims: client.post(
                f"/api/v1/positions/{target['id']}/rebuttals",
                json={"kind": "counter", "body": sent, "claims": claims},
                headers=h["bob"],
            ),
        )
        if check.status("rebuttal", sent, response, 201):
            sent_in_order.append(sent)
            check.inert(
                "rebuttal body_html (answer to the write) of", sent, response.json()["body_html"]
            )
    tree = client.get(f"/api/v1/positions/{target['id']}", headers=h["cat"])
    assert tree.status_code == 200, tree.text
    rebuttals = tree.json()["rebuttals"]
    assert len(rebuttals) == len(sent_in_order)
    for sent, rebuttal in zip(sent_in_order, rebuttals, strict=True):
        check.same("rebuttal body", sent, rebuttal["body"])
        check.same("rebuttal claim", _claim_text(sent), rebuttal["claims"][0]["text"])
        check.inert("rebuttal body_html of", sent, rebuttal["body_html"])
    check.verify()


def test_text_that_is_not_valid_unicode_is_refused_not_a_server_error(client, world):
    """JSON may escape a lone surrogate ("\\ud800"); no UTF-8 can hold it, so it is bad input."""
    discussion = open_discussion(client, world, early_rebuttals=True)
    h = world["h"]
    position = client.post(
        f"/api/v1/discussions/{discussion['id']}/positions",
        json=position_body(),
        headers=h["ann"],
    ).json()
    edit, rebut = (
        f"/api/v1/positions/{position['id']}",
        f"/api/v1/positions/{position['id']}/rebuttals",
    )
    claim = {"framework": "autonomy", "direction": "supports", "text": LONE}
    attempts = [
        ("PATCH", edit, "ann", {"summary": LONE}),
        ("PATCH", edit, "ann", {"body": LONE}),
        ("PATCH", edit, "ann", {"claims": [claim]}),
        ("POST", rebut, "bob", {"kind": "counter", "body": LONE}),
        ("POST", rebut, "bob", {"kind": "counter", "body": "ok", "claims": [claim]}),
    ]
    check = Checker()
    for method, path, who, body in attempts:
        raw = json.dumps(body).replace(json.dumps(LONE), LONE_JSON)
        response = check.send(
            f"{method} {path}",
            raw,
            lambda method=method, path=path, who=who, raw=raw: client.request(
                method,
                path,
                content=raw.encode(),
                headers={**h[who], "Content-Type": "application/json"},
            ),
        )
        check.status(f"{method} {path}", raw, response, 422)
    tree = check.send("read back", "", lambda: client.get(edit, headers=h["cat"]))
    check.status("read back", "", tree, 200)
    check.verify()
