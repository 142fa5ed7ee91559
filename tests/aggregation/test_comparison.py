"""The cross-cohort comparison: each discussion of a case, side by side, named by cohort only."""

from __future__ import annotations

from bs4 import BeautifulSoup

from ethicsforum.accounts import cohorts
from tests.discussions.conftest import open_discussion, post_position
from tests.factories import make_account, sign_in_browser, token_for


def _second_cohort(client, session, world):
    """Another cohort of the same faculty, where bob and cat reason differently."""
    from sqlmodel import select

    from ethicsforum.accounts.models import Account
    from tests.conftest import fresh

    prof = fresh(session).exec(select(Account).where(Account.username == "prof")).one()
    evening = cohorts.create_cohort(session, name="Evening seminar", creator=prof)
    for name in ("bob", "cat"):
        account = fresh(session).exec(select(Account).where(Account.username == name)).one()
        cohorts.join(session, code=evening.join_code, account=account)
    response = client.post(
        "/api/v1/discussions",
        json={"case_slug": "test-case", "cohort_id": evening.id, "anonymity": "named"},
        headers=world["h"]["prof"],
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_each_cohort_appears_with_its_own_counts(client, session, world):
    day = open_discussion(client, world)
    post_position(client, world, day, "ann")  # act; autonomy x2 for, justice against
    post_position(client, world, day, "bob", option="wait")
    evening = _second_cohort(client, session, world)
    post_position(client, world, evening, "bob", option="wait")
    post_position(client, world, evening, "cat", option="wait")

    committee = make_account(session, username="keeper", role="committee")
    body = client.get(
        "/api/v1/cases/test-case/comparison", headers=token_for(client, committee.username)
    ).json()
    assert [d["cohort"] for d in body["discussions"]] == ["Seminar", "Evening seminar"]
    first, second = body["discussions"]
    assert first["discussion_id"] == day["id"] and second["discussion_id"] == evening["id"]
    # Two students a cohort: every count is under 5, so each is withheld (null), lest a
    # count of one point at a person; test_small_counts checks a larger cohort.
    assert body["suppressed_below"] == 5
    assert first["options"] == {"act": None, "wait": None} and first["participants"] is None
    assert second["options"] == {"act": None, "wait": None} and second["positions"] is None
    assert first["frameworks"]["autonomy"]["act"] == {"supports": None, "challenges": None}
    assert second["frameworks"]["autonomy"]["wait"] == {"supports": None, "challenges": None}
    assert set(second["frameworks"]) == {"autonomy", "justice"}
    text = str(body)
    assert "Bob Real" not in text and "'bob'" not in text


def test_students_may_not_compare_and_an_unknown_case_is_404(client, world):
    assert (
        client.get("/api/v1/cases/test-case/comparison", headers=world["h"]["ann"]).status_code
        == 403
    )
    missing = client.get("/api/v1/cases/no-such-case/comparison", headers=world["h"]["prof"])
    assert missing.status_code == 404


def test_the_page_shows_each_cohort_side_by_side_without_names(client, session, world):
    day = open_discussion(client, world)
    post_position(client, world, day, "ann")
    _second_cohort(client, session, world)
    sign_in_browser(client, "prof")
    page = BeautifulSoup(client.get("/cases/test-case/comparison").text, "html.parser")
    columns = page.select(".comparison-column")
    assert [c.h2.get_text() for c in columns] == ["Seminar", "Evening seminar"]
    # Both cohorts are too small for any count to be shown (tests/aggregation/test_small_counts.py
    # covers the charts of a cohort large enough to have some).
    assert len(page.select(".comparison-column .empty-state[id^=withheld-]")) == 2
    assert "Ann Real" not in page.get_text()
    detail = BeautifulSoup(client.get("/cases/test-case").text, "html.parser")
    assert detail.select_one("#comparison-link")["href"] == "/cases/test-case/comparison"


def test_a_case_nobody_discussed_has_an_empty_state(client, world):
    sign_in_browser(client, "prof")
    page = BeautifulSoup(client.get("/cases/test-case/comparison").text, "html.parser")
    assert page.select_one("#comparison-empty")
