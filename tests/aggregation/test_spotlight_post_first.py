"""Post-first withholds the spotlit post's option (and framework, direction, ids) from a
student who has not posted, in the API and the page fragment (test_live_spotlight checks the
event stream)."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from tests.discussions.conftest import open_discussion, post_position
from tests.factories import sign_in_browser

WITHHELD = {"id", "position_id", "option", "text", "framework", "direction"}


def spotlight(client, world, discussion, kind, target_id):
    response = client.put(
        f"/api/v1/discussions/{discussion['id']}/spotlight",
        json={"type": kind, "id": target_id},
        headers=world["h"]["prof"],
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("kind", ["position", "claim"])
def test_a_student_yet_to_post_learns_only_that_something_is_spotlit(client, world, kind):
    discussion = open_discussion(client, world, post_first=True)
    ann = post_position(client, world, discussion, "ann", option="wait")
    target = ann["id"] if kind == "position" else ann["claims"][1]["id"]
    spotlight(client, world, discussion, kind, target)
    path = f"/api/v1/discussions/{discussion['id']}/spotlight"
    bob = client.get(path, headers=world["h"]["bob"]).json()
    assert bob["type"] == kind and bob["set_at"]
    assert {name for name in WITHHELD if bob[name] is not None} == set()
    seen = client.get(path, headers=world["h"]["ann"]).json()
    assert seen["option"] == "wait" and seen["id"] == target
    if kind == "claim":
        assert seen["framework"] == "justice" and seen["direction"] == "challenges"
    post_position(client, world, discussion, "bob")
    assert client.get(path, headers=world["h"]["bob"]).json()["option"] == "wait"


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}], ids=["page", "htmx"])
def test_the_spotlight_fragment_shows_no_option_before_posting(client, world, headers):
    discussion = open_discussion(client, world, post_first=True)
    ann = post_position(client, world, discussion, "ann", option="wait")
    spotlight(client, world, discussion, "claim", ann["claims"][1]["id"])
    sign_in_browser(client, "bob")
    # The discussion page fetches this fragment when it loads; the stream sends it live.
    for url in (f"/discussions/{discussion['id']}/spotlight",):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        aside = BeautifulSoup(response.text, "html.parser").select_one("#spotlight")
        assert aside is not None, url
        assert aside.select_one(".spotlight-meta") is None
        assert "hidden-note" in aside.select_one("#spotlight-text")["class"]
        for leak in ("Wait", "justice", "against this option", "Others wait."):
            assert leak not in aside.get_text(), (url, leak)
