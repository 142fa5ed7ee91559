"""Sign-in limits count an account's failures per address, so they cannot lock its owner out."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ethicsforum.main import create_app
from tests.conftest import make_settings
from tests.factories import PASSWORD, make_account


@pytest.fixture
def from_address(settings, tmp_path):
    app = create_app(make_settings(settings.database_url, tmp_path, rate_limits=True))
    clients: list[TestClient] = []

    def client_from(address: str) -> TestClient:
        client = TestClient(app, client=(address, 50000))
        client.__enter__()
        clients.append(client)
        return client

    yield client_from
    for client in clients:
        client.__exit__(None, None, None)


def token(client: TestClient, username: str, password: str) -> int:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    if response.status_code == 429:
        assert 0 < int(response.headers["retry-after"]) <= 15 * 60
    return response.status_code


def test_someone_elses_failures_do_not_lock_the_owner_out(from_address, session):
    make_account(session, username="jo")
    attacker, owner = from_address("203.0.113.9"), from_address("10.1.1.1")
    statuses = [token(attacker, "jo", "wrong-password-1") for _ in range(12)]
    assert statuses == [401] * 10 + [429] * 2
    # From their usual address the owner still signs in, through the API and the page.
    assert token(owner, "jo", PASSWORD) == 200
    page = owner.post(
        "/login",
        data={"username": "jo", "password": PASSWORD, "csrf_token": _csrf(owner)},
        follow_redirects=False,
    )
    assert page.status_code == 303
    # The attacker's address stays locked for this account, even with the right password.
    assert token(attacker, "jo", PASSWORD) == 429


def test_a_hundred_failures_from_many_addresses_lock_the_account_everywhere(from_address, session):
    make_account(session, username="jo")
    failures = 0
    for n in range(12):  # 9 from each of 12 addresses: never 10 from one
        attacker = from_address(f"198.51.100.{n}")
        for _ in range(9):
            if failures < 100:
                assert token(attacker, "jo", "wrong-password-1") == 401
                failures += 1
    assert token(from_address("10.1.1.1"), "jo", PASSWORD) == 429


def test_the_per_address_limit_still_holds_across_accounts(from_address, session):
    client = from_address("192.0.2.7")
    statuses = [token(client, f"guess{n}", "x") for n in range(61)]
    assert statuses == [401] * 60 + [429]


def _csrf(client: TestClient) -> str:
    from tests.factories import csrf_from

    return csrf_from(client.get("/login").text)
