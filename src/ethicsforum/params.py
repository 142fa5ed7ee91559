"""Bounded numbers from outside: ids, versions, pages and page sizes, in addresses and bodies.

Every integer a request carries is checked against the range the database can hold before
any query sees it: ids and versions are PostgreSQL `integer` columns (1 .. 2**31-1), and a
Python int beyond 64 bits would otherwise reach the driver and raise OverflowError (a 500).
Out of range is a 422 with every problem listed; a page's path id out of range is a 404
(errors.py), the same answer as an id that does not exist.

Use these aliases rather than a bare `int` in every route signature and input schema:
`Id` in paths, `QueryId`/`OptionalQueryId` in query strings, `BodyId`/`OptionalBodyId`
inside JSON bodies and forms, `Version`/`OptionalVersion`, `Page` and `PerPage`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

MAX_ID = 2**31 - 1
MAX_PAGE = 10_000
MAX_PER_PAGE = 100

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int, Query(ge=1, le=MAX_ID)]
OptionalQueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]
OptionalBodyId = Annotated[int | None, Field(ge=1, le=MAX_ID)]

# Versions count from 1 and live in the same kind of column as ids.
Version = Annotated[int, Query(ge=1, le=MAX_ID)]
OptionalVersion = Annotated[int | None, Query(ge=1, le=MAX_ID)]
BodyVersion = Annotated[int, Field(ge=1, le=MAX_ID)]
OptionalBodyVersion = Annotated[int | None, Field(ge=1, le=MAX_ID)]

# The last live event a page or stream already has (0: none yet).
AfterEvent = Annotated[int | None, Query(ge=0, le=MAX_ID)]
Page = Annotated[int, Query(ge=1, le=MAX_PAGE)]
OptionalPage = Annotated[int | None, Query(ge=1, le=MAX_PAGE)]
PerPage = Annotated[int, Query(ge=1, le=MAX_PER_PAGE)]


def id_or_none(text: str) -> int | None:
    """A form field's id when it is one a row could have (1 .. MAX_ID), else None."""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_ID)):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None
