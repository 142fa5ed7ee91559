"""Shared between migrations/env.py and the tests: what autogenerate leaves alone."""

from __future__ import annotations

from typing import Any

# Full-text search objects are dialect-specific and written by hand in the migrations
# (an FTS5 table on SQLite, a GIN expression index on PostgreSQL); autogenerate must not
# try to drop or recreate them.
SEARCH_OBJECTS = ("case_search", "ix_case_version_search")


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    return not (name and name.startswith(SEARCH_OBJECTS))
