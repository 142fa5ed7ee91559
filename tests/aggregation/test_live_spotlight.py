"""The spotlight over Server-Sent Events: each open screen receives it rendered for its viewer.

On PostgreSQL the announcement goes through LISTEN/NOTIFY, on SQLite straight to this
process's streams; both run here.
"""

from __future__ import annotations

import re
import time

import httpx
from bs4 import BeautifulSoup

from ethicsforum.main import create_app
from tests.discussions.conftest import open_discussion, post_position
from tests.discussions.leaks import assert_no_leak
from tests.discussions.test_live import cookie_for
from tests.live import EventReader, serve_in_thread

AUTHORS = ["Ann Real", "ann"]


def serve(settings):  # type: ignore[no-untyped-def]
    """The app in a thread, its broker listening before anything is announced."""
    app = create_app(settings)
    return app, serve_in_thread(app)


def wait_listening(app) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 15
    while not app.state.broker.listening.is_set():
        assert time.monotonic() < deadline, "the broker never started listening"
        time.sleep(0.02)


def spotlight_of(event) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    assert event.event == "spotlight", event
    return BeautifulSoup(event.data, "html.parser")


def test_the_spotlight_reaches_every_screen_without_the_authors_name(
    client, world, session, settings
):
    discussion = open_discussion(client, world)
    position = post_position(client, world, discussion, "ann", summary="Spotlit summary")
    claim = position["claims"][0]
    did = discussion["id"]
    app, server = serve(settings)
    with server as base:
        wait_listening(app)
        url = f"{base}/discussions/{did}/events"
        bob = EventReader(url, cookie_for(session, "bob"))
        prof_cookie = cookie_for(session, "prof")
        prof = EventReader(url, prof_cookie)
        try:
            assert bob.status == 200 and prof.status == 200
            put = httpx.put(
                f"{base}/api/v1/discussions/{did}/spotlight",
                json={"type": "position", "id": position["id"]},
                headers=world["h"]["prof"],
            )
            assert put.status_code == 200, put.text
            for label, reader in (("bob", bob), ("prof", prof)):
                event = reader.next()
                shown = spotlight_of(event)
                assert shown.select_one("#spotlight-text").text == "Spotlit summary", label
                assert shown.select_one("#spotlight-link")["href"] == f"/positions/{position['id']}"
                # No author for anyone: the room sees the projector, faculty's screen too.
                assert_no_leak(f"{label}'s spotlight event", event.data, AUTHORS)

            # A claim arrives with its framework and direction.
            httpx.put(
                f"{base}/api/v1/discussions/{did}/spotlight",
                json={"type": "claim", "id": claim["id"]},
                headers=world["h"]["prof"],
            ).raise_for_status()
            shown = spotlight_of(bob.next())
            assert shown.select_one("#spotlight-text").text == claim["text"]
            assert "autonomy" in shown.select_one(".spotlight-meta").text
            assert prof.next().event == "spotlight"

            # Cleared through the debate screen's own form: every screen empties its region.
            debate = httpx.get(f"{base}/discussions/{did}/debate", cookies=prof_cookie)
            token = re.search(r'name="csrf_token" value="([^"]+)"', debate.text)
            assert debate.status_code == 200 and token
            cleared = httpx.post(
                f"{base}/discussions/{did}/spotlight",
                data={"csrf_token": token.group(1), "action": "clear"},
                headers={"HX-Request": "true"},
                cookies=prof_cookie,
            )
            assert cleared.status_code == 200, cleared.text
            for reader in (bob, prof):
                event = reader.next()
                assert event.event == "spotlight"
                assert spotlight_of(event).select_one("#spotlight") is None
                assert "Spotlit summary" not in event.data and claim["text"] not in event.data
        finally:
            bob.close()
            prof.close()


def test_post_first_announces_the_spotlight_without_its_text_to_students_yet_to_post(
    client, world, session, settings
):
    discussion = open_discussion(client, world, post_first=True)
    position = post_position(client, world, discussion, "ann", summary="Not for Bob yet")
    did = discussion["id"]
    app, server = serve(settings)
    with server as base:
        wait_listening(app)
        url = f"{base}/discussions/{did}/events"
        bob = EventReader(url, cookie_for(session, "bob"))
        ann = EventReader(url, cookie_for(session, "ann"))
        try:
            httpx.put(
                f"{base}/api/v1/discussions/{did}/spotlight",
                json={"type": "position", "id": position["id"]},
                headers=world["h"]["prof"],
            ).raise_for_status()
            event = bob.next()
            shown = spotlight_of(event)
            assert shown.select_one("#spotlight") is not None  # he knows something is up
            assert "hidden-note" in shown.select_one("#spotlight-text")["class"]
            assert "Not for Bob yet" not in event.data
            assert "Act now" not in event.data and "spotlight-meta" not in event.data
            assert shown.select_one("#spotlight-link") is None
            # Ann has posted: she reads it.
            assert spotlight_of(ann.next()).select_one("#spotlight-text").text == "Not for Bob yet"
        finally:
            bob.close()
            ann.close()
