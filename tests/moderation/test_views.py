"""Moderation pages: the queue, a post's moderation page, flagging and notifications."""

from __future__ import annotations

from bs4 import BeautifulSoup

from tests.discussions.conftest import open_discussion, post_position
from tests.factories import sign_in_browser


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def test_a_student_flags_and_faculty_hide_from_the_queue(client, world):
    discussion = open_discussion(client, world)
    position = post_position(client, world, discussion, "ann", summary="Something nasty")
    token = sign_in_browser(client, "bob")
    page = soup(client.get(f"/positions/{position['id']}"))
    assert page.select_one("#flag-link")["href"] == f"/moderate/positions/{position['id']}"
    flagged = client.post(
        f"/moderate/positions/{position['id']}/flag",
        data={"csrf_token": token, "reason": "Insulting"},
    )
    assert flagged.status_code == 200 and soup(flagged).select_one("#done")
    again = client.post(
        f"/moderate/positions/{position['id']}/flag", data={"csrf_token": token, "reason": "Again"}
    )
    assert again.status_code == 409 and soup(again).select_one("#error")
    assert client.get("/moderation").status_code == 403

    client.cookies.clear()
    token = sign_in_browser(client, "prof")
    queue = soup(client.get("/moderation"))
    [item] = queue.select("#queue > li")
    assert "Insulting" in item.text and "Something nasty" in item.text
    hidden = client.post(
        f"/moderate/positions/{position['id']}/hide",
        data={"csrf_token": token, "reason": "Personal attack"},
    )
    assert hidden.status_code == 200
    assert soup(client.get("/moderation")).select_one("#empty-state")

    client.cookies.clear()
    sign_in_browser(client, "cat")
    seen = client.get(f"/positions/{position['id']}").text
    assert "Something nasty" not in seen and "Personal attack" in seen
    listing = client.get(f"/discussions/{discussion['id']}").text
    assert "Something nasty" not in listing and "Hidden by a moderator" in listing


def test_faculty_mark_exemplary_with_criteria_and_the_author_is_notified(client, world):
    discussion = open_discussion(client, world)
    position = post_position(client, world, discussion, "ann")
    token = sign_in_browser(client, "prof")
    form = soup(client.get(f"/moderate/positions/{position['id']}"))
    assert len(form.select("#mark-form input[name=criteria]")) == 5
    marked = client.post(
        f"/moderate/positions/{position['id']}/mark",
        data={
            "csrf_token": token,
            "note": "Weighs both sides fairly.",
            "criteria": ["weighs competing principles"],
        },
    )
    assert marked.status_code == 200 and soup(marked).select_one("#unmark-form")
    empty = client.post(
        f"/moderate/positions/{position['id']}/mark", data={"csrf_token": token, "note": "  "}
    )
    assert empty.status_code == 422

    client.cookies.clear()
    token = sign_in_browser(client, "ann")
    page = soup(client.get(f"/positions/{position['id']}"))
    assert "Weighs both sides fairly." in page.select_one("#exemplary-note").text
    count = client.get("/notifications/count", headers={"HX-Request": "true"})
    assert count.text.endswith(">1 unread</span>")
    notes = soup(client.get("/notifications"))
    assert "marked exemplary" in notes.select_one("#notifications li.unread").text
    client.post("/notifications/read", data={"csrf_token": token})
    assert "none unread" in client.get("/notifications/count").text


def test_students_may_not_moderate(client, world):
    discussion = open_discussion(client, world)
    position = post_position(client, world, discussion, "ann")
    token = sign_in_browser(client, "bob")
    response = client.post(
        f"/moderate/positions/{position['id']}/hide", data={"csrf_token": token, "reason": "x"}
    )
    assert response.status_code == 403
    assert client.get(f"/moderate/positions/{position['id']}/nope").status_code in {404, 405}
    assert client.get("/moderate/cats/1").status_code == 404
