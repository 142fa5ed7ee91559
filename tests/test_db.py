"""SQLite runs safely under concurrent writers and keeps every acknowledged write."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, func, select

from ethicsforum import migrate
from ethicsforum.cases.models import EthicsCase
from ethicsforum.db import make_engine, read_session, write_session
from tests.conftest import REPO, make_settings


@pytest.fixture
def sqlite_engine(tmp_path: Path):
    settings = make_settings(
        f"sqlite:///{tmp_path / 'x.db'}", tmp_path, sqlite_busy_timeout_ms=20_000
    )
    migrate.upgrade(settings)
    engine = make_engine(settings)
    yield engine
    engine.dispose()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(sqlite_engine):
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 20_000


def test_sqlite_enforces_foreign_keys(sqlite_engine):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), write_session(sqlite_engine) as session:
        session.execute(
            text(
                "INSERT INTO cohort (name, join_code, created_by_id, created_at) "
                "VALUES ('x', 'code', 999, '2026-01-01')"
            )
        )
        session.commit()


def _add_case(session: Session, slug: str) -> None:
    # Read, then write: the pattern that fails at once in a deferred transaction when
    # another writer got in between.
    count = session.exec(select(func.count()).select_from(EthicsCase)).one()
    session.add(EthicsCase(slug=f"{slug}-{count}", status="draft"))
    session.commit()


def test_concurrent_writers_wait_for_each_other_instead_of_failing(sqlite_engine):
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                with write_session(sqlite_engine) as session:
                    _add_case(session, f"w{n}-{i}")
        except BaseException as exc:  # noqa: BLE001 - collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with read_session(sqlite_engine) as session:
        assert session.exec(select(func.count()).select_from(EthicsCase)).one() == 8 * 15


def test_readers_are_not_blocked_by_a_writer(sqlite_engine):
    with write_session(sqlite_engine) as writer:
        writer.add(EthicsCase(slug="pending", status="draft"))
        writer.flush()  # holds the write lock, uncommitted
        with read_session(sqlite_engine) as reader:
            assert reader.exec(select(func.count()).select_from(EthicsCase)).one() == 0
        writer.commit()


CRASH = """
import os, signal, sys
from ethicsforum.db import make_engine, write_session
from ethicsforum.cases.models import EthicsCase
from ethicsforum.config import Settings
engine = make_engine(Settings(database_url=sys.argv[1], secret_key="x" * 32))
with write_session(engine) as session:
    session.add(EthicsCase(slug="survivor", status="draft"))
    session.commit()
print("acknowledged", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_an_acknowledged_write_survives_a_crash_of_the_process(database_url, engine):
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", CRASH, database_url],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        timeout=60,
    )
    assert result.stdout.strip() == "acknowledged", result.stderr
    assert result.returncode == -9  # killed, no clean shutdown
    with read_session(engine) as session:
        found = session.exec(select(EthicsCase).where(EthicsCase.slug == "survivor")).first()
    assert found is not None
