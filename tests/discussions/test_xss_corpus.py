"""Naughty strings through the discussions API: stored verbatim, never 5xx, rendered inert.

The corpus is the Big List of Naughty Strings (tests/data/blns.json, all of it, script
injection section included) plus htmx-specific attacks of our own. Each string goes in as
a position summary, body and claim text, and as a rebuttal body and claim text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

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
]
LIVE_ELEMENTS = {"script", "iframe", "object", "embed", "style", "img", "svg"}
LIVE_ATTRIBUTES = {"style", "src", "srcdoc", "action", "formaction"}
SAFE_SCHEMES = {"http", "https", "mailto"}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
SUMMARY_MAX, CLAIM_MAX = 280, 1000
PLACEHOLDER = "Placeholder text."


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

    def status(self, what: str, sent: str, response, ok: int) -> bool:  # type: ignore[no-untyped-def]
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


def _position_fields(sent: str) -> dict[str, object]:
    """A position carrying `sent` in every field that takes it; placeholders where it cannot."""
    fits_summary = bool(sent.strip()) and len(sent) <= SUMMARY_MAX
    fits_claim = bool(sent.strip()) and len(sent) <= CLAIM_MAX
    claim_text = sent if fits_claim else PLACEHOLDER
    return {
        "summary": sent if fits_summary else PLACEHOLDER,
        "body": sent,
        "claims": [{"framework": "autonomy", "direction": "supports", "text": claim_text}],
    }


def _check_position(check: Checker, sent: str, got: dict) -> None:
    fields = _position_fields(sent)
    check.same("summary", str(fields["summary"]), got["summary"])
    check.same("position body", sent, got["body"])
    check.same("claim text", fields["claims"][0]["text"], [c["text"] for c in got["claims"]][0])  # type: ignore[index]
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
                response = client.patch(
                    f"/api/v1/positions/{position_ids[name]}", json=fields, headers=h[name]
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
            fields = _position_fields(sent)
            check.same("revision summary", str(fields["summary"]), revision["summary"])
            check.same("revision body", sent, revision["body"])
            check.same("revision claim", fields["claims"][0]["text"], revision["claims"][0]["text"])  # type: ignore[index]
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
        claims = (
            [{"framework": "justice", "direction": "challenges", "text": sent}]
            if len(sent) <= CLAIM_MAX
            else []
        )
        response = client.post(
            f"/api/v1/positions/{target['id']}/rebuttals",
            json={"kind": "counter", "body": sent, "claims": claims},
            headers=h["bob"],
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
        check.same("rebuttal claim", sent, rebuttal["claims"][0]["text"])
        check.inert("rebuttal body_html of", sent, rebuttal["body_html"])
    check.verify()
