"""`ethicsforum check --deploy` lists what is unsafe for production, one line each."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlmodel import select

from ethicsforum.accounts.models import Account
from ethicsforum.db import utcnow
from tests.conftest import SECRET, fresh
from tests.factories import make_account
from tests.test_cli import EF

PRODUCTION = {
    "ETHICSFORUM_BASE_URL": "https://forum.example.org",
    "ETHICSFORUM_PROXY_HEADERS": "on",
    "ETHICSFORUM_FORWARDED_ALLOW_IPS": "10.0.0.2",
    "ETHICSFORUM_RATE_LIMITS": "on",
}


def run(args: list[str], database_url: str, tmp_path: Path, **env: str):  # type: ignore[no-untyped-def]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ETHICSFORUM_")}
    environment.update(
        {"ETHICSFORUM_DATABASE_URL": database_url, "ETHICSFORUM_SECRET_KEY": SECRET, **env}
    )
    return subprocess.run(  # noqa: S603
        [EF, *args], capture_output=True, text=True, cwd=tmp_path, env=environment, timeout=120
    )


def check(database_url, tmp_path, *args: str, **env: str):  # type: ignore[no-untyped-def]
    return run(["check", "--deploy", *args], database_url, tmp_path, **{**PRODUCTION, **env})


def test_a_production_configuration_has_no_problems(database_url, tmp_path):
    result = check(database_url, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "ethicsforum: no problems found"


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        ({"ETHICSFORUM_BASE_URL": ""}, [], "ETHICSFORUM_BASE_URL is not set"),
        (
            {
                "ETHICSFORUM_BASE_URL": "http://forum.example.org",
                "ETHICSFORUM_PROXY_HEADERS": "off",
            },
            [],
            "is http://forum.example.org",
        ),
        ({"ETHICSFORUM_PROXY_HEADERS": "off"}, [], "proxy headers are off"),
        ({"ETHICSFORUM_FORWARDED_ALLOW_IPS": "*"}, [], "trusted from any address"),
        ({"ETHICSFORUM_RATE_LIMITS": "off"}, [], "rate limits are off"),
        ({"ETHICSFORUM_WORKERS": "3"}, [], "workers"),
        ({}, ["--workers", "3"], "workers"),
    ],
    ids=[
        "no-base-url",
        "plain-http",
        "no-proxy-headers",
        "any-proxy",
        "rate-limits",
        "env-workers",
        "workers",
    ],
)
def test_each_unsafe_setting_is_one_line_with_its_fix(database_url, tmp_path, env, args, expected):
    result = check(database_url, tmp_path, *args, **env)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, lines
    assert expected in lines[0] and "(fix: " in lines[0]
    if expected == "workers":
        # SQLite may not have several; on PostgreSQL three workers' pools do not fit.
        if database_url.startswith("sqlite"):
            assert "SQLite with 3 workers" in lines[0]
        else:
            assert "3 workers x 45 connections" in lines[0]
            assert "max_connections" in lines[0] and "ETHICSFORUM_MAX_REQUESTS=" in lines[0]


def test_active_demo_accounts_are_a_problem_until_deactivated(
    database_url, tmp_path, settings, engine, session
):
    from ethicsforum import demo

    demo.ensure_demo(settings, engine)
    result = check(database_url, tmp_path)
    assert result.returncode == 1
    [line] = result.stdout.strip().splitlines()
    assert "demo accounts are active" in line and "student1" in line and "admin" in line
    for account in fresh(session).exec(select(Account)).all():
        account.deactivated_at = utcnow()
        session.add(account)
    session.commit()
    assert check(database_url, tmp_path).returncode == 0


def test_a_real_account_named_like_a_demo_one_is_not_flagged(database_url, tmp_path, session):
    make_account(session, username="admin", role="admin", display_name="Head of IT")
    result = check(database_url, tmp_path)
    assert result.returncode == 0, result.stdout


def test_a_generated_secret_key_is_flagged_and_more_so_when_others_can_read_it(
    database_url, tmp_path
):
    key = tmp_path / "instance" / "secret_key"
    key.parent.mkdir()
    key.write_text("x" * 64 + "\n")
    os.chmod(key, 0o600)
    result = check(database_url, tmp_path, ETHICSFORUM_SECRET_KEY="")
    [line] = result.stdout.strip().splitlines()
    assert result.returncode == 1 and "ETHICSFORUM_SECRET_KEY is not set" in line
    os.chmod(key, 0o644)
    result = check(database_url, tmp_path, ETHICSFORUM_SECRET_KEY="")
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and "readable by other users" in lines[1] and "chmod 600" in lines[1]


def test_check_without_deploy_only_checks_configuration_and_database(database_url, tmp_path):
    result = run(["check"], database_url, tmp_path)
    assert result.returncode == 0 and "no problems found" in result.stdout


def test_serve_refuses_workers_whose_pools_do_not_fit_postgresql(database_url, tmp_path):
    if database_url.startswith("sqlite"):
        pytest.skip("the connection budget is PostgreSQL's")
    result = run(["serve", "--workers", "3", "--port", "1"], database_url, tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "3 workers x 45 connections" in line and "max_connections 100" in line
