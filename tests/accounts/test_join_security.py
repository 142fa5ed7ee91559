"""Join codes make students only; faculty are added by faculty; nobody guesses codes for ever."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import func, select

from ethicsforum.accounts.models import Membership
from ethicsforum.main import create_app
from tests.conftest import fresh, make_settings
from tests.factories import make_account, sign_in_browser, token_for

REFUSED = "join codes are for students; ask the cohort's faculty to add you"


@pytest.fixture
def people(client, session):
    accounts = {
        "prof": make_account(session, username="prof", role="faculty"),
        "other_prof": make_account(session, username="otherprof", role="faculty"),
        "ann": make_account(session, username="ann"),
        "admin": make_account(session, username="root", role="admin"),
        "committee": make_account(session, username="cm", role="committee"),
    }
    return {key: token_for(client, a.username) for key, a in accounts.items()}


def create(client, headers, name="Ethics seminar"):
    response = client.post("/api/v1/cohorts", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def memberships(session, cohort_id):
    return {
        (m.account_id, m.role, m.removed_at is None)
        for m in fresh(session).exec(select(Membership).where(Membership.cohort_id == cohort_id))
    }


@pytest.mark.parametrize("who", ["other_prof", "admin", "committee"])
def test_a_join_code_never_lets_a_non_student_in(client, session, people, who):
    cohort = create(client, people["prof"])
    before = memberships(session, cohort["id"])
    for code in (cohort["join_code"], "AAAA-AAAA"):  # real or unknown: the same 403, no oracle
        response = client.post(
            "/api/v1/cohorts/join", json={"join_code": code}, headers=people[who]
        )
        assert response.status_code == 403
        assert response.json() == {"detail": REFUSED}
    # Decided before the body is read: an empty body gets the same answer.
    assert client.post("/api/v1/cohorts/join", json={}, headers=people[who]).status_code == 403
    assert memberships(session, cohort["id"]) == before
    if who != "admin":  # admins see every cohort anyway
        url = f"/api/v1/cohorts/{cohort['id']}"
        assert client.get(url, headers=people[who]).status_code == 404
        assert (
            client.get(f"/api/v1/cohorts/{cohort['id']}", headers=people["ann"]).status_code == 404
        )


def test_a_student_still_joins_as_a_student(client, session, people):
    cohort = create(client, people["prof"])
    joined = client.post(
        "/api/v1/cohorts/join", json={"join_code": cohort["join_code"]}, headers=people["ann"]
    )
    assert joined.status_code == 200
    assert joined.json()["members"] == [
        {"username": "ann", "display_name": "ann", "role": "student"}
    ]


def test_the_join_link_and_form_refuse_a_faculty_account_with_a_clear_page(client, session):
    prof = make_account(session, username="prof", role="faculty")
    make_account(session, username="intruder", role="faculty")
    headers = token_for(client, "prof")
    cohort = create(client, headers)
    code = cohort["join_code"].replace("-", "")
    csrf = sign_in_browser(client, "intruder")
    link = client.get(f"/join/{code}")
    assert link.status_code == 403
    page = BeautifulSoup(link.text, "html.parser")
    assert REFUSED in page.text and not page.select_one("#join-form")
    posted = client.post("/cohorts/join", data={"join_code": code, "csrf_token": csrf})
    assert posted.status_code == 403
    assert REFUSED in BeautifulSoup(posted.text, "html.parser").select_one("#join-error").text
    # The cohort list offers a faculty account no join form at all.
    listing = BeautifulSoup(client.get("/cohorts").text, "html.parser")
    assert not listing.select_one("#join-form") and listing.select_one("#join-note")
    assert memberships(session, cohort["id"]) == {(prof.id, "faculty", True)}


def test_faculty_added_by_the_cohorts_faculty_are_faculty_members(client, session, people):
    cohort = create(client, people["prof"])
    added = client.post(
        f"/api/v1/cohorts/{cohort['id']}/members",
        json={"username": "otherprof"},
        headers=people["prof"],
    )
    assert added.status_code == 201 and added.json()["role"] == "faculty"


def test_the_creator_and_the_last_faculty_member_cannot_be_removed(client, session, people):
    cohort = create(client, people["prof"])
    url = f"/api/v1/cohorts/{cohort['id']}/members"
    client.post(url, json={"username": "otherprof"}, headers=people["prof"])
    # A colleague (or an admin) may not remove the cohort's creator.
    for who in ("other_prof", "admin"):
        refused = client.delete(f"{url}/prof", headers=people[who])
        assert refused.status_code == 409
        assert "creator" in refused.json()["detail"]
    # The colleague may go (the creator stays)...
    assert client.delete(f"{url}/otherprof", headers=people["admin"]).status_code == 204
    # ...and once the creator is the last faculty member, they stay too.
    assert client.delete(f"{url}/prof", headers=people["admin"]).status_code == 409
    assert client.get(f"/api/v1/cohorts/{cohort['id']}", headers=people["prof"]).status_code == 200


def test_the_last_faculty_member_stays_even_when_the_creator_has_left(client, session, people):
    """A creator removed before creators were protected: the one faculty member left stays."""
    from ethicsforum.db import utcnow

    cohort = create(client, people["prof"])
    url = f"/api/v1/cohorts/{cohort['id']}/members"
    client.post(url, json={"username": "otherprof"}, headers=people["prof"])
    creator = (
        fresh(session)
        .exec(
            select(Membership).where(Membership.cohort_id == cohort["id"]).order_by(Membership.id)
        )
        .first()
    )
    assert creator is not None
    creator.removed_at = utcnow()
    session.add(creator)
    session.commit()
    refused = client.delete(f"{url}/otherprof", headers=people["admin"])
    assert refused.status_code == 409
    assert "last faculty member" in refused.json()["detail"]
    client.post(url, json={"username": "ann"}, headers=people["admin"])
    assert client.delete(f"{url}/ann", headers=people["other_prof"]).status_code == 204


def test_the_cohort_page_refuses_to_remove_the_creator_and_offers_no_button(client, session):
    make_account(session, username="prof", role="faculty")
    make_account(session, username="colleague", role="faculty")
    headers = token_for(client, "prof")
    cohort = create(client, headers)
    client.post(
        f"/api/v1/cohorts/{cohort['id']}/members", json={"username": "colleague"}, headers=headers
    )
    csrf = sign_in_browser(client, "colleague")
    page = BeautifulSoup(client.get(f"/cohorts/{cohort['id']}").text, "html.parser")
    assert not page.select_one("#member-prof form")
    refused = client.post(f"/cohorts/{cohort['id']}/members/prof/remove", data={"csrf_token": csrf})
    assert refused.status_code == 409
    error = BeautifulSoup(refused.text, "html.parser").select_one("#remove-error").text
    assert "creator" in error


@pytest.fixture
def limited(settings, tmp_path):
    limited_settings = make_settings(settings.database_url, tmp_path, rate_limits=True)
    app = create_app(limited_settings)

    def client_from(address: str) -> TestClient:
        return TestClient(app, client=(address, 50000))

    return client_from


def test_guessing_join_codes_is_answered_429_after_ten_failures(limited, session):
    make_account(session, username="prof", role="faculty")
    make_account(session, username="guesser")
    with limited("10.0.0.1") as client:
        cohort = create(client, token_for(client, "prof"))
        headers = token_for(client, "guesser")
        statuses = []
        for n in range(300):
            response = client.post(
                "/api/v1/cohorts/join", json={"join_code": f"ZZZZ{n:04d}"}, headers=headers
            )
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert 0 < int(response.headers["retry-after"]) <= 15 * 60
        assert statuses[:10] == [404] * 10
        assert set(statuses[10:]) == {429}
        # Even the right code waits: the account is held off, not just its wrong guesses.
        right = client.post(
            "/api/v1/cohorts/join", json={"join_code": cohort["join_code"]}, headers=headers
        )
        assert right.status_code == 429
        # The limit is on joining only: the guesser can still sign in.
        assert (
            client.post(
                "/api/v1/auth/token", data={"username": "guesser", "password": "x" * 12}
            ).status_code
            == 401
        )
    count = fresh(session).exec(select(func.count()).select_from(Membership)).one()
    assert count == 1


def test_one_address_may_fail_thirty_times_across_accounts(limited, session):
    guessers = [make_account(session, username=f"g{n}") for n in range(4)]
    with limited("10.0.0.2") as client:
        statuses = []
        for n in range(40):
            headers = token_for(client, guessers[n % 4].username)
            response = client.post(
                "/api/v1/cohorts/join", json={"join_code": f"YYYY{n:04d}"}, headers=headers
            )
            statuses.append(response.status_code)
        assert statuses[:30] == [404] * 30 and set(statuses[30:]) == {429}
    with limited("10.0.0.3") as elsewhere:  # another address is not held off
        headers = token_for(elsewhere, "g0")
        response = elsewhere.post(
            "/api/v1/cohorts/join", json={"join_code": "XXXX-XXXX"}, headers=headers
        )
        assert response.status_code == 404


def test_a_whole_class_joining_from_one_address_is_not_limited(limited, session):
    make_account(session, username="prof", role="faculty")
    students = [make_account(session, username=f"s{n}") for n in range(40)]
    with limited("10.0.0.4") as client:
        cohort = create(client, token_for(client, "prof"))
        for student in students:
            response = client.post(
                "/api/v1/cohorts/join",
                json={"join_code": cohort["join_code"]},
                headers=token_for(client, student.username),
            )
            assert response.status_code == 200


def test_the_join_page_answers_429_with_retry_after(limited, session):
    make_account(session, username="guesser")
    with limited("10.0.0.5") as client:
        csrf = sign_in_browser(client, "guesser")
        for n in range(10):
            response = client.post(
                "/cohorts/join", data={"join_code": f"WWWW{n:04d}", "csrf_token": csrf}
            )
            assert response.status_code == 404
        locked = client.post("/cohorts/join", data={"join_code": "WWWW9999", "csrf_token": csrf})
        assert locked.status_code == 429 and "retry-after" in locked.headers
        error = BeautifulSoup(locked.text, "html.parser").select_one("#join-error").text
        assert "too many" in error.lower()
