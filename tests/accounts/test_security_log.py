"""Security events: one structured line each on `ethicsforum.security`, never a secret."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from ethicsforum import security_log
from ethicsforum.accounts import sessions
from ethicsforum.accounts.models import Account
from ethicsforum.main import create_app
from tests.conftest import fresh, make_settings
from tests.discussions.conftest import open_discussion, world  # noqa: F401
from tests.factories import PASSWORD, csrf_from, make_account, token_for

LOGGER = "ethicsforum.security"


@pytest.fixture
def events(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)

    def named(name: str) -> list[logging.LogRecord]:
        return [
            r
            for r in caplog.records
            if r.name == LOGGER and getattr(r, "security_event", None) == name
        ]

    named.clear = caplog.clear  # type: ignore[attr-defined]
    named.records = lambda: [r for r in caplog.records if r.name == LOGGER]  # type: ignore[attr-defined]
    return named


def only(events, name: str) -> dict[str, object]:
    found = events(name)
    assert len(found) == 1, [r.getMessage() for r in events.records()]
    record = found[0]
    assert record.levelno == logging.INFO
    assert record.getMessage().startswith(f"security event={name} ")
    return dict(record.security_fields)


def no_secret_anywhere(events, *secrets: str) -> None:
    for record in events.records():
        text = record.getMessage() + repr(record.__dict__)
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked into {record.getMessage()!r}"


def test_the_line_is_logfmt_and_a_hostile_value_cannot_forge_a_second_line(events):
    security_log.event("sign_in_failed", username="ann\nsecurity event=forged", address="::1")
    (record,) = events.records()
    assert record.getMessage() == (
        'security event=sign_in_failed username="ann\\nsecurity event=forged" address=::1'
    )
    assert "\n" not in record.getMessage()
    with pytest.raises(ValueError, match="secrets"):
        security_log.event("sign_in_failed", username="ann", password="x")


def test_sign_in_token_revocation_and_sign_out_are_logged_without_secrets(client, session, events):
    account = make_account(session, username="jo")
    bad = "wrong-password-1"
    assert (
        client.post("/api/v1/auth/token", data={"username": "jo", "password": bad}).status_code
        == 401
    )
    assert only(events, "sign_in_failed") == {"username": "jo", "address": "testclient"}
    response = client.post("/api/v1/auth/token", data={"username": "jo", "password": PASSWORD})
    token = response.json()["access_token"]
    assert only(events, "sign_in_succeeded") == {
        "username": "jo",
        "account_id": account.id,
        "address": "testclient",
    }
    assert only(events, "token_created") == {"username": "jo", "account_id": account.id}
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/auth/revoke", headers=headers).status_code == 204
    assert only(events, "token_revoked") == {"username": "jo", "account_id": account.id}

    csrf = csrf_from(client.get("/login").text)
    client.post("/login", data={"username": "jo", "password": PASSWORD, "csrf_token": csrf})
    cookie = client.cookies.get(sessions.COOKIE)
    assert cookie
    csrf = csrf_from(client.get("/cohorts").text)
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 200
    assert only(events, "signed_out") == {"username": "jo", "account_id": account.id}
    assert len(events("sign_in_succeeded")) == 2
    password_hash = fresh(session).exec(select(Account.password_hash)).one()
    no_secret_anywhere(events, PASSWORD, bad, token, cookie, csrf, password_hash)


def test_a_lockout_is_logged(settings, tmp_path, session, events):
    make_account(session, username="jo")
    app = create_app(make_settings(settings.database_url, tmp_path, rate_limits=True))
    with TestClient(app) as client:
        for _ in range(11):
            client.post("/api/v1/auth/token", data={"username": "jo", "password": "nope-nope-1"})
    fields = only(events, "sign_in_locked")
    assert fields["username"] == "jo" and fields["address"] == "testclient"
    assert 0 < int(fields["retry_after"]) <= 900  # type: ignore[call-overload]
    assert len(events("sign_in_failed")) == 10
    no_secret_anywhere(events, "nope-nope-1")


def test_account_creation_is_logged_with_who_did_it(client, session, events):
    admin = make_account(session, username="root", role="admin")
    headers = token_for(client, admin.username)
    events.clear()
    new_password = "a-much-longer-pass-77"
    response = client.post(
        "/api/v1/users",
        json={"username": "newbie", "password": new_password, "role": "faculty"},
        headers=headers,
    )
    assert response.status_code == 201
    assert only(events, "account_created") == {
        "username": "newbie",
        "role": "faculty",
        "account_id": response.json()["id"],
        "by": "root",
    }
    no_secret_anywhere(events, new_password, headers["Authorization"].split()[1])


def test_membership_changes_and_join_refusals_are_logged(client, session, events):
    make_account(session, username="prof", role="faculty")
    make_account(session, username="ann")
    make_account(session, username="colleague", role="faculty")
    prof, ann, colleague = (token_for(client, u) for u in ("prof", "ann", "colleague"))
    events.clear()
    cohort = client.post("/api/v1/cohorts", json={"name": "Seminar"}, headers=prof).json()
    cid = cohort["id"]
    assert only(events, "cohort_created") == {
        "cohort_id": cid,
        "username": "prof",
        "member_role": "faculty",
    }
    client.post("/api/v1/cohorts/join", json={"join_code": "QQQQ-QQQQ"}, headers=ann)
    assert only(events, "join_failed") == {"username": "ann", "address": "testclient"}
    client.post("/api/v1/cohorts/join", json={"join_code": cohort["join_code"]}, headers=ann)
    assert only(events, "member_joined") == {
        "cohort_id": cid,
        "username": "ann",
        "member_role": "student",
        "address": "testclient",
    }
    client.post("/api/v1/cohorts/join", json={"join_code": cohort["join_code"]}, headers=colleague)
    assert only(events, "join_refused") == {
        "username": "colleague",
        "role": "faculty",
        "address": "testclient",
    }
    client.post(f"/api/v1/cohorts/{cid}/members", json={"username": "colleague"}, headers=prof)
    assert only(events, "member_added") == {
        "cohort_id": cid,
        "username": "colleague",
        "member_role": "faculty",
        "by": "prof",
    }
    client.delete(f"/api/v1/cohorts/{cid}/members/ann", headers=colleague)
    assert only(events, "member_removed") == {
        "cohort_id": cid,
        "username": "ann",
        "member_role": "student",
        "by": "colleague",
    }
    assert cohort["join_code"].replace("-", "") not in repr(
        [r.getMessage() for r in events.records()]
    )


def test_joins_held_off_are_logged(settings, tmp_path, session, events):
    make_account(session, username="guesser")
    app = create_app(make_settings(settings.database_url, tmp_path, rate_limits=True))
    with TestClient(app) as client:
        headers = token_for(client, "guesser")
        for n in range(11):
            client.post("/api/v1/cohorts/join", json={"join_code": f"ZZZZ{n:04d}"}, headers=headers)
    fields = only(events, "join_locked")
    assert fields["username"] == "guesser" and fields["address"] == "testclient"
    assert len(events("join_failed")) == 10


def test_exports_with_names_are_logged(client, session, world, events):  # noqa: F811
    discussion = open_discussion(client, world)
    did, cid = discussion["id"], world["cohort"].id
    prof = world["h"]["prof"]
    for fmt in ("csv", "json", "markdown"):
        url = f"/api/v1/discussions/{did}/export?format={fmt}"
        assert client.get(url, headers=prof).status_code == 200
    exports = [dict(r.security_fields) for r in events("export_with_names")]
    assert exports == [
        {"kind": f"discussion_{fmt}", "discussion_id": did, "cohort_id": cid, "username": "prof"}
        for fmt in ("csv", "json")
    ]  # the brief is anonymised: not an export with names

    from tests.factories import sign_in_browser

    sign_in_browser(client, "prof")
    assert client.get(f"/discussions/{did}/participation.csv").status_code == 200
    assert client.get(f"/cohorts/{cid}/participation.csv").status_code == 200
    exports = [dict(r.security_fields) for r in events("export_with_names")][2:]
    assert exports == [
        {"kind": "discussion_csv", "discussion_id": did, "cohort_id": cid, "username": "prof"},
        {"kind": "cohort_csv", "cohort_id": cid, "username": "prof"},
    ]
