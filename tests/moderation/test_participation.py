"""Participation for grading, and the discussion's exports."""

from __future__ import annotations

import csv
import io

from bs4 import BeautifulSoup

from tests.discussions.conftest import open_discussion, post_position, set_phase
from tests.factories import make_account, sign_in_browser


def _activity(client, world, discussion):
    ann = post_position(client, world, discussion, "ann")
    post_position(client, world, discussion, "bob", option="wait")
    set_phase(client, world, discussion, "rebuttals")
    client.post(
        f"/api/v1/positions/{ann['id']}/rebuttals",
        json={
            "kind": "counter",
            "body": "No.",
            "claims": [{"framework": "justice", "direction": "challenges", "text": "Unfair"}],
        },
        headers=world["h"]["bob"],
    )
    client.post(
        f"/api/v1/discussions/{discussion['id']}/stance",
        json={"moment": "final", "option": "wait"},
        headers=world["h"]["ann"],
    )
    client.put(
        f"/api/v1/positions/{ann['id']}/exemplary",
        json={"note": "Clear."},
        headers=world["h"]["prof"],
    )
    client.post(
        f"/api/v1/positions/{ann['id']}/flag", json={"reason": "x"}, headers=world["h"]["cat"]
    )
    return ann


def test_the_csv_lists_every_student_with_what_they_contributed(client, world):
    discussion = open_discussion(client, world)
    _activity(client, world, discussion)
    response = client.get(
        f"/api/v1/discussions/{discussion['id']}/export",
        params={"format": "csv"},
        headers=world["h"]["prof"],
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = {r["username"]: r for r in csv.DictReader(io.StringIO(response.text))}
    assert set(rows) == {"ann", "bob", "cat"}
    assert rows["ann"]["positions"] == "1" and rows["ann"]["claims_autonomy"] == "2"
    assert rows["ann"]["exemplary_marks"] == "1" and rows["ann"]["flags_received"] == "1"
    assert rows["ann"]["final_stance"] == "wait"
    assert rows["bob"]["rebuttals"] == "1" and rows["bob"]["claims_justice"] == "2"
    assert rows["cat"]["claims_total"] == "0"
    assert (
        client.get(
            f"/api/v1/discussions/{discussion['id']}/export?format=csv", headers=world["h"]["ann"]
        ).status_code
        == 403
    )


def test_a_name_that_looks_like_a_formula_is_defused(client, world, session):
    from ethicsforum.accounts import cohorts

    evil = make_account(session, username="evil", display_name='=HYPERLINK("x")')
    cohorts.join(session, code=world["cohort"].join_code, account=evil)
    discussion = open_discussion(client, world)
    text = client.get(
        f"/api/v1/discussions/{discussion['id']}/export?format=csv", headers=world["h"]["prof"]
    ).text
    [row] = [r for r in csv.DictReader(io.StringIO(text)) if r["username"] == "evil"]
    assert row["display_name"].startswith("'=")


def test_the_brief_and_the_json_export(client, world):
    discussion = open_discussion(client, world)
    ann = _activity(client, world, discussion)
    brief = client.get(
        f"/api/v1/discussions/{discussion['id']}/export?format=markdown", headers=world["h"]["prof"]
    )
    assert brief.status_code == 200 and brief.text.startswith("# Debate brief: A test case")
    assert "Clear." in brief.text and "Ann Real" not in brief.text and "ann" not in brief.text
    everything = client.get(
        f"/api/v1/discussions/{discussion['id']}/export?format=json", headers=world["h"]["prof"]
    ).json()
    assert everything["discussion"]["case"]["slug"] == "test-case"
    [first, _] = everything["positions"]
    assert first["id"] == ann["id"] and first["author"]["username"] == "ann"
    assert first["rebuttals"][0]["claims"][0]["text"] == "Unfair"
    assert everything["stances"][0]["option"] == "wait"
    assert (
        client.get(
            f"/api/v1/discussions/{discussion['id']}/export?format=pdf", headers=world["h"]["prof"]
        ).status_code
        == 422
    )


def test_the_participation_page_sorts_and_offers_the_csv(client, world):
    discussion = open_discussion(client, world)
    _activity(client, world, discussion)
    sign_in_browser(client, "prof")
    page = BeautifulSoup(
        client.get(f"/discussions/{discussion['id']}/participation?sort=rebuttals&order=desc").text,
        "html.parser",
    )
    order = [tr["id"] for tr in page.select("#participation tbody tr")]
    assert order[0] == "student-bob"
    assert page.select_one("th[aria-sort=descending]")
    csv_link = page.select_one("#csv-download")["href"]
    assert "Ann Real" in client.get(csv_link).text
    client.cookies.clear()
    sign_in_browser(client, "ann")
    assert client.get(f"/discussions/{discussion['id']}/participation").status_code == 403


def test_the_cohort_participation_and_the_audit_page(client, world):
    discussion = open_discussion(client, world)
    _activity(client, world, discussion)
    second = open_discussion(client, world)
    post_position(client, world, second, "ann")
    sign_in_browser(client, "prof")
    page = BeautifulSoup(
        client.get(f"/cohorts/{world['cohort'].id}/participation").text, "html.parser"
    )
    ann = page.select_one("#student-ann").select("td")
    assert ann[0].text == "2"  # positions over both discussions
    audit = BeautifulSoup(client.get("/audit").text, "html.parser")
    actions = [row.select("td")[2].text for row in audit.select("#audit tbody tr")]
    assert "marked exemplary" in actions and "phase changed" in actions
    only = BeautifulSoup(client.get(f"/audit?discussion_id={second['id']}").text, "html.parser")
    assert [r.select("td")[2].text for r in only.select("#audit tbody tr")] == ["discussion opened"]
    client.cookies.clear()
    sign_in_browser(client, "ann")
    assert client.get("/audit").status_code == 403
    assert client.get(f"/cohorts/{world['cohort'].id}/participation").status_code == 403


def test_the_cohort_table_sorts_and_downloads(client, world):
    discussion = open_discussion(client, world)
    _activity(client, world, discussion)
    sign_in_browser(client, "prof")
    page = BeautifulSoup(
        client.get(f"/cohorts/{world['cohort'].id}/participation?sort=rebuttals&order=desc").text,
        "html.parser",
    )
    assert page.select("#participation tbody tr")[0]["id"] == "student-bob"
    text = client.get(page.select_one("#csv-download")["href"]).text
    rows = {r["username"]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows["bob"]["rebuttals"] == "1" and rows["ann"]["positions"] == "1"
