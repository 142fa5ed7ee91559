"""Passwords: common ones refused wherever a password is set; hashes kept up to date at sign-in."""

from __future__ import annotations

import dataclasses

import pytest
from argon2 import PasswordHasher, profiles
from sqlmodel import select

from ethicsforum.accounts import service
from ethicsforum.accounts.models import Account
from tests.conftest import fresh
from tests.factories import PASSWORD, csrf_from, make_account, token_for
from tests.test_cli import run

COMMON = [
    "password123",
    "qwertyuiop",
    "iloveyou12",
    "letmein2024",
    "123456789a",
    "Password1!",
    "qwerty12345",
    "welcome123",
    "1q2w3e4r5t",
    "Summer2024!",
]


def test_common_passwords_are_refused_by_the_api(client, session):
    headers = token_for(client, make_account(session, role="admin").username)
    for n, password in enumerate(COMMON):
        response = client.post(
            "/api/v1/users",
            json={"username": f"new{n}", "password": password, "role": "student"},
            headers=headers,
        )
        assert response.status_code == 422, password
        assert "too easy to guess" in response.json()["detail"][0]["msg"]
    assert fresh(session).exec(select(Account).where(Account.username == "new0")).first() is None


def test_common_passwords_are_refused_by_the_command_line(database_url, tmp_path):
    for password in COMMON:
        result = run(
            ["users", "create", "sam", "--role", "student", "--password-stdin"],
            database_url,
            tmp_path,
            stdin=password + "\n",
        )
        assert result.returncode != 0, password
        assert "too easy to guess" in result.stderr and result.stderr.count("\n") == 1
        assert password not in result.stderr


@pytest.fixture
def stronger_hasher():
    """Another Argon2 profile than the one the accounts were created with (still cheap)."""
    parameters = dataclasses.replace(profiles.CHEAPEST, time_cost=2, memory_cost=16)
    hasher = PasswordHasher.from_parameters(parameters)
    previous = service.use_password_hasher(hasher)
    yield hasher
    service.use_password_hasher(previous)


@pytest.mark.parametrize("through", ["token", "page"])
def test_a_password_is_rehashed_at_sign_in_when_the_parameters_change(
    client, session, through, request
):
    account = make_account(session, username="jo")
    old_hash = account.password_hash
    cheapest = PasswordHasher.from_parameters(profiles.CHEAPEST)
    assert not cheapest.check_needs_rehash(old_hash)
    hasher: PasswordHasher = request.getfixturevalue("stronger_hasher")
    assert hasher.check_needs_rehash(old_hash)

    def sign_in() -> None:
        if through == "token":
            response = client.post(
                "/api/v1/auth/token", data={"username": "jo", "password": PASSWORD}
            )
            assert response.status_code == 200
        else:
            csrf = csrf_from(client.get("/login").text)
            response = client.post(
                "/login",
                data={"username": "jo", "password": PASSWORD, "csrf_token": csrf},
                follow_redirects=False,
            )
            assert response.status_code == 303
            client.cookies.clear()

    sign_in()
    new_hash = fresh(session).exec(select(Account.password_hash)).one()
    assert new_hash != old_hash and not hasher.check_needs_rehash(new_hash)
    assert hasher.verify(new_hash, PASSWORD)
    sign_in()  # once current, the hash is left alone
    assert fresh(session).exec(select(Account.password_hash)).one() == new_hash


def test_a_failed_sign_in_never_rehashes(client, session, stronger_hasher):
    account = make_account(session, username="jo")
    response = client.post("/api/v1/auth/token", data={"username": "jo", "password": "nope-1234"})
    assert response.status_code == 401
    assert fresh(session).exec(select(Account.password_hash)).one() == account.password_hash


@pytest.mark.parametrize("route", ["/login", "/api/v1/auth/token"])
def test_the_password_is_checked_before_anything_is_written(client, session, app, route):
    """Argon2 is slow on purpose: on SQLite the request's write transaction (which holds the
    database's only write lock from its BEGIN) must not be open while it runs, or a class
    signing in at once queues behind every hash. The credentials are read and checked on a
    read connection; the write connection's first statement comes after."""
    from sqlalchemy import event

    from tests.factories import PASSWORD, csrf_from, make_account

    make_account(session, username="jo")
    data = {"username": "jo", "password": PASSWORD}
    if route == "/login":
        data["csrf_token"] = csrf_from(client.get("/login").text)
    statements: list[tuple[int, str]] = []

    def seen(conn, _cursor, statement, *_):  # type: ignore[no-untyped-def]
        statements.append((id(conn.connection.dbapi_connection), statement.strip().upper()))

    event.listen(app.state.engine, "before_cursor_execute", seen)
    try:
        answer = client.post(route, data=data, follow_redirects=False)
    finally:
        event.remove(app.state.engine, "before_cursor_execute", seen)
    assert answer.status_code in (200, 303), answer.text
    account_read = next(
        i for i, (_, s) in enumerate(statements) if "FROM ACCOUNT" in s and "USERNAME" in s
    )
    reader = statements[account_read][0]
    writes = [i for i, (conn, s) in enumerate(statements) if s.startswith(("INSERT", "UPDATE"))]
    assert writes, statements
    writer = statements[writes[0]][0]
    assert writer != reader, "the password was checked inside the write transaction"
    assert all(conn != writer for conn, _ in statements[: account_read + 1]), (
        "the write transaction began before the password was checked"
    )
