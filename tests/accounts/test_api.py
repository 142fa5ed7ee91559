"""Bearer tokens, the current account and account creation through the API."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, make_account, token_for


def test_a_token_is_issued_for_good_credentials_and_identifies_the_account(client, session):
    make_account(
        session, username="robin", role="faculty", display_name="Dr Robin", profession="medicine"
    )
    response = client.post("/api/v1/auth/token", data={"username": "Robin", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json() == {
        "id": me.json()["id"],
        "username": "robin",
        "display_name": "Dr Robin",
        "role": "faculty",
        "profession": "medicine",
    }


@pytest.mark.parametrize(
    ("username", "password"), [("robin", "wrong-password-1"), ("nobody", PASSWORD)]
)
def test_bad_credentials_get_the_same_401(client, session, username, password):
    make_account(session, username="robin")
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 401
    assert response.json() == {"detail": "incorrect username or password"}


def test_a_revoked_token_no_longer_works(client, session):
    account = make_account(session)
    headers = token_for(client, account.username)
    assert client.post("/api/v1/auth/revoke", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_passwords_are_stored_as_argon2id_hashes(session):
    account = make_account(session)
    assert account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in account.password_hash


def test_an_admin_creates_accounts(client, session):
    admin = make_account(session, role="admin")
    headers = token_for(client, admin.username)
    response = client.post(
        "/api/v1/users",
        headers=headers,
        json={
            "username": "newstudent",
            "password": "a-long-enough-pass",
            "role": "student",
            "display_name": "New Student",
            "profession": "nursing",
        },
    )
    assert response.status_code == 201
    assert response.json()["profession"] == "nursing"
    duplicate = client.post(
        "/api/v1/users",
        headers=headers,
        json={"username": "newstudent", "password": "a-long-enough-pass", "role": "student"},
    )
    assert duplicate.status_code == 409
    weak = client.post(
        "/api/v1/users",
        headers=headers,
        json={"username": "other", "password": "password", "role": "student"},
    )
    assert weak.status_code == 422


@pytest.mark.parametrize("role", ["student", "faculty", "committee"])
def test_only_admins_create_accounts_whatever_they_send(client, session, role):
    headers = token_for(client, make_account(session, role=role).username)
    assert client.post("/api/v1/users", headers=headers, json={}).status_code == 403
    assert client.post("/api/v1/users", json={}).status_code == 401


def test_an_unknown_user_and_a_wrong_password_take_the_same_time(
    client, session, real_password_hashing
):

    import statistics
    import time

    make_account(session, username="robin")

    def median_seconds(username: str) -> float:
        times = []
        for _ in range(7):
            start = time.perf_counter()
            client.post("/api/v1/auth/token", data={"username": username, "password": "nope-1"})
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    known, unknown = median_seconds("robin"), median_seconds("nobody-at-all")
    # Both verify an Argon2 hash; without the dummy hash an unknown name would answer in a
    # fraction of the time and give away which usernames exist.
    assert 0.5 < unknown / known < 2.0


@pytest.mark.parametrize("length", [72, 73, 1024])
def test_a_long_passphrase_is_judged_not_a_500(client, session, length):
    # zxcvbn refuses more than 72 characters with a ValueError, which was a 500.
    admin = make_account(session, role="admin")
    phrase = ("correct horse battery staple " * 40)[:length]
    response = client.post(
        "/api/v1/users",
        headers=token_for(client, admin.username),
        json={"username": f"long{length}", "password": phrase, "role": "student"},
    )
    assert response.status_code == 201, response.text
