"""ETHICSFORUM_BASE_URL, the Host header, HTTPS cookies, HSTS and Cache-Control."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest
from fastapi.testclient import TestClient

from ethicsforum.accounts import cohorts
from ethicsforum.main import create_app
from tests.conftest import make_settings
from tests.factories import csrf_from, make_account, make_case, sign_in_browser, token_for

BASE = "https://forum.example.org"


def _cookies(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Each Set-Cookie of a response, by name, as its raw header line."""
    out = {}
    for line in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(line)
        for name in jar:
            out[name] = line
    return out


@pytest.fixture
def world(session):
    prof = make_account(session, username="prof", role="faculty")
    student = make_account(session, username="ann")
    cohort = cohorts.create_cohort(session, name="Seminar", creator=prof)
    cohorts.join(session, code=cohort.join_code, account=student)
    make_case(session, slug="test-case")
    return {"cohort": cohort}


@pytest.fixture
def based_client(database_url, tmp_path):
    app = create_app(make_settings(database_url, tmp_path, base_url=BASE))
    with TestClient(app, base_url=BASE) as client:
        yield client


def test_links_use_the_base_url_whatever_host_the_request_names(database_url, tmp_path, world):
    app = create_app(make_settings(database_url, tmp_path, base_url=BASE))
    with TestClient(app, base_url=BASE) as client:
        prof = token_for(client, "prof")
        cohort = client.get(f"/api/v1/cohorts/{world['cohort'].id}", headers=prof).json()
        assert cohort["join_url"].startswith(f"{BASE}/join/")
        case = client.get("/api/v1/cases/test-case", headers=prof).json()
        assert case["citation"]["url"] == f"{BASE}/cases/test-case?version=1"
        dossier = client.get("/api/v1/cases/test-case/dossier", headers=prof)
        assert dossier.status_code == 200 and f"{BASE}/cases/test-case" in dossier.text
        sign_in_browser(client, "prof")
        page = client.get(f"/cohorts/{world['cohort'].id}")
        assert f"{BASE}/join/" in page.text and "testserver" not in page.text
        # A page's redirect after a form goes to the public address too.
        token = csrf_from(client.get("/cases/test-case").text)
        assert token


@pytest.mark.parametrize(
    "path", ["/api/v1/cases/test-case", "/cases/test-case", "/login", "/healthz"]
)
def test_an_unknown_host_is_refused_when_the_base_url_is_set(based_client, world, path):
    refused = based_client.get(path, headers={"Host": "evil.example"})
    assert refused.status_code == 400
    assert "evil.example" not in refused.text
    assert refused.headers["x-frame-options"] == "DENY"  # the refusal carries the headers
    assert based_client.get("/healthz", headers={"Host": "forum.example.org"}).status_code == 200


def test_localhost_may_still_ask_for_health(based_client):
    for host in ("localhost", "127.0.0.1:8000"):
        assert based_client.get("/healthz", headers={"Host": host}).status_code == 200


def test_without_a_base_url_links_follow_the_request_as_before(client, world):
    prof = token_for(client, "prof")
    cohort = client.get(f"/api/v1/cohorts/{world['cohort'].id}", headers=prof).json()
    assert cohort["join_url"].startswith("http://testserver/join/")
    assert client.get("/healthz", headers={"Host": "other.example"}).status_code == 200


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("https://forum.example.org", True),
        ("https://forum.example.org/", True),
        ("http://127.0.0.1:8000", True),
        ("https://forum.example.org/ethics", False),
        ("ftp://forum.example.org", False),
        ("forum.example.org", False),
        ("https://user:pw@forum.example.org", False),
        ("https://forum.example.org?x=1", False),
    ],
)
def test_the_base_url_must_be_an_http_address_without_a_path(tmp_path, value, ok):
    from pydantic import ValidationError

    if ok:
        assert make_settings("sqlite:///x.db", tmp_path, base_url=value).base_url
    else:
        with pytest.raises(ValidationError, match="BASE_URL"):
            make_settings("sqlite:///x.db", tmp_path, base_url=value)


def test_over_https_cookies_are_secure_host_prefixed_and_hsts_is_sent(app, world):
    with TestClient(app, base_url="https://testserver") as client:
        login = client.get("/login")
        assert login.headers["strict-transport-security"] == ("max-age=31536000; includeSubDomains")
        csrf_cookie = _cookies(login)["__Host-ef_csrf"]
        assert "Secure" in csrf_cookie and "Path=/" in csrf_cookie
        assert "Domain" not in csrf_cookie
        response = client.post(
            "/login",
            data={
                "username": "ann",
                "password": "correct-horse-battery-9",
                "csrf_token": csrf_from(login.text),
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        cookie = _cookies(response)["__Host-ef_session"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
        assert "Domain" not in cookie and "ef_session" not in _cookies(response)
        # Signed in under the prefixed name: pages and forms work.
        home = client.get("/cohorts")
        assert home.status_code == 200 and "Sign in" not in home.text.split("<main")[1][:200]
        token = csrf_from(home.text)
        out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
        assert out.status_code == 303
        assert "__Host-ef_session" in _cookies(out)  # deleted under the name it was set with


def test_over_https_the_plain_session_cookie_is_not_read(app, world, session):
    from datetime import timedelta

    from ethicsforum.accounts import sessions

    ann = make_account(session, username="bea")
    token = sessions.start(session, account=ann, absolute=timedelta(hours=1), user_agent=None)
    with TestClient(app, base_url="https://testserver") as client:
        client.cookies.set("ef_session", token)
        assert client.get("/cohorts", follow_redirects=False).status_code == 303
        client.cookies.clear()
        client.cookies.set("__Host-ef_session", token)
        assert client.get("/cohorts", follow_redirects=False).status_code == 200


def test_an_https_base_url_makes_cookies_secure_behind_a_proxy_that_does_not_say(
    database_url, tmp_path, world
):
    app = create_app(make_settings(database_url, tmp_path, base_url=BASE))
    # TLS ended at a proxy that sends no X-Forwarded-Proto: the app sees plain HTTP.
    with TestClient(app, base_url="http://forum.example.org") as client:
        login = client.get("/login")
        assert "Secure" in _cookies(login)["__Host-ef_csrf"]
        # The browser is on HTTPS (the public address says so), so HSTS is right here too.
        assert "strict-transport-security" in login.headers


def test_over_http_cookies_keep_their_plain_names_and_no_hsts(client, world):
    login = client.get("/login")
    assert "strict-transport-security" not in login.headers
    cookie = _cookies(login)["ef_csrf"]
    assert "Secure" not in cookie
    sign_in_browser(client, "ann")
    assert "ef_session" in client.cookies


def test_signed_in_pages_and_every_api_answer_are_not_stored(client, world):
    anonymous_case = client.get("/cases/test-case")
    assert anonymous_case.status_code == 200
    assert "no-store" not in anonymous_case.headers.get("cache-control", "")
    static = client.get("/static/site.css")
    assert "no-store" not in static.headers.get("cache-control", "")
    for path in ("/api/v1/cases", "/api/v1/me", "/openapi.json"):
        assert client.get(path).headers["cache-control"] == "no-store", path
    prof = token_for(client, "prof")
    assert client.get("/api/v1/me", headers=prof).headers["cache-control"] == "no-store"
    sign_in_browser(client, "ann")
    for path in ("/cohorts", "/cases/test-case", f"/cohorts/{world['cohort'].id}"):
        response = client.get(path)
        assert response.headers["cache-control"] == "no-store", path
    static = client.get("/static/site.css")
    assert "no-store" not in static.headers.get("cache-control", "")
