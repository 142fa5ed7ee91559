"""Browser sign-in: server-side, revocable sessions, time-outs and rate limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from ethicsforum.accounts.models import BrowserSession
from ethicsforum.accounts.service import hash_token
from ethicsforum.db import utcnow
from tests.factories import PASSWORD, csrf_from, make_account, sign_in_browser


def post_login(client, username, password, **extra):
    token = csrf_from(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, **extra},
        follow_redirects=False,
    )


def test_signing_in_sets_a_httponly_samesite_cookie_holding_only_a_random_id(client, session):
    make_account(session, username="jo")
    response = post_login(client, "jo", PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("ef_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; Secure is set when served over HTTPS
    value = client.cookies["ef_session"]
    stored = session.exec(select(BrowserSession)).one()
    assert stored.token_hash == hash_token(value) and value not in stored.token_hash
    page = client.get("/cohorts")
    assert page.status_code == 200
    assert "jo" in BeautifulSoup(page.text, "html.parser").select_one("#signed-in-as").text


def test_every_sign_in_gets_a_new_session_and_ends_the_old_one(client, session):
    make_account(session, username="jo")
    sign_in_browser(client, "jo")
    first = client.cookies["ef_session"]
    sign_in_browser(client, "jo")
    second = client.cookies["ef_session"]
    assert first != second
    rows = session.exec(select(BrowserSession).order_by(BrowserSession.id)).all()
    assert rows[0].revoked_at is not None and rows[1].revoked_at is None


def test_signing_out_ends_the_session_on_the_server(client, session):
    make_account(session, username="jo")
    token = sign_in_browser(client, "jo")
    old = client.cookies["ef_session"]
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?signed_out=true"
    client.cookies.set("ef_session", old)  # a copy kept by an attacker is worthless now
    assert client.get("/cohorts", follow_redirects=False).headers["location"].startswith("/login")
    assert "You have signed out" in client.get("/login?signed_out=true").text


@pytest.mark.parametrize("field", ["last_seen_at", "expires_at"])
def test_idle_and_absolute_time_outs_end_a_session(client, session, field):
    make_account(session, username="jo")
    sign_in_browser(client, "jo")
    stored = session.exec(select(BrowserSession)).one()
    setattr(stored, field, utcnow() - timedelta(hours=13))
    session.add(stored)
    session.commit()
    response = client.get("/cohorts", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fcohorts"


def test_a_page_that_needs_sign_in_sends_a_visitor_there_and_back(client, session):
    make_account(session, username="jo")
    response = client.get("/cohorts", follow_redirects=False)
    assert response.headers["location"] == "/login?next=%2Fcohorts"
    back = post_login(client, "jo", PASSWORD, next="/cohorts")
    assert back.headers["location"] == "/cohorts"
    client.cookies.delete("ef_session")
    htmx = client.get("/cohorts", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 204
    assert htmx.headers["HX-Redirect"] == "/login?next=%2Fcohorts"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil"])
def test_sign_in_never_redirects_to_another_site(client, session, target):
    make_account(session, username="jo")
    assert post_login(client, "jo", PASSWORD, next=target).headers["location"] == "/"


@pytest.mark.parametrize(
    ("username", "password"), [("jo", "wrong-password-1"), ("nobody", PASSWORD)]
)
def test_a_failed_sign_in_says_the_same_thing_and_keeps_the_username(
    client, session, username, password
):
    make_account(session, username="jo")
    response = post_login(client, username, password)
    assert response.status_code == 401
    page = BeautifulSoup(response.text, "html.parser")
    assert page.select_one("#login-error").text == "Incorrect username or password."
    assert page.select_one("#username")["value"] == username
    assert "ef_session" not in client.cookies


def test_an_empty_sign_in_form_is_answered_with_a_message(client):
    response = post_login(client, "", "")
    assert response.status_code == 422
    assert "Enter your username" in response.text


@pytest.fixture
def limited_client(settings, tmp_path):
    from fastapi.testclient import TestClient

    from ethicsforum.main import create_app

    with TestClient(create_app(settings.model_copy(update={"rate_limits": True}))) as client:
        yield client


def test_ten_failures_lock_the_account_for_a_while_even_with_the_right_password(
    limited_client, session
):
    make_account(session, username="jo")
    for _ in range(10):
        assert post_login(limited_client, "jo", "wrong-password-1").status_code == 401
    locked = post_login(limited_client, "jo", PASSWORD)
    assert locked.status_code == 429
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    api = limited_client.post("/api/v1/auth/token", data={"username": "jo", "password": PASSWORD})
    assert api.status_code == 429 and "retry-after" in api.headers
    # Only the failures in the last 15 minutes count: once they age out, sign-in works.
    from ethicsforum.accounts.models import SignInAttempt

    for attempt in session.exec(select(SignInAttempt)).all():
        attempt.attempted_at = utcnow() - timedelta(minutes=16)
        session.add(attempt)
    session.commit()
    assert post_login(limited_client, "jo", PASSWORD).status_code == 303


def test_one_address_may_try_sixty_times_a_minute(limited_client, session):
    for n in range(60):
        response = limited_client.post(
            "/api/v1/auth/token", data={"username": f"guess{n}", "password": "x"}
        )
        assert response.status_code == 401
    response = limited_client.post(
        "/api/v1/auth/token", data={"username": "another", "password": "x"}
    )
    assert response.status_code == 429
    assert 0 < int(response.headers["retry-after"]) <= 60


def test_without_rate_limits_failures_do_not_lock(client, session):
    make_account(session, username="jo")
    for _ in range(12):
        post_login(client, "jo", "wrong-password-1")
    assert post_login(client, "jo", PASSWORD).status_code == 303
