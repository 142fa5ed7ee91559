"""Whole answers kept per generation and viewer, with an ETag: 304 when the client holds the
current one, and any change to the discussion (or to the viewer) makes the old one stale."""

from __future__ import annotations

import pytest
from sqlmodel import select

from ethicsforum.accounts.models import Account
from tests.discussions.conftest import open_discussion, post_position, set_phase
from tests.factories import sign_in_browser


def _pages(discussion, position):
    d = discussion["id"]
    return {
        "discussion page": f"/discussions/{d}",
        "position page": f"/positions/{position['id']}",
    }


def test_pages_answer_304_for_the_current_etag_and_a_post_makes_it_stale(client, world):
    discussion = open_discussion(client, world)
    position = post_position(client, world, discussion, "ann")
    set_phase(client, world, discussion, "rebuttals")
    sign_in_browser(client, "bob")
    for name, path in _pages(discussion, position).items():
        first = client.get(path)
        assert first.status_code == 200, name
        etag = first.headers["etag"]
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304, name
        assert again.content == b""
        assert client.get(path).text == first.text
    post_position(client, world, discussion, "cat", summary="A later position.")
    for name, path in _pages(discussion, position).items():
        old = client.get(path, headers={"If-None-Match": 'W/"nothing"'}).headers["etag"]
        response = client.get(path, headers={"If-None-Match": old})
        assert response.status_code == 304, name
    rebuttal = client.post(
        f"/api/v1/positions/{position['id']}/rebuttals",
        json={"kind": "counter", "body": "Posted after the page was kept."},
        headers=world["h"]["cat"],
    )
    assert rebuttal.status_code == 201
    page = client.get(f"/positions/{position['id']}", headers={"If-None-Match": old})
    assert page.status_code == 200
    assert "Posted after the page was kept." in page.text


@pytest.mark.parametrize("query", ["", "?page=1&per_page=50"])
def test_the_positions_api_answers_304_and_a_change_makes_the_etag_stale(client, world, query):
    discussion = open_discussion(client, world)
    post_position(client, world, discussion, "ann")
    path = f"/api/v1/discussions/{discussion['id']}/positions{query}"
    first = client.get(path, headers=world["h"]["bob"])
    assert first.status_code == 200 and len(first.json()) == 1
    etag = first.headers["etag"]
    held = {**world["h"]["bob"], "If-None-Match": etag}
    assert client.get(path, headers=held).status_code == 304
    # Another viewer never gets bob's validator answered.
    other = client.get(path, headers={**world["h"]["prof"], "If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag
    post_position(client, world, discussion, "cat")
    fresh = client.get(path, headers=held)
    assert fresh.status_code == 200 and len(fresh.json()) == 2
    assert fresh.headers["etag"] != etag


def test_a_kept_page_is_not_shown_to_someone_the_discussion_refuses(client, world):
    discussion = open_discussion(client, world)
    sign_in_browser(client, "ann")
    page = client.get(f"/discussions/{discussion['id']}")
    assert page.status_code == 200
    sign_in_browser(client, "zed")
    refused = client.get(
        f"/discussions/{discussion['id']}", headers={"If-None-Match": page.headers["etag"]}
    )
    assert refused.status_code == 404


def test_a_new_display_name_is_on_the_next_page(client, world, session):
    discussion = open_discussion(client, world)
    sign_in_browser(client, "ann")
    path = f"/discussions/{discussion['id']}"
    etag = client.get(path).headers["etag"]
    ann = session.exec(select(Account).where(Account.username == "ann")).one()
    ann.display_name = "Ann Renamed"
    session.add(ann)
    session.commit()
    page = client.get(path, headers={"If-None-Match": etag})
    assert page.status_code == 200 and "Ann Renamed" in page.text


def test_the_summary_api_answers_304_until_something_changes(client, world):
    discussion = open_discussion(client, world)
    post_position(client, world, discussion, "ann")
    path = f"/api/v1/discussions/{discussion['id']}/summary"
    first = client.get(path, headers=world["h"]["prof"])
    assert first.status_code == 200
    held = {**world["h"]["prof"], "If-None-Match": first.headers["etag"]}
    assert client.get(path, headers=held).status_code == 304
    post_position(client, world, discussion, "bob")
    assert client.get(path, headers=held).status_code == 200
