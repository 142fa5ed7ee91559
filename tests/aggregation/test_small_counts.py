"""The comparison across cohorts withholds every count under 5 (null in JSON, "<5" on the
page, with a note), the framework x option matrix included; the cohort's own faculty still
read the exact counts on its summary."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from ethicsforum.accounts import cohorts
from tests.discussions.conftest import open_discussion, post_position
from tests.factories import make_account, sign_in_browser, token_for


@pytest.fixture
def large(client, session, world):
    """Seminar with three more students: five choose wait, Ann alone chooses act."""
    for name in ("dan", "eve", "fay"):
        account = make_account(session, username=name, display_name=f"{name.title()} Real")
        cohorts.join(session, code=world["cohort"].join_code, account=account)
        world["h"][name] = token_for(client, name)
    discussion = open_discussion(client, world)
    post_position(client, world, discussion, "ann")  # act: autonomy for x2, justice against
    for name in ("bob", "cat", "dan", "eve", "fay"):
        post_position(client, world, discussion, name, option="wait")
    return discussion


def test_counts_under_5_are_null_and_the_total_that_would_reveal_them_too(
    client, session, world, large
):
    keeper = make_account(session, username="keeper", role="committee")
    body = client.get(
        "/api/v1/cases/test-case/comparison", headers=token_for(client, keeper.username)
    ).json()
    [compared] = body["discussions"]
    assert compared["options"] == {"act": None, "wait": 5}
    # 6 positions minus the 5 shown would give Ann's choice away.
    assert compared["positions"] is None and compared["participants"] == 6
    assert compared["frameworks"] == {
        "autonomy": {
            "act": {"supports": None, "challenges": None},
            "wait": {"supports": 10, "challenges": None},
        },
        "justice": {
            "act": {"supports": None, "challenges": None},
            "wait": {"supports": None, "challenges": 5},
        },
    }
    # The cohort's faculty still see the exact counts on its own summary.
    summary = client.get(
        f"/api/v1/discussions/{large['id']}/summary", headers=world["h"]["prof"]
    ).json()
    assert summary["options"] == {"act": 1, "wait": 5}


def test_the_page_writes_small_counts_as_under_5_and_says_why(client, world, large):
    sign_in_browser(client, "prof")
    page = BeautifulSoup(client.get("/cases/test-case/comparison").text, "html.parser")
    assert "Counts under 5" in page.select_one("#comparison-small-counts").get_text()
    column = page.select_one(".comparison-column")
    options = column.select_one(f"#options-{large['id']}")
    rows = {row.th.get_text(): row.td.get_text() for row in options.select("table tbody tr")}
    assert rows == {"A · Act now": "<5", "B · Wait": "5"}
    assert options.select_one("tfoot td").get_text() == "not shown"
    values = [t.get_text() for t in options.select("svg text.chart-value")]
    assert values == ["<5", "5"]
    widths = [float(r["width"]) for r in options.select("svg rect.bar")]
    assert widths[0] == 0 and widths[1] > 0  # a withheld bar is not drawn
    assert "fewer than 5" in options.select_one("desc").get_text()
    heat = column.select_one(f"#frameworks-{large['id']}")
    cells = [td.get_text(" ") for td in heat.select("table tbody td")]
    assert cells == ["<5 for <5 against", "10 for <5 against"] + [
        "<5 for <5 against",
        "<5 for 5 against",
    ]
    assert "6 students" in column.get_text() and "positions not totalled" in column.get_text()
    assert not re.search(r"\b1\b", options.get_text())


def test_a_cohort_whose_every_count_is_withheld_says_so_instead_of_empty_charts(client, world):
    discussion = open_discussion(client, world)
    post_position(client, world, discussion, "ann")
    post_position(client, world, discussion, "bob", option="wait")
    sign_in_browser(client, "prof")
    page = BeautifulSoup(client.get("/cases/test-case/comparison").text, "html.parser")
    note = page.select_one(f"#withheld-{discussion['id']}")
    assert note is not None and "none is shown" in note.get_text()
    assert page.select_one(f"#options-{discussion['id']}") is None
    assert page.select_one(f"#frameworks-{discussion['id']}") is None
