"""Consistent backups while the server runs: SQLite's backup API, or pg_dump."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from ethicsforum.config import Settings


class BackupFailed(RuntimeError):
    """The copy could not be made; the message says why in one line."""


def backup(settings: Settings, target: Path) -> None:
    """Copy the database to `target` atomically: a half-written file never takes its name."""
    url = make_url(settings.database_url)
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite(url.database or "", partial)
        else:
            # pg_dump sets session state (search_path among it) before its transaction:
            # through PgBouncer in transaction mode that would be left on a server connection
            # other clients then use, so the dump goes to the server's own address.
            _postgres(make_url(settings.listen_database_url or settings.database_url), partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _sqlite(database: str, partial: Path) -> None:
    if not Path(database).exists():
        raise BackupFailed(f"no database file at {database}")
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    dest = sqlite3.connect(partial)
    try:
        # The online backup API copies a consistent snapshot while writers carry on.
        source.backup(dest, pages=1024)
    finally:
        dest.close()
        source.close()


def _postgres(url, partial: Path) -> None:  # type: ignore[no-untyped-def]
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupFailed("pg_dump is not installed (Debian: apt-get install postgresql-client)")
    libpq_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
    result = subprocess.run(  # noqa: S603 - fixed program, URL from our own settings
        [pg_dump, "--format=custom", "--no-owner", f"--file={partial}", f"--dbname={libpq_url}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupFailed("pg_dump failed: " + (result.stderr.strip().splitlines() or ["?"])[-1])
