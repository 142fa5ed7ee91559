"""Quoted text in the Markdown we export reads as text: no element comes out of it.

The debate brief and the case dossier are rendered here with markdown-it (CommonMark with
tables, as another tool would) and every element is checked against the marker that only
students' and faculty's hostile text carries.
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

from ethicsforum.markdown import escape_markdown
from tests.discussions.conftest import open_discussion, post_position
from tests.factories import make_case

MARK = "PWNED"
HOSTILE = [
    f"<script>alert('{MARK}')</script>",
    f"<img src=x onerror=alert(1)> **{MARK} bold** _{MARK}_",
    f"[{MARK} link](https://evil.example) ![{MARK}](https://evil.example/i.png)",
    f"`{MARK} code` | {MARK} cell | ~~{MARK}~~",
    f"1. {MARK} list",
    f"# {MARK} heading",
    f"> {MARK} quote",
    f"- {MARK} item",
    f"&lt;b&gt;{MARK}&lt;/b&gt; <https://evil.example/{MARK}>",
]
BODY = f"Line one\n\n# {MARK} heading\n\n    {MARK} indented code\n===\n<div>{MARK}</div>"
# Elements that may hold quoted text; everything else must not contain the marker.
CONTAINERS = {"p", "li", "td", "th", "blockquote", "ul", "ol", "table", "thead", "tbody", "tr"}

md = MarkdownIt("commonmark").enable("table")


def check_inert(markdown: str, texts: list[str]) -> None:
    soup = BeautifulSoup(md.render(markdown), "html.parser")
    for tag in ("script", "img", "a", "pre", "del", "div", "b", "h4", "h5", "h6"):
        assert soup.find(tag) is None, tag
    for element in soup.find_all(True):
        if MARK in element.get_text():
            assert element.name in CONTAINERS | {"strong", "h3"} or element.name == "[document]", (
                element
            )
            if element.name in {"strong", "h3"}:
                # The brief's own bold labels and headings may hold a quoted label, but not
                # an element made by the quoted text.
                assert not element.find(True), element
    for li in soup.find_all("li"):
        assert li.find(["ul", "ol", "blockquote", "h1", "h2", "h3"]) is None, li
    for quote in soup.find_all("blockquote"):
        assert quote.find("blockquote") is None, quote
    for heading in soup.find_all(["h1", "h2"]):
        assert MARK not in heading.get_text(), heading
    plain = " ".join(soup.get_text().split())
    for text in texts:
        assert " ".join(text.split()) in plain, text


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_text_renders_as_itself(text):
    check_inert(f"- {escape_markdown(text)}\n\n> {escape_markdown(text)}\n", [text, text])
    table = f"| a |\n|---|\n| {escape_markdown(text)} |\n"
    check_inert(table, [text])


def test_a_multi_line_body_keeps_its_paragraphs_and_makes_no_element():
    escaped = escape_markdown(BODY, one_line=False)
    html = md.render(escaped)
    soup = BeautifulSoup(html, "html.parser")
    assert [p.name for p in soup.find_all(True)] == ["p", "p", "p"]
    assert "<div>" in soup.get_text() and f"# {MARK} heading" in soup.get_text()


def test_the_brief_quotes_student_and_faculty_text_as_text(client, world):
    h = world["h"]
    discussion = open_discussion(client, world, early_rebuttals=True)
    ann = post_position(
        client,
        world,
        discussion,
        "ann",
        summary=HOSTILE[0],
        body=BODY,
        claims=[
            {"framework": "autonomy", "direction": "supports", "text": text}
            for text in HOSTILE[1:5]
        ],
    )
    post_position(
        client,
        world,
        discussion,
        "bob",
        option="wait",
        summary=HOSTILE[5],
        claims=[
            {"framework": "autonomy", "direction": "supports", "text": text} for text in HOSTILE[5:]
        ],
    )
    rebuttal = client.post(
        f"/api/v1/positions/{ann['id']}/rebuttals",
        json={"kind": "counter", "body": HOSTILE[6]},
        headers=h["cat"],
    )
    assert rebuttal.status_code == 201, rebuttal.text
    for path, note in (
        (f"/api/v1/positions/{ann['id']}/exemplary", HOSTILE[7]),
        (f"/api/v1/rebuttals/{rebuttal.json()['id']}/exemplary", HOSTILE[8]),
    ):
        marked = client.put(path, json={"note": note}, headers=h["prof"])
        assert marked.status_code == 200, marked.text
    response = client.get(
        f"/api/v1/discussions/{discussion['id']}/export",
        params={"format": "markdown"},
        headers=h["prof"],
    )
    assert response.status_code == 200
    text = response.text
    assert "<script>" not in text and "<img" not in text
    assert "## Tensions" in text and "## Exemplary reasoning" in text
    # The summaries (exemplary, unanswered), the rebuttal and both notes are quoted in full;
    # of the claims, the strongest of each side.
    check_inert(text, [HOSTILE[0], *HOSTILE[5:]])
    plain = " ".join(BeautifulSoup(md.render(text), "html.parser").get_text().split())
    assert sum(" ".join(t.split()) in plain for t in HOSTILE[1:5]) >= 3


def test_the_dossier_quotes_student_and_faculty_text_as_text(client, session, world):
    make_case(session, slug="dossier-case", frameworks=["autonomy", "justice"])
    h = world["h"]
    discussion = open_discussion(client, world, case_slug="dossier-case")
    position = post_position(
        client,
        world,
        discussion,
        "ann",
        summary=HOSTILE[0],
        body=BODY,
        claims=[
            {"framework": "autonomy", "direction": "supports", "text": text} for text in HOSTILE[1:]
        ],
    )
    marked = client.put(
        f"/api/v1/positions/{position['id']}/exemplary",
        json={"note": HOSTILE[2]},
        headers=h["prof"],
    )
    assert marked.status_code == 200, marked.text
    closed = client.patch(
        f"/api/v1/discussions/{discussion['id']}", json={"phase": "closed"}, headers=h["prof"]
    )
    assert closed.status_code == 200
    response = client.get("/api/v1/cases/dossier-case/dossier?format=markdown", headers=h["prof"])
    assert response.status_code == 200
    assert "<script>" not in response.text
    check_inert(response.text, [HOSTILE[0], *HOSTILE[1:], "Line one", f"<div>{MARK}</div>"])
