"""Schools beyond one server: requests through PgBouncer in transaction mode, LISTEN direct.

A real PgBouncer (Debian's /usr/sbin/pgbouncer) with a server pool smaller than the crowd in
front of it, a real `ethicsforum serve --workers 2` through it, real HTTP.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from ethicsforum.accounts import cohorts, sessions
from ethicsforum.accounts.models import Account
from ethicsforum.db import make_engine
from tests.conftest import POSTGRES_ADMIN_URL, REPO, SECRET, _libpq, make_settings, unavailable
from tests.discussions.conftest import position_body
from tests.factories import PASSWORD, make_account, make_case
from tests.live import EventReader, free_port

PGBOUNCER = "/usr/sbin/pgbouncer"
SERVER_POOL = 5  # PgBouncer's server connections for the database: fewer than the crowd
WORKERS = 2
STUDENTS = 40
EF = str(REPO / ".venv" / "bin" / "ethicsforum")


@dataclass
class Bouncer:
    port: int
    admin_url: str  # PgBouncer's console
    big_pool: str  # a database whose PgBouncer pool alone nearly fills max_connections
    max_connections: int

    def url(self, database: str) -> str:
        server = make_url(POSTGRES_ADMIN_URL)
        return server.set(port=self.port, database=database).render_as_string(False)


@pytest.fixture(scope="module")
def bouncer() -> Iterator[Bouncer]:
    """PgBouncer in transaction mode on a free loopback port, in front of the test server."""
    if not os.access(PGBOUNCER, os.X_OK):
        unavailable(
            f"PgBouncer is not installed at {PGBOUNCER} (Debian: apt-get install pgbouncer)"
        )
    server = make_url(POSTGRES_ADMIN_URL)
    try:
        psycopg.connect(_libpq(POSTGRES_ADMIN_URL), connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc}".strip())
    with psycopg.connect(_libpq(POSTGRES_ADMIN_URL), autocommit=True) as admin:
        row = admin.execute("SHOW max_connections").fetchone()
        max_connections = int(row[0]) if row else 100
        big = f"ethicsforum_pgbouncer_big_{uuid.uuid4().hex[:10]}"
        admin.execute(f'CREATE DATABASE "{big}"')
    port = free_port()
    # PgBouncer refuses to run as root and drops to another user with -u; that user must
    # read its files, which pytest's private temporary folders do not allow.
    folder = Path(tempfile.mkdtemp(prefix="ethicsforum-pgbouncer-"))
    folder.chmod(0o755)
    user = server.username or "postgres"
    (folder / "users.txt").write_text(f'"{user}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={server.host or '127.0.0.1'} port={server.port or 5432}\n"
        # One server connection short of what PostgreSQL allows beyond the 5 kept free.
        f"{big} = host={server.host or '127.0.0.1'} port={server.port or 5432} "
        f"pool_size={max_connections - 5 - 1}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\n"
        f"pool_mode = transaction\ndefault_pool_size = {SERVER_POOL}\n"
        "max_client_conn = 200\n"
        # serve reads the limits through the console (db.pooler_limits).
        f"stats_users = {user}\n"
    )
    for path in folder.iterdir():
        path.chmod(0o644)
    command = [PGBOUNCER, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "postgres"]
    log = (folder / "pgbouncer.log").open("wb")
    proc = subprocess.Popen(command, stdout=log, stderr=log)  # noqa: S603
    admin_url = server.set(port=port, database="pgbouncer").render_as_string(False)
    try:
        for _ in range(100):
            try:
                psycopg.connect(_libpq(admin_url), autocommit=True, connect_timeout=1).close()
                break
            except psycopg.OperationalError:
                assert proc.poll() is None, (folder / "pgbouncer.log").read_text()
                time.sleep(0.1)
        else:
            pytest.fail("PgBouncer did not start: " + (folder / "pgbouncer.log").read_text())
        yield Bouncer(port, admin_url, big, max_connections)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
        with psycopg.connect(_libpq(POSTGRES_ADMIN_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{big}" WITH (FORCE)')


@pytest.fixture
def database(bouncer: Bouncer) -> Iterator[str]:
    """A fresh, empty database of our own; `serve` migrates it through PgBouncer."""
    name = f"ethicsforum_pgbouncer_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(POSTGRES_ADMIN_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        # PgBouncer refuses the `options` startup parameter that turns JIT off per
        # connection, so it is turned off on the database, as the README says.
        admin.execute(f'ALTER DATABASE "{name}" SET jit = off')
    try:
        yield name
    finally:
        with psycopg.connect(_libpq(POSTGRES_ADMIN_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _direct(name: str) -> str:
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)


def _environment(bouncer: Bouncer, database: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETHICSFORUM_")}
    env.update(
        ETHICSFORUM_DATABASE_URL=bouncer.url(database),
        ETHICSFORUM_LISTEN_DATABASE_URL=_direct(database),
        ETHICSFORUM_SECRET_KEY=SECRET,
        ETHICSFORUM_RATE_LIMITS="off",
        **extra,
    )
    return env


@pytest.fixture
def server(bouncer: Bouncer, database: str, tmp_path: Path) -> Iterator[str]:
    """`ethicsforum serve --workers 2`, requests through PgBouncer, LISTEN straight."""
    port = free_port()
    env = _environment(bouncer, database)
    log_path = tmp_path / "serve.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(  # noqa: S603
        [EF, "serve", "--port", str(port), "--workers", str(WORKERS)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, log_path.read_text()
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start: " + log_path.read_text())
        # Every worker is up once each holds its LISTEN connection on the server itself.
        _wait_for(lambda: _listeners(database) == WORKERS, "both workers' LISTEN connections")
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()
    assert "Traceback" not in log_path.read_text(), log_path.read_text()


def _listeners(database: str) -> int:
    with psycopg.connect(_libpq(POSTGRES_ADMIN_URL), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND query LIKE 'LISTEN %%'",
            (database,),
        ).fetchone()
    return int(row[0]) if row else 0


def _server_connections(database: str) -> int:
    with psycopg.connect(_libpq(POSTGRES_ADMIN_URL), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)
        ).fetchone()
    return int(row[0]) if row else 0


def _wait_for(condition, what: str, seconds: float = 20) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def classroom(database: str, server: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A faculty member, 40 students in a cohort, a case, and an open discussion."""
    settings = make_settings(_direct(database), tmp_path)
    engine = make_engine(settings)
    with Session(engine, expire_on_commit=False) as session:
        prof = make_account(session, username="prof", role="faculty")
        cohort = cohorts.create_cohort(session, name="Ward round", creator=prof)
        students = [make_account(session, username=f"s{n:02d}") for n in range(STUDENTS)]
        for student in students:
            cohorts.join(session, code=cohort.join_code, account=student)
        make_case(session, slug="test-case", frameworks=["autonomy", "justice"])
        watcher = session.exec(select(Account).where(Account.username == "s00")).one()
        cookie = sessions.start(
            session, account=watcher, absolute=timedelta(hours=1), user_agent=None
        )
    engine.dispose()

    def token(username: str) -> dict[str, str]:
        response = httpx.post(
            f"{server}/api/v1/auth/token",
            data={"username": username, "password": PASSWORD},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    opened = httpx.post(
        f"{server}/api/v1/discussions",
        json={
            "case_slug": "test-case",
            "cohort_id": cohort.id,
            "anonymity": "anonymous_to_peers",
            "post_first": False,
        },
        headers=token("prof"),
        timeout=30,
    )
    assert opened.status_code == 201, opened.text
    return {
        "discussion": opened.json()["id"],
        "students": [s.username for s in students],
        "token": token,
        "cookie": {sessions.COOKIE: cookie},
        "engine_url": _direct(database),
    }


def _count_positions(url: str, discussion: int) -> int:
    with psycopg.connect(_libpq(url)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM discussion_position WHERE discussion_id = %s",
            (discussion,),
        ).fetchone()
    return int(row[0]) if row else 0


def test_forty_students_posting_at_once_through_five_server_connections_are_all_stored(
    bouncer, database, server, classroom
):
    discussion = classroom["discussion"]
    headers = {name: classroom["token"](name) for name in classroom["students"]}
    start = threading.Barrier(STUDENTS)
    answers: dict[str, int | str] = {}
    most_on_server = 0

    def post(name: str) -> None:
        with httpx.Client(timeout=60) as client:
            start.wait()
            try:
                response = client.post(
                    f"{server}/api/v1/discussions/{discussion}/positions",
                    json=position_body(summary=f"Position of {name}"),
                    headers=headers[name],
                )
                answers[name] = response.status_code
            except httpx.HTTPError as exc:
                answers[name] = repr(exc)

    threads = [threading.Thread(target=post, args=(name,)) for name in classroom["students"]]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        most_on_server = max(most_on_server, _server_connections(database))
        time.sleep(0.02)
    for thread in threads:
        thread.join()

    assert answers == dict.fromkeys(classroom["students"], 201)
    assert _count_positions(classroom["engine_url"], discussion) == STUDENTS
    # The server saw PgBouncer's pool and one LISTEN per worker, never the 40 requests
    # (+1: this test's own sampling connection).
    assert most_on_server <= SERVER_POOL + WORKERS + 1
    # Every pooled connection has now run the same statements many times over: psycopg
    # would have prepared them (after 5 executions) and failed on another server
    # connection. Read everything back, repeatedly, through PgBouncer.
    for _ in range(3):
        with httpx.Client(timeout=60) as client:
            for name in classroom["students"][:20]:
                listed = client.get(
                    f"{server}/api/v1/discussions/{discussion}/positions", headers=headers[name]
                )
                assert listed.status_code == 200, listed.text


def test_a_position_posted_through_pgbouncer_reaches_an_open_event_stream(
    database, server, classroom
):
    discussion = classroom["discussion"]
    # Several streams, so that both workers very likely hold one; each hears the post only
    # through its worker's LISTEN connection on the server itself.
    readers = [
        EventReader(f"{server}/discussions/{discussion}/events", classroom["cookie"])
        for _ in range(4)
    ]
    try:
        assert all(reader.status == 200 for reader in readers)
        posted = httpx.post(
            f"{server}/api/v1/discussions/{discussion}/positions",
            json=position_body(summary="Heard through LISTEN"),
            headers=classroom["token"]("s01"),
            timeout=30,
        )
        assert posted.status_code == 201, posted.text
        for reader in readers:
            event = reader.next(timeout=20)
            assert event.event == "position" and "Heard through LISTEN" in event.data
            assert f'id="position-{posted.json()["id"]}"' in event.data
    finally:
        for reader in readers:
            reader.close()
    assert _listeners(database) == WORKERS


def _serve_refusal(bouncer: Bouncer, database: str, workers: int, tmp_path: Path) -> str:
    result = subprocess.run(  # noqa: S603
        [EF, "serve", "--workers", str(workers), "--port", str(free_port()), "--no-migrate"],
        env=_environment(bouncer, database),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    return line


def test_serve_refuses_workers_whose_pools_do_not_fit_pgbouncers_client_limit(
    bouncer, database, tmp_path
):
    line = _serve_refusal(bouncer, database, 5, tmp_path)
    assert "5 workers x 44 connections each to PgBouncer" in line
    assert "ETHICSFORUM_MAX_REQUESTS=40 + 4 for event streams) = 220" in line
    assert "more than PgBouncer's max_client_conn 200" in line
    # 5 x (36 + 4) = 200 fits.
    assert "set ETHICSFORUM_MAX_REQUESTS=36 or lower" in line


def test_serve_refuses_when_pgbouncers_server_pool_and_the_listeners_overfill_postgresql(
    bouncer, tmp_path
):
    pool = bouncer.max_connections - 5 - 1
    line = _serve_refusal(bouncer, bouncer.big_pool, 2, tmp_path)
    assert f"PgBouncer's server pool (pool_size {pool} + reserve_pool 0)" in line
    assert f"2 workers x 1 LISTEN connection straight to PostgreSQL = {pool + 2}" in line
    assert f"more than the {bouncer.max_connections - 5} PostgreSQL allows" in line
    assert "default_pool_size" in line
