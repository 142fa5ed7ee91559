"""Cohorts through the API and the pages: create, join, add, remove, and who sees what."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from ethicsforum.accounts import cohorts
from ethicsforum.moderation.models import AuditEntry
from tests.conftest import fresh
from tests.factories import make_account, sign_in_browser, token_for


@pytest.fixture
def people(client, session):
    accounts = {
        "prof": make_account(session, username="prof", role="faculty", display_name="Dr Prof"),
        "other_prof": make_account(session, username="otherprof", role="faculty"),
        "ann": make_account(session, username="ann", display_name="Ann A", profession="nursing"),
        "bob": make_account(session, username="bob", display_name="Bob B"),
        "admin": make_account(session, username="root", role="admin"),
        "committee": make_account(session, username="cm", role="committee"),
    }
    return {key: token_for(client, a.username) for key, a in accounts.items()}


def create(client, headers, name="Ethics seminar"):
    response = client.post("/api/v1/cohorts", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_faculty_create_a_cohort_and_get_a_join_code_and_link(client, people):
    cohort = create(client, people["prof"])
    assert cohort["name"] == "Ethics seminar"
    assert len(cohort["join_code"]) == 9 and cohort["join_code"][4] == "-"
    assert cohort["join_url"].endswith("/join/" + cohort["join_code"].replace("-", ""))
    assert [m["username"] for m in cohort["members"]] == ["prof"]


@pytest.mark.parametrize("who", ["ann", "committee"])
def test_only_faculty_and_admins_create_cohorts(client, people, who):
    assert client.post("/api/v1/cohorts", json={}, headers=people[who]).status_code == 403
    assert client.post("/api/v1/cohorts", json={"name": "x"}).status_code == 401
    assert (
        client.post("/api/v1/cohorts", json={"name": "x"}, headers=people["admin"]).status_code
        == 201
    )


def test_students_join_with_the_code_however_it_is_typed(client, people):
    cohort = create(client, people["prof"])
    code = cohort["join_code"].replace("-", "").lower()
    joined = client.post(
        "/api/v1/cohorts/join", json={"join_code": f" {code} "}, headers=people["ann"]
    )
    assert joined.status_code == 200
    assert joined.json()["id"] == cohort["id"]
    again = client.post(
        "/api/v1/cohorts/join", json={"join_code": cohort["join_code"]}, headers=people["ann"]
    )
    assert again.status_code == 200
    unknown = client.post(
        "/api/v1/cohorts/join", json={"join_code": "AAAA-AAAA"}, headers=people["ann"]
    )
    assert unknown.status_code == 404


def test_a_student_sees_only_their_own_entry_and_no_join_code(client, people):
    cohort = create(client, people["prof"])
    for who in ("ann", "bob"):
        client.post(
            "/api/v1/cohorts/join", json={"join_code": cohort["join_code"]}, headers=people[who]
        )
    seen = client.get(f"/api/v1/cohorts/{cohort['id']}", headers=people["ann"]).json()
    assert seen["members"] == [{"username": "ann", "display_name": "Ann A", "role": "student"}]
    assert seen["join_code"] is None
    full = client.get(f"/api/v1/cohorts/{cohort['id']}", headers=people["prof"]).json()
    assert [m["username"] for m in full["members"]] == ["prof", "ann", "bob"]
    admin = client.get(f"/api/v1/cohorts/{cohort['id']}", headers=people["admin"]).json()
    assert len(admin["members"]) == 3


@pytest.mark.parametrize("who", ["bob", "other_prof", "committee"])
def test_a_cohort_is_not_found_for_those_outside_it(client, people, who):
    cohort = create(client, people["prof"])
    assert client.get(f"/api/v1/cohorts/{cohort['id']}", headers=people[who]).status_code == 404
    assert client.get("/api/v1/cohorts/99999", headers=people["prof"]).status_code == 404
    response = client.post(
        f"/api/v1/cohorts/{cohort['id']}/members", json={"username": "bob"}, headers=people[who]
    )
    assert response.status_code == 404


def test_faculty_add_and_remove_members_and_each_change_is_audited(client, session, people):
    cohort = create(client, people["prof"])
    added = client.post(
        f"/api/v1/cohorts/{cohort['id']}/members", json={"username": "Ann"}, headers=people["prof"]
    )
    assert added.status_code == 201
    assert added.json() == {"username": "ann", "display_name": "Ann A", "role": "student"}
    duplicate = client.post(
        f"/api/v1/cohorts/{cohort['id']}/members", json={"username": "ann"}, headers=people["prof"]
    )
    assert duplicate.status_code == 409
    unknown = client.post(
        f"/api/v1/cohorts/{cohort['id']}/members",
        json={"username": "nobody"},
        headers=people["prof"],
    )
    assert unknown.status_code == 422
    removed = client.delete(f"/api/v1/cohorts/{cohort['id']}/members/ann", headers=people["prof"])
    assert removed.status_code == 204
    assert client.get(f"/api/v1/cohorts/{cohort['id']}", headers=people["ann"]).status_code == 404
    # A removed student cannot let themselves back in with the code; faculty can add them.
    rejoin = client.post(
        "/api/v1/cohorts/join", json={"join_code": cohort["join_code"]}, headers=people["ann"]
    )
    assert rejoin.status_code == 403
    assert (
        client.post(
            f"/api/v1/cohorts/{cohort['id']}/members",
            json={"username": "ann"},
            headers=people["prof"],
        ).status_code
        == 201
    )
    actions = [
        e.action
        for e in fresh(session).exec(
            select(AuditEntry).where(AuditEntry.cohort_id == cohort["id"]).order_by(AuditEntry.id)
        )
    ]
    assert actions == ["cohort_created", "member_added", "member_removed", "member_added"]


def test_a_student_member_may_not_change_members_whatever_they_send(client, people):
    cohort = create(client, people["prof"])
    client.post(
        "/api/v1/cohorts/join", json={"join_code": cohort["join_code"]}, headers=people["ann"]
    )
    url = f"/api/v1/cohorts/{cohort['id']}/members"
    assert client.post(url, json={}, headers=people["ann"]).status_code == 403
    assert client.post(url, json={"username": "bob"}, headers=people["ann"]).status_code == 403
    assert client.delete(f"{url}/prof", headers=people["ann"]).status_code == 403


def test_the_cohort_pages_for_faculty_and_students(client, session):
    prof = make_account(session, username="prof", role="faculty")
    make_account(session, username="ann", display_name="Ann A", profession="nursing")
    token = sign_in_browser(client, "prof")
    page = BeautifulSoup(client.get("/cohorts").text, "html.parser")
    assert page.select_one("#empty-state") and page.select_one("#create-form")
    created = client.post("/cohorts", data={"name": "Ward ethics", "csrf_token": token})
    assert created.status_code == 200  # followed the redirect to the cohort page
    page = BeautifulSoup(created.text, "html.parser")
    assert page.select_one("#cohort-title").text == "Ward ethics"
    code = page.select_one("#join-code").text
    cohort = cohorts.cohorts_of(fresh(session), account=prof)[0][0]
    bad = client.post(
        f"/cohorts/{cohort.id}/members", data={"username": "zed", "csrf_token": token}
    )
    assert bad.status_code == 422
    assert (
        "no account named" in BeautifulSoup(bad.text, "html.parser").select_one("#add-error").text
    )
    ok = client.post(f"/cohorts/{cohort.id}/members", data={"username": "ann", "csrf_token": token})
    row = BeautifulSoup(ok.text, "html.parser").select_one("#member-ann")
    assert "Ann A" in row.text and "nursing" in row.text

    client.cookies.clear()
    student = sign_in_browser(client, "ann")
    wrong = client.post("/cohorts/join", data={"join_code": "ZZZZ-ZZZZ", "csrf_token": student})
    assert wrong.status_code == 404 and "no cohort has this join code" in wrong.text
    mine = BeautifulSoup(client.get(f"/cohorts/{cohort.id}").text, "html.parser")
    assert mine.select_one("#membership-note") and not mine.select_one("#join-code")
    assert code not in client.get(f"/cohorts/{cohort.id}").text
    forbidden = client.post(
        f"/cohorts/{cohort.id}/members", data={"username": "bob", "csrf_token": student}
    )
    assert forbidden.status_code == 403
