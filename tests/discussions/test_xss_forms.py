"""Naughty strings through the page forms: stored as typed, never 5xx, rendered inert."""

from __future__ import annotations

from bs4 import BeautifulSoup

from tests.discussions.conftest import open_discussion, post_position, set_phase
from tests.discussions.test_xss_corpus import corpus, live_markup
from tests.factories import sign_in_browser


def test_naughty_strings_posted_through_the_rebuttal_form(client, world):
    discussion = open_discussion(client, world)
    position = post_position(client, world, discussion, "ann")
    set_phase(client, world, discussion, "rebuttals")
    token = sign_in_browser(client, "bob")
    strings = [s for s in corpus() if s.strip() and "\x00" not in s][::3]
    assert len(strings) > 100
    accepted = []
    for text in strings:
        response = client.post(
            f"/positions/{position['id']}/rebuttals",
            data={"csrf_token": token, "kind": "counter", "body": text},
            follow_redirects=False,
        )
        assert response.status_code < 500, (text, response.status_code)
        if response.status_code == 303:
            accepted.append(text)
        else:
            assert response.status_code == 422, (text, response.status_code)
    assert len(accepted) >= len(strings) - 5
    tree = client.get(f"/api/v1/positions/{position['id']}", headers=world["h"]["cat"]).json()
    stored = [r["body"] for r in tree["rebuttals"]]
    assert stored == accepted  # byte for byte, in order
    page = client.get(f"/positions/{position['id']}")
    assert page.status_code == 200
    bodies = BeautifulSoup(page.text, "html.parser").select("#rebuttal-tree .body")
    assert len(bodies) == len(accepted)
    problems = [p for body in bodies for p in live_markup(str(body))]
    assert problems == []


def test_naughty_strings_in_the_composer(client, world):
    discussion = open_discussion(client, world)
    token = sign_in_browser(client, "ann")
    text = "<script>alert(1)</script>[x](javascript:alert(1))<img src=x onerror=alert(1)>"
    response = client.post(
        f"/discussions/{discussion['id']}/positions",
        data={
            "csrf_token": token,
            "option": "act",
            "summary": text[:280],
            "body": text,
            "claims-0-framework": "autonomy",
            "claims-0-direction": "supports",
            "claims-0-text": text,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    [stored] = client.get(
        f"/api/v1/discussions/{discussion['id']}/positions", headers=world["h"]["ann"]
    ).json()
    assert stored["summary"] == text[:280] and stored["body"] == text
    assert stored["claims"][0]["text"] == text
    page = client.get(response.headers["location"]).text
    assert "<script>alert(1)</script>" not in page
    assert live_markup(str(BeautifulSoup(page, "html.parser").select_one("#position"))) == []
