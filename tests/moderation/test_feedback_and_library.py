"""Private feedback, and exemplary reasoning shown on the case page."""

from __future__ import annotations

from bs4 import BeautifulSoup

from tests.discussions.conftest import open_discussion, post_position, set_phase
from tests.factories import sign_in_browser


def test_private_feedback_reaches_only_the_author_and_faculty(client, world):
    discussion = open_discussion(client, world)
    position = post_position(client, world, discussion, "ann")
    path = f"/api/v1/positions/{position['id']}/feedback"
    sent = client.post(
        path, json={"body": "Consider the Tarasoff line."}, headers=world["h"]["prof"]
    )
    assert sent.status_code == 201 and sent.json()["by"] == "Dr Prof"
    assert client.post(path, json={"body": "x"}, headers=world["h"]["bob"]).status_code == 403
    assert [f["body"] for f in client.get(path, headers=world["h"]["ann"]).json()] == [
        "Consider the Tarasoff line."
    ]
    assert client.get(path, headers=world["h"]["prof"]).status_code == 200
    assert client.get(path, headers=world["h"]["bob"]).status_code == 403
    position_json = client.get(
        f"/api/v1/positions/{position['id']}", headers=world["h"]["bob"]
    ).text
    assert "Tarasoff" not in position_json
    sign_in_browser(client, "ann")
    page = BeautifulSoup(client.get(f"/moderate/positions/{position['id']}").text, "html.parser")
    assert "Consider the Tarasoff line." in page.select_one("#feedback").text
    assert not page.select_one("#flag-form")
    client.cookies.clear()
    sign_in_browser(client, "bob")
    other = BeautifulSoup(client.get(f"/moderate/positions/{position['id']}").text, "html.parser")
    assert not other.select_one("#feedback") and other.select_one("#flag-form")


def test_the_case_page_shows_exemplary_reasoning_of_closed_discussions_anonymised(client, world):
    discussion = open_discussion(client, world)
    position = post_position(client, world, discussion, "ann", summary="Act, with care")
    client.put(
        f"/api/v1/positions/{position['id']}/exemplary",
        json={"note": "Balances both duties.", "criteria": ["weighs competing principles"]},
        headers=world["h"]["prof"],
    )
    fragment = client.get("/cases/test-case/exemplary")
    assert "No reasoning" in fragment.text  # the discussion is still open
    set_phase(client, world, discussion, "closed")
    fragment = BeautifulSoup(client.get("/cases/test-case/exemplary").text, "html.parser")
    [item] = fragment.select("#case-exemplary li.panel")
    assert "Act, with care" in item.text and "Balances both duties." in item.text
    assert "Ann" not in item.text and "ann" not in item.text.split()
    page = BeautifulSoup(client.get("/cases/test-case").text, "html.parser")
    assert page.select_one("#case-exemplary")["hx-get"] == "/cases/test-case/exemplary"
    client.post(
        f"/api/v1/positions/{position['id']}/hide", json={"reason": "r"}, headers=world["h"]["prof"]
    )
    assert "Act, with care" not in client.get("/cases/test-case/exemplary").text
