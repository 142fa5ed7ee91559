"""NUL characters and oversized bodies are refused before anything reads them."""

from __future__ import annotations

import pytest

from tests.factories import csrf_from, make_account, make_case, signed_in


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("post", "/api/v1/auth/token", {"data": {"username": "a\x00b", "password": "x"}}),
        ("post", "/api/v1/cohorts", {"json": {"name": "nul \x00 name"}}),
        ("post", "/api/v1/cases", {"json": {"slug": "x", "title": "a\x00"}}),
        ("get", "/api/v1/cases?tag=%00", {}),
    ],
)
def test_nul_in_api_input_is_a_422_on_every_database(client, session, method, path, kwargs):
    headers = signed_in(client, session, "faculty")
    response = getattr(client, method)(path, headers=headers, **kwargs)
    assert response.status_code == 422
    assert "NUL" in response.text


def test_nul_in_a_page_form_or_address_is_refused_and_nothing_is_stored(client, session):
    make_case(session)
    make_account(session, username="jo")
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login", data={"username": "jo\x00", "password": "x", "csrf_token": token}
    )
    assert response.status_code == 422 and "NUL" in response.text
    assert client.get("/cases?tag=%00").status_code == 422
    assert client.get("/cases?tag=triage").status_code == 200


def test_a_literal_backslash_u_sequence_is_ordinary_text(client, session):
    headers = signed_in(client, session, "faculty")
    response = client.post("/api/v1/cohorts", json={"name": "C:\\u0000 is fine"}, headers=headers)
    assert response.status_code == 201
    assert response.json()["name"] == "C:\\u0000 is fine"
