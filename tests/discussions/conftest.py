"""A cohort with faculty and three students, an outsider, and a case to discuss."""

from __future__ import annotations

import pytest

from ethicsforum.accounts import cohorts
from tests.factories import make_account, make_case, token_for


@pytest.fixture
def world(client, session):
    prof = make_account(session, username="prof", role="faculty", display_name="Dr Prof")
    students = {
        name: make_account(session, username=name, display_name=f"{name.title()} Real")
        for name in ("ann", "bob", "cat")
    }
    outsider = make_account(session, username="zed", display_name="Zed Outsider")
    admin = make_account(session, username="root", role="admin")
    cohort = cohorts.create_cohort(session, name="Seminar", creator=prof)
    for account in students.values():
        cohorts.join(session, code=cohort.join_code, account=account)
    make_case(session, slug="test-case", frameworks=["autonomy", "justice"])
    headers = {name: token_for(client, name) for name in ("prof", "ann", "bob", "cat", "zed")}
    headers["root"] = token_for(client, admin.username)
    return {"cohort": cohort, "h": headers, "students": students, "outsider": outsider}


def open_discussion(client, world, **overrides):
    body = {
        "case_slug": "test-case",
        "cohort_id": world["cohort"].id,
        "anonymity": "anonymous_to_peers",
        "post_first": False,
        **overrides,
    }
    response = client.post("/api/v1/discussions", json=body, headers=world["h"]["prof"])
    assert response.status_code == 201, response.text
    return response.json()


def position_body(**overrides):
    return {
        "option": "act",
        "summary": "We should act now.",
        "body": "Because *reasons*.",
        "claims": [
            {"framework": "autonomy", "direction": "supports", "text": "She asked."},
            {"framework": "justice", "direction": "challenges", "text": "Others wait."},
            {"framework": "autonomy", "direction": "supports", "text": "Capacity."},
        ],
        **overrides,
    }


def post_position(client, world, discussion, who, **overrides):
    response = client.post(
        f"/api/v1/discussions/{discussion['id']}/positions",
        json=position_body(**overrides),
        headers=world["h"][who],
    )
    assert response.status_code == 201, response.text
    return response.json()


def set_phase(client, world, discussion, phase):
    response = client.patch(
        f"/api/v1/discussions/{discussion['id']}", json={"phase": phase}, headers=world["h"]["prof"]
    )
    assert response.status_code == 200, response.text
