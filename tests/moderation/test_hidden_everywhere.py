"""Hidden content never reaches a student: pages, fragments, the stream and the API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.discussions.conftest import open_discussion, post_position, set_phase
from tests.discussions.leaks import Received
from tests.factories import sign_in_browser

HIDDEN_POSITION = "Hidden position words xq"
HIDDEN_CLAIM = "Hidden claim words zv"
HIDDEN_REBUTTAL = "Hidden rebuttal words wk"


def test_hidden_posts_reach_no_student_anywhere(client, world, session, settings):
    from ethicsforum.main import create_app
    from tests.discussions.test_live import cookie_for
    from tests.live import EventReader, serve_in_thread

    discussion = open_discussion(client, world)
    did = discussion["id"]
    hidden = post_position(
        client,
        world,
        discussion,
        "ann",
        summary=HIDDEN_POSITION,
        body=HIDDEN_POSITION,
        claims=[{"framework": "autonomy", "direction": "supports", "text": HIDDEN_CLAIM}],
    )
    shown = post_position(client, world, discussion, "bob")
    set_phase(client, world, discussion, "rebuttals")
    rebuttal = client.post(
        f"/api/v1/positions/{shown['id']}/rebuttals",
        json={"kind": "counter", "body": HIDDEN_REBUTTAL},
        headers=world["h"]["cat"],
    ).json()
    reply = client.post(
        f"/api/v1/positions/{shown['id']}/rebuttals",
        json={"kind": "question", "body": "A reply that stays", "parent_id": rebuttal["id"]},
        headers=world["h"]["ann"],
    ).json()
    for path in (
        f"/api/v1/positions/{hidden['id']}/hide",
        f"/api/v1/rebuttals/{rebuttal['id']}/hide",
    ):
        assert (
            client.post(path, json={"reason": "Harmful"}, headers=world["h"]["prof"]).status_code
            == 200
        )
    forbidden = [HIDDEN_POSITION, HIDDEN_CLAIM, HIDDEN_REBUTTAL]
    for student in ("ann", "bob", "cat"):  # the authors of hidden posts included
        seen = Received(student)
        h = world["h"][student]
        for path in (
            f"/api/v1/discussions/{did}/positions",
            f"/api/v1/positions/{hidden['id']}",
            f"/api/v1/positions/{shown['id']}",
            f"/api/v1/discussions/{did}",
        ):
            seen.add(f"API {path}", client.get(path, headers=h))
        with TestClient(client.app) as browser:
            sign_in_browser(browser, student)
            for path in (
                f"/discussions/{did}",
                f"/positions/{hidden['id']}",
                f"/positions/{shown['id']}",
                f"/positions/{shown['id']}?thread={rebuttal['id']}",
                f"/positions/{shown['id']}?reply_to={rebuttal['id']}",
                f"/moderate/positions/{hidden['id']}",
                f"/moderate/rebuttals/{rebuttal['id']}",
                "/cases/test-case/exemplary",
                "/notifications",
            ):
                seen.add(f"GET {path}", browser.get(path))
            seen.add(
                "htmx page",
                browser.get(
                    f"/discussions/{did}?page=1",
                    headers={"HX-Request": "true", "HX-Target": "position-list"},
                ),
            )
        seen.assert_no_leak(forbidden, ignore_case=False)
        tree = client.get(f"/api/v1/positions/{shown['id']}", headers=h).json()
        assert tree["rebuttals"][0]["hidden"] is True
        assert tree["rebuttals"][0]["replies"][0]["id"] == reply["id"]  # replies stay

    with serve_in_thread(create_app(settings)) as base:
        import httpx

        reader = EventReader(f"{base}/discussions/{did}/events", cookie_for(session, "cat"))
        try:
            # A reply under the hidden rebuttal is announced; the hidden text is not in it.
            httpx.post(
                f"{base}/api/v1/positions/{shown['id']}/rebuttals",
                json={"kind": "concede", "body": "Fair", "parent_id": rebuttal["id"]},
                headers=world["h"]["bob"],
            )
            event = reader.next()
        finally:
            reader.close()
    assert event.event == "rebuttal"
    assert all(word not in event.data for word in forbidden)
    faculty = client.get(f"/api/v1/positions/{hidden['id']}", headers=world["h"]["prof"])
    assert faculty.json()["summary"] == HIDDEN_POSITION  # kept, for faculty
