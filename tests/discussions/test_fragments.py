"""A position's rebuttal tree is rendered once per generation and visibility class and shared
(ethicsforum/fragments.py); every viewer still gets exactly what they may see."""

from __future__ import annotations

from bs4 import BeautifulSoup

from ethicsforum.fragments import ResponseCache
from tests.discussions.conftest import open_discussion, post_position, set_phase
from tests.factories import sign_in_browser


def rebut(client, world, position, who, body):
    response = client.post(
        f"/api/v1/positions/{position['id']}/rebuttals",
        json={"kind": "counter", "body": body},
        headers=world["h"][who],
    )
    assert response.status_code == 201, response.text
    return response.json()


def tree_of(client, position) -> BeautifulSoup:
    response = client.get(f"/positions/{position['id']}")
    assert response.status_code == 200
    return BeautifulSoup(response.text, "html.parser").select_one("#rebuttal-tree")


def test_the_tree_comes_from_the_cache_until_something_changes(client, app, world):
    discussion = open_discussion(client, world)
    position = post_position(client, world, discussion, "ann")
    set_phase(client, world, discussion, "rebuttals")
    rebut(client, world, position, "cat", "First counter.")
    sign_in_browser(client, "bob")
    cache = app.state.fragments
    first = tree_of(client, position)
    hits = cache.hits
    app.state.responses = ResponseCache()  # whole answers are kept too; this is about parts
    again = tree_of(client, position)
    assert cache.hits == hits + 1
    assert str(again) == str(first)
    rebut(client, world, position, "cat", "A second counter, posted after the first view.")
    refreshed = tree_of(client, position)
    assert "posted after the first view" in refreshed.get_text()
    assert len(refreshed.select("li.rebuttal")) == 2


def test_each_visibility_class_gets_its_own_tree(client, world):
    discussion = open_discussion(client, world)
    position = post_position(client, world, discussion, "ann")
    set_phase(client, world, discussion, "rebuttals")
    mine = rebut(client, world, position, "cat", "Cat's counter.")
    # Faculty first, so a cached faculty tree would be the one a leak served next.
    sign_in_browser(client, "prof")
    assert "Cat Real" in tree_of(client, position).get_text()
    sign_in_browser(client, "bob")
    peer = tree_of(client, position)
    assert "Cat Real" not in peer.get_text()
    assert peer.select_one(f"#rebuttal-{mine['id']} .moderate-link") is not None  # Flag
    sign_in_browser(client, "cat")
    own = tree_of(client, position)
    assert "Cat Real" in own.get_text()  # their own rebuttal, under their own name
    assert own.select_one(f"#rebuttal-{mine['id']} .moderate-link") is None  # no Flag
    sign_in_browser(client, "bob")
    assert str(tree_of(client, position)) == str(peer)


def test_a_hidden_rebuttal_leaves_the_cached_tree_at_once(client, world):
    discussion = open_discussion(client, world)
    position = post_position(client, world, discussion, "ann")
    set_phase(client, world, discussion, "rebuttals")
    rebuttal = rebut(client, world, position, "cat", "Something abusive.")
    sign_in_browser(client, "bob")
    assert "Something abusive." in tree_of(client, position).get_text()
    hidden = client.post(
        f"/api/v1/rebuttals/{rebuttal['id']}/hide",
        json={"reason": "Personal attack"},
        headers=world["h"]["prof"],
    )
    assert hidden.status_code == 200, hidden.text
    tree = tree_of(client, position)
    assert "Something abusive." not in tree.get_text()
    assert "Hidden by a moderator" in tree.get_text()


def cards_of(client, discussion) -> BeautifulSoup:
    response = client.get(f"/discussions/{discussion['id']}")
    assert response.status_code == 200
    return BeautifulSoup(response.text, "html.parser").select_one("#position-list")


def test_the_position_cards_come_from_the_cache_until_something_changes(client, app, world):
    discussion = open_discussion(client, world)
    post_position(client, world, discussion, "ann", summary="Ann's view")
    sign_in_browser(client, "bob")
    cache = app.state.fragments
    first = cards_of(client, discussion)
    hits = cache.hits
    app.state.responses = ResponseCache()  # whole answers are kept too; this is about parts
    assert str(cards_of(client, discussion)) == str(first)
    assert cache.hits == hits + 1
    post_position(client, world, discussion, "cat", summary="Cat's later view")
    refreshed = cards_of(client, discussion)
    assert [
        li.select_one(".summary").get_text() for li in refreshed.select("li.position-card")
    ] == [
        "Ann's view",
        "Cat's later view",
    ]


def test_each_viewer_gets_the_cards_they_may_see(client, world):
    discussion = open_discussion(client, world)
    mine = post_position(client, world, discussion, "ann")
    sign_in_browser(client, "prof")
    assert "Ann Real" in cards_of(client, discussion).get_text()
    sign_in_browser(client, "bob")
    peer = cards_of(client, discussion)
    assert "Ann Real" not in peer.get_text() and not peer.select(".is-yours")
    sign_in_browser(client, "ann")
    own = cards_of(client, discussion)
    assert own.select_one(f"#position-{mine['id']}.is-yours") is not None
    assert "Ann Real" in own.get_text()
    sign_in_browser(client, "cat")
    assert str(cards_of(client, discussion)) == str(peer)
