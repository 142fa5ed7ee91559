"""Plain factory functions with defaults and **overrides."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from ethicsforum.accounts import service as accounts_service
from ethicsforum.accounts.models import Account
from ethicsforum.cases import service as cases_service
from ethicsforum.cases.fileformat import CaseDocument

PASSWORD = "correct-horse-battery-9"


def make_account(session: Session, **overrides: Any) -> Account:
    values: dict[str, Any] = {
        "username": f"user{make_account.counter}",  # type: ignore[attr-defined]
        "password": PASSWORD,
        "role": "student",
        "display_name": None,
        "profession": None,
    }
    make_account.counter += 1  # type: ignore[attr-defined]
    values.update(overrides)
    return accounts_service.create_account(session, new=accounts_service.NewAccount(**values))


make_account.counter = 1  # type: ignore[attr-defined]


def token_for(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Authorization headers for an account, through the real token endpoint."""
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def signed_in(client: TestClient, session: Session, role: str) -> dict[str, str]:
    account = make_account(session, role=role)
    return token_for(client, account.username)


def case_document(**overrides: Any) -> CaseDocument:
    values: dict[str, Any] = {
        "slug": "test-case",
        "title": "A test case",
        "summary": "A short summary of the dilemma.",
        "question": "What should the team do?",
        "options": [{"key": "act", "label": "Act now"}, {"key": "wait", "label": "Wait"}],
        "frameworks": ["autonomy", "justice"],
        "tags": ["testing"],
        "status": "curated",
        "version": 1,
        "references": ["A reference."],
        "learning_objectives": ["Explain the dilemma."],
        "vignette": "A vignette with *Markdown*.",
    }
    values.update(overrides)
    return CaseDocument.model_validate(values)


def make_case(session: Session, **overrides: Any) -> cases_service.ImportResult:
    return cases_service.import_case(session, document=case_document(**overrides))


def csrf_from(html: str) -> str:
    """The anti-forgery token of the first form on a page."""
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


def sign_in_browser(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form as a browser would; returns the session's CSRF token."""
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_from(client.get("/cohorts").text)
