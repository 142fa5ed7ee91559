"""Cross-site request forgery: every cookie-carrying unsafe request needs the token."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from ethicsforum.accounts.models import Cohort
from tests.conftest import fresh
from tests.factories import csrf_from, make_account, sign_in_browser


@pytest.fixture
def faculty_token(client, session):
    make_account(session, username="prof", role="faculty")
    return sign_in_browser(client, "prof")


def cohort_count(session) -> int:
    return len(fresh(session).exec(select(Cohort)).all())


def refused(response) -> bool:
    page = BeautifulSoup(response.text, "html.parser")
    return response.status_code == 403 and page.select_one("h1").text == "Request refused"


def test_a_form_with_the_token_goes_through(client, session, faculty_token):
    response = client.post(
        "/cohorts", data={"name": "Ethics 1", "csrf_token": faculty_token}, follow_redirects=False
    )
    assert response.status_code == 303
    assert cohort_count(session) == 1


@pytest.mark.parametrize("token", [None, "", "forged-token-value"])
def test_a_form_without_a_valid_token_is_refused(client, session, faculty_token, token):
    data = {"name": "Ethics 1"}
    if token is not None:
        data["csrf_token"] = token
    assert refused(client.post("/cohorts", data=data))
    assert cohort_count(session) == 0


def test_the_token_of_another_session_is_refused(client, session, faculty_token):
    from fastapi.testclient import TestClient

    make_account(session, username="other", role="faculty")
    with TestClient(client.app) as other:
        other_token = sign_in_browser(other, "other")
    assert refused(client.post("/cohorts", data={"name": "x", "csrf_token": other_token}))


def test_htmx_requests_carry_the_token_in_a_header(client, session, faculty_token):
    ok = client.post(
        "/cohorts",
        data={"name": "Ethics 1"},
        headers={"X-CSRF-Token": faculty_token, "HX-Request": "true"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert refused(
        client.post(
            "/cohorts", data={"name": "x"}, headers={"X-CSRF-Token": "wrong", "HX-Request": "true"}
        )
    )


def test_every_page_puts_the_token_on_the_body_for_htmx(client, session, faculty_token):
    body = BeautifulSoup(client.get("/cohorts").text, "html.parser").select_one("body")
    assert faculty_token in body["hx-headers"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_a_cross_site_post_is_refused_even_with_the_token(client, session, faculty_token, headers):
    response = client.post(
        "/cohorts", data={"name": "x", "csrf_token": faculty_token}, headers=headers
    )
    assert refused(response)
    assert cohort_count(session) == 0


def test_same_origin_fetch_metadata_is_accepted(client, session, faculty_token):
    response = client.post(
        "/cohorts",
        data={"name": "x", "csrf_token": faculty_token},
        headers={"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_signing_in_needs_the_anonymous_token_too(client, session):
    make_account(session, username="jo")
    client.get("/login")
    response = client.post("/login", data={"username": "jo", "password": "x"})
    assert refused(response)
    assert "ef_csrf" in client.cookies


def test_signing_out_needs_the_token(client, session, faculty_token):
    assert refused(client.post("/logout"))
    assert client.get("/cohorts", follow_redirects=False).status_code == 200


def test_the_api_never_authenticates_by_cookie(client, session, faculty_token):
    assert client.get("/api/v1/me").status_code == 401
    assert client.post("/api/v1/cohorts", json={"name": "x"}).status_code == 401


def test_a_join_link_does_not_join_until_the_form_is_posted(client, session):
    from ethicsforum.accounts import cohorts

    prof = make_account(session, username="prof", role="faculty")
    cohort = cohorts.create_cohort(session, name="C", creator=prof)
    make_account(session, username="stu")
    token = sign_in_browser(client, "stu")
    page = client.get(f"/join/{cohort.join_code}")
    assert page.status_code == 200
    assert len(cohorts.members(fresh(session), cohort=cohort)) == 1
    assert csrf_from(page.text) == token
    joined = client.post(
        "/cohorts/join",
        data={"join_code": cohort.join_code, "csrf_token": token},
        follow_redirects=False,
    )
    assert joined.status_code == 303
    assert len(cohorts.members(fresh(session), cohort=cohort)) == 2
