"""The operator interface: the `ethicsforum` command as the contract describes it."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from ethicsforum.db import write_session
from tests.conftest import REPO, SECRET

EF = str(REPO / ".venv" / "bin" / "ethicsforum")


def run(
    args: list[str], database_url: str, tmp_path: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ETHICSFORUM_")}
    environment.update(
        ETHICSFORUM_DATABASE_URL=database_url,
        ETHICSFORUM_SECRET_KEY=SECRET,
        ETHICSFORUM_RATE_LIMITS="off",
        **env,
    )
    return subprocess.run(  # noqa: S603
        [EF, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=120,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_validate_accepts_the_shipped_cases(tmp_path):
    result = run(["cases", "validate", str(REPO / "cases")], "sqlite:///x.db", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "12 of 12" in result.stderr or "of" in result.stderr


def test_validate_prints_every_problem_with_file_and_line(tmp_path):
    bad = tmp_path / "bad-case.md"
    bad.write_text("---\nslug: bad-case\ntitle: x\nstatus: nope\n---\nbody\n")
    result = run(
        ["cases", "validate", str(bad), str(REPO / "cases" / "duty-to-warn-threat.md")],
        "sqlite:///x.db",
        tmp_path,
    )
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert f"{bad}:4: status: expected one of draft, review, curated, retired" in lines
    assert any(line.startswith(f"{bad}:1: summary:") for line in lines)
    assert all(line.startswith(str(bad)) for line in lines)


def test_import_then_export_round_trips_and_reimport_is_unchanged(database_url, tmp_path):
    source = REPO / "cases" / "medication-error-disclosure.md"
    # Imports arrive as drafts unless the operator keeps the stated status, with a reason.
    keep = ["--keep-status", "--reason", "The shipped library"]
    first = run(["cases", "import", str(source), *keep], database_url, tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "imported medication-error-disclosure"
    out = tmp_path / "exported.md"
    exported = run(
        ["cases", "export", "medication-error-disclosure", "-o", str(out)], database_url, tmp_path
    )
    assert exported.returncode == 0, exported.stderr
    assert out.read_text() == source.read_text()
    again = run(["cases", "import", str(source)], database_url, tmp_path)
    assert again.stdout.strip() == "unchanged medication-error-disclosure"


def test_import_refuses_changed_content_under_an_existing_slug(database_url, tmp_path):
    source = REPO / "cases" / "duty-to-warn-threat.md"
    assert run(["cases", "import", str(source)], database_url, tmp_path).returncode == 0
    changed = tmp_path / "duty-to-warn-threat.md"
    changed.write_text(source.read_text().replace("version: 1", "version: 2"))
    result = run(["cases", "import", str(changed)], database_url, tmp_path)
    assert result.returncode == 1
    assert "already exists with different content" in result.stderr


def test_export_of_an_unknown_case_is_one_clear_line(database_url, tmp_path):
    result = run(["cases", "export", "nothing-here"], database_url, tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == "ethicsforum: no case 'nothing-here'"


def test_db_upgrade_reports_the_revision(database_url, tmp_path):
    result = run(["db", "upgrade"], database_url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "database at revision" in result.stdout


def test_users_create_reads_the_password_from_stdin(database_url, tmp_path):
    ok = run(
        [
            "users",
            "create",
            "alex",
            "--role",
            "faculty",
            "--display-name",
            "Dr Alex",
            "--password-stdin",
        ],
        database_url,
        tmp_path,
        stdin="a-long-enough-pass\n",
    )
    assert ok.returncode == 0, ok.stderr
    again = run(
        ["users", "create", "alex", "--role", "faculty", "--password-stdin"],
        database_url,
        tmp_path,
        stdin="a-long-enough-pass\n",
    )
    assert again.returncode != 0
    assert again.stderr.strip().count("\n") == 0 and "taken" in again.stderr
    weak = run(
        ["users", "create", "sam", "--role", "student", "--password-stdin"],
        database_url,
        tmp_path,
        stdin="short\n",
    )
    assert weak.returncode != 0 and "at least" in weak.stderr
    bad_role = run(
        ["users", "create", "kim", "--role", "dean", "--password-stdin"],
        database_url,
        tmp_path,
        stdin="a-long-enough-pass\n",
    )
    assert bad_role.returncode != 0 and "role" in bad_role.stderr


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not-a-url", "invalid configuration: ETHICSFORUM_DATABASE_URL"),
        ("postgresql+psycopg://nobody@127.0.0.1:1/nothing", "cannot reach the database"),
    ],
)
def test_serve_stops_with_one_clear_line_when_the_database_is_wrong(tmp_path, url, expected):
    result = run(["serve", "--port", str(free_port())], url, tmp_path)
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("ethicsforum: ") and expected in line


def test_serve_without_migrating_refuses_an_old_database(tmp_path):
    result = run(["serve", "--no-migrate"], f"sqlite:///{tmp_path / 'empty.db'}", tmp_path)
    assert result.returncode == 1
    assert "run `ethicsforum db upgrade`" in result.stderr


@pytest.mark.parametrize("demo", [False, True], ids=["plain", "demo"])
def test_serve_migrates_imports_the_cases_and_answers(database_url, tmp_path, demo):
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ETHICSFORUM_")}
    environment.update(ETHICSFORUM_DATABASE_URL=database_url, ETHICSFORUM_SECRET_KEY=SECRET)
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(  # noqa: S603
        [EF, "serve", "--port", str(port), *(["--demo"] if demo else [])],
        cwd=tmp_path,
        env=environment,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        for _ in range(150):
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/cases", timeout=2)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        else:
            pytest.fail("the server did not answer within 30 s")
        assert response.status_code == 200
        assert response.text.count('class="case-card"') >= 12
        login = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5).text
        assert ('id="demo-credentials"' in login) is demo
        token = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/token",
            data={"username": "student1", "password": "demo-password-2026"},
        )
        assert token.status_code == (200 if demo else 401)

    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()
    assert "imported 12 cases" in (tmp_path / "serve.log").read_text()


def test_backup_is_a_consistent_copy_taken_while_writes_go_on(
    database_url, engine, library, tmp_path
):
    from ethicsforum.cases.models import EthicsCase

    stop = threading.Event()

    def keep_writing() -> None:
        n = 0
        while not stop.is_set():
            with write_session(engine) as session:
                session.add(EthicsCase(slug=f"during-backup-{n}", status="draft"))
                session.commit()
            n += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        target = tmp_path / "backups" / "copy.bak"
        result = run(["db", "backup", str(target)], database_url, tmp_path)
    finally:
        stop.set()
        writer.join()
    assert result.returncode == 0, result.stderr
    assert target.stat().st_size > 0
    assert not list(target.parent.glob("*.partial"))
    if database_url.startswith("sqlite"):
        copy = sqlite3.connect(target)
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        slugs = {row[0] for row in copy.execute("SELECT slug FROM ethics_case")}
        copy.close()
        assert set(library) <= slugs
    else:
        listing = subprocess.run(  # noqa: S603
            ["pg_restore", "--list", str(target)],
            capture_output=True,
            text=True,
            check=True,
        )
        assert "TABLE DATA public ethics_case" in listing.stdout


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("postgresql+psycopg://nobody@127.0.0.1:1/nothing", "cannot reach the LISTEN database"),
        ("OTHER", "live updates would never be heard"),
    ],
    ids=["unreachable", "other-database"],
)
def test_serve_stops_with_one_clear_line_when_the_listen_address_is_wrong(
    database_url, tmp_path, listen, expected
):
    from sqlalchemy.engine import make_url

    if database_url.startswith("sqlite"):
        pytest.skip("a LISTEN address is PostgreSQL's")
    if listen == "OTHER":
        listen = make_url(database_url).set(database="postgres").render_as_string(False)
    result = run(
        ["serve", "--port", str(free_port()), "--no-migrate"],
        database_url,
        tmp_path,
        ETHICSFORUM_LISTEN_DATABASE_URL=listen,
    )
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("ethicsforum: ") and expected in line, line
