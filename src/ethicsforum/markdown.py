"""Markdown to safe HTML: markdown-it-py with raw HTML off, then nh3 as the last word."""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)

_TAGS = {
    "a",
    "abbr",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
# No attribute outside this list survives, so no hx-* or data-hx-* either.
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}


def render_markdown(text: str) -> str:
    """Render user-written Markdown to HTML that is safe to insert into a page."""
    return nh3.clean(
        _md.render(text),
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )


# Characters that mean something anywhere in a CommonMark (or GFM) line: code, emphasis,
# links and images (their brackets), tables, strikethrough, and the backslash itself.
_ANYWHERE = re.compile(r"([\\`*_\[\]|~])")
# Characters that mean something only where a line (or a list item's text) starts: headings,
# list markers, setext underlines; `>` and `<` become entities below.
_LINE_START = re.compile(r"^(#|\+|-|=)")
_ORDERED = re.compile(r"^(\d{1,9})([.)])")


def _escape_line(line: str) -> str:
    line = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    line = _ANYWHERE.sub(r"\\\1", line)
    line = _LINE_START.sub(r"\\\1", line)
    return _ORDERED.sub(r"\1\\\2", line)


def escape_markdown(text: str | None, *, one_line: bool = True) -> str:
    """Someone's text made inert for a Markdown document we write: it reads as the same
    words in any Markdown tool, and no HTML or Markdown element comes out of it.

    HTML's `& < >` become entities and Markdown's control characters are backslash-escaped
    (both render as the character itself). With one_line, whitespace runs become one space,
    so the text cannot end the list item, quote or table cell it is put in; otherwise lines
    are kept, each stripped, so none becomes indented code.
    """
    if one_line:
        return _escape_line(" ".join((text or "").split()))
    lines = [" ".join(line.split()) for line in (text or "").strip().splitlines()]
    return "\n".join(_escape_line(line) for line in lines)
