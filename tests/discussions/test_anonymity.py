"""Anonymous to peers: nothing a student receives from the API tells them who wrote what.

Every response a student can reach in an anonymous discussion (reads, their own writes,
refusals and not-founds, headers included) is scanned for every other student's username
and display name, for account-id keys and for the `username` key. Faculty, the other way
round, see every author's username.
"""

from __future__ import annotations

import pytest

from tests.discussions.conftest import open_discussion, position_body, set_phase
from tests.discussions.leaks import ACCOUNT_ID_KEYS, Received, assert_no_leak, find_leaks

STUDENTS = ("ann", "bob", "cat")
NAMES = {name: f"{name.title()} Real" for name in STUDENTS}


def forbidden_for(viewer: str) -> list[str]:
    """What `viewer` must never receive: the other students' names, ids, any username key."""
    others = [name for name in STUDENTS if name != viewer]
    return [*others, *(NAMES[name] for name in others)] + ACCOUNT_ID_KEYS + ['"username"']


def test_the_scan_finds_names_standing_alone_and_ignores_them_inside_words():
    assert find_leaks("content-type: application/json; Gannet; Bobcat; scatter", STUDENTS) == []
    assert find_leaks('{"label": "Ann Real"}', ["Ann Real"])
    assert find_leaks('{"label": "ANN"}', ["ann"])
    assert find_leaks('{"label": "\\u0041nn Real"}', ["Ann Real"])  # escaped in JSON
    assert find_leaks("<p>Bob&#32;Real</p>", ["Bob Real"])  # escaped in HTML
    assert find_leaks("/x?who=Cat%20Real", ["Cat Real"])  # escaped in a URL
    assert find_leaks('{"author_id": 3}', ACCOUNT_ID_KEYS)
    with pytest.raises(AssertionError, match=r"the page leaks:\n  'bob' in"):
        assert_no_leak("the page", "<p>by bob</p>", ["ann", "bob"])


def _discussion_with_everything(client, world) -> dict:
    """Positions by all three, rebuttals of every kind of anchor, one edited position."""
    h = world["h"]
    discussion = open_discussion(client, world, anonymity="anonymous_to_peers", post_first=False)
    did = discussion["id"]
    received = {name: Received(name) for name in STUDENTS}
    positions: dict[str, dict] = {}
    authors: dict[tuple[str, int], str] = {}
    for name, option in zip(STUDENTS, ("act", "wait", "act"), strict=True):
        stance = client.post(
            f"/api/v1/discussions/{did}/stance",
            json={"moment": "initial", "option": option},
            headers=h[name],
        )
        assert received[name].add("POST initial stance", stance).status_code == 200
        posted = client.post(
            f"/api/v1/discussions/{did}/positions",
            json=position_body(option=option, summary=f"A position, option {option}."),
            headers=h[name],
        )
        assert received[name].add("POST position", posted).status_code == 201, posted.text
        positions[name] = posted.json()
        authors[("position", posted.json()["id"])] = name
    set_phase(client, world, discussion, "rebuttals")

    def rebut(who: str, target: str, **body) -> dict:
        response = client.post(
            f"/api/v1/positions/{positions[target]['id']}/rebuttals",
            json={"kind": "counter", "body": "I see it differently.", **body},
            headers=h[who],
        )
        label = f"POST rebuttal of {target}'s position {body}"
        assert received[who].add(label, response).status_code == 201, response.text
        authors[("rebuttal", response.json()["id"])] = who
        return response.json()

    claim = {"framework": "justice", "direction": "challenges", "text": "Unfair to others."}
    on_ann = rebut("bob", "ann", claims=[claim])
    rebut("cat", "ann", kind="challenge", claim_id=positions["ann"]["claims"][0]["id"])
    reply = rebut("ann", "ann", kind="question", parent_id=on_ann["id"])
    rebut("bob", "ann", kind="concede", parent_id=reply["id"])
    rebut("cat", "ann", kind="counter", parent_id=on_ann["id"], claim_id=on_ann["claims"][0]["id"])
    on_bob = rebut("ann", "bob")
    rebut("cat", "bob", kind="challenge", claim_id=positions["bob"]["claims"][1]["id"])
    rebut("bob", "bob", kind="question", parent_id=on_bob["id"])
    on_cat = rebut("bob", "cat", kind="challenge", claim_id=positions["cat"]["claims"][2]["id"])
    rebut("cat", "cat", kind="counter", parent_id=on_cat["id"])
    rebut("ann", "cat", kind="concede", parent_id=on_cat["id"])

    first_claim = positions["ann"]["claims"][0]
    edited = client.patch(
        f"/api/v1/positions/{positions['ann']['id']}",
        json={
            "summary": "Act, but carefully.",
            "claims": [{**first_claim, "text": "She asked, twice."}],
        },
        headers=h["ann"],
    )
    assert received["ann"].add("PATCH own position", edited).status_code == 200, edited.text
    edited_rebuttal = client.patch(
        f"/api/v1/rebuttals/{on_ann['id']}", json={"body": "I disagree, because."}, headers=h["bob"]
    )
    assert received["bob"].add("PATCH own rebuttal", edited_rebuttal).status_code == 200
    return {
        "discussion": discussion,
        "positions": positions,
        "authors": authors,
        "received": received,
    }


def _reach_everything(client, world, setup: dict, viewer: str, seen: Received) -> None:
    """Every read and refused write of the discussion, as `viewer`."""
    h, did = world["h"], setup["discussion"]["id"]
    positions = setup["positions"]

    def expect(label: str, response, status: int) -> None:  # type: ignore[no-untyped-def]
        seen.add(label, response)
        assert response.status_code == status, (viewer, label, response.text)

    expect("GET discussion", client.get(f"/api/v1/discussions/{did}", headers=h[viewer]), 200)
    listed = client.get(f"/api/v1/discussions/{did}/positions", headers=h[viewer])
    expect("GET positions", listed, 200)
    assert len(listed.json()) == 3
    paged = client.get(f"/api/v1/discussions/{did}/positions?page=1&per_page=2", headers=h[viewer])
    expect("GET positions page 1", paged, 200)
    for author, position in positions.items():
        pid = position["id"]
        expect(
            f"GET {author}'s position",
            client.get(f"/api/v1/positions/{pid}", headers=h[viewer]),
            200,
        )
        mine = author == viewer or viewer == "prof"
        expect(
            f"GET {author}'s revisions",
            client.get(f"/api/v1/positions/{pid}/revisions", headers=h[viewer]),
            200 if mine else 403,
        )
    if viewer == "prof":
        return
    other = next(name for name in STUDENTS if name != viewer)
    expect(
        f"PATCH {other}'s position",
        client.patch(
            f"/api/v1/positions/{positions[other]['id']}",
            json={"summary": "Mine now."},
            headers=h[viewer],
        ),
        403,
    )
    theirs = next(
        rid for (kind, rid), who in setup["authors"].items() if kind == "rebuttal" and who != viewer
    )
    expect(
        "PATCH someone else's rebuttal",
        client.patch(f"/api/v1/rebuttals/{theirs}", json={"body": "Mine now."}, headers=h[viewer]),
        403,
    )
    expect("GET missing position", client.get("/api/v1/positions/999999", headers=h[viewer]), 404)
    expect(
        "POST rebuttal of a missing position",
        client.post(
            "/api/v1/positions/999999/rebuttals",
            json={"kind": "counter", "body": "x"},
            headers=h[viewer],
        ),
        404,
    )
    expect(
        "POST second position",
        client.post(
            f"/api/v1/discussions/{did}/positions", json=position_body(), headers=h[viewer]
        ),
        409,
    )
    expect(
        "POST final stance",
        client.post(
            f"/api/v1/discussions/{did}/stance",
            json={"moment": "final", "option": "wait"},
            headers=h[viewer],
        ),
        200,
    )


def _authors_in(tree: dict) -> list[tuple[str, int, dict]]:
    """(kind, id, author) of a position and every rebuttal below it."""
    found = [("position", tree["id"], tree["author"])]
    pending = list(tree.get("rebuttals", []))
    while pending:
        rebuttal = pending.pop()
        found.append(("rebuttal", rebuttal["id"], rebuttal["author"]))
        pending.extend(rebuttal["replies"])
    return found


def test_no_student_learns_who_wrote_what_in_an_anonymous_discussion(client, world):
    setup = _discussion_with_everything(client, world)
    for viewer in STUDENTS:
        seen = setup["received"][viewer]
        _reach_everything(client, world, setup, viewer, seen)
        assert len(seen.responses) >= 15
        seen.assert_no_leak(forbidden_for(viewer))
        # The scan had something to find: peers appear, under pseudonyms, and you as you.
        trees = [
            client.get(f"/api/v1/positions/{p['id']}", headers=world["h"][viewer]).json()
            for p in setup["positions"].values()
        ]
        for kind, item_id, author in (a for tree in trees for a in _authors_in(tree)):
            writer = setup["authors"][(kind, item_id)]
            if writer == viewer:
                assert author == {"label": NAMES[viewer], "is_you": True}
            else:
                assert author["is_you"] is False and author["label"] != NAMES[writer]


def test_faculty_see_every_authors_username(client, world):
    setup = _discussion_with_everything(client, world)
    seen = Received("prof")
    _reach_everything(client, world, setup, "prof", seen)
    trees = [
        client.get(f"/api/v1/positions/{p['id']}", headers=world["h"]["prof"]).json()
        for p in setup["positions"].values()
    ]
    everyone = [a for tree in trees for a in _authors_in(tree)]
    assert len(everyone) == 3 + 11
    for kind, item_id, author in everyone:
        writer = setup["authors"][(kind, item_id)]
        assert author == {"label": NAMES[writer], "username": writer, "is_you": False}
    # The same scan that passes for students fails on what faculty receive, naming the leak.
    with pytest.raises(AssertionError) as failure:
        seen.assert_no_leak(forbidden_for("ann"))
    for leaked in ("'bob'", "'Bob Real'", "'cat'", "'Cat Real'", """'"username"'"""):
        assert leaked in str(failure.value)


def test_no_student_learns_who_wrote_what_from_the_pages_or_the_stream(
    client, world, session, settings
):
    from fastapi.testclient import TestClient

    from ethicsforum.main import create_app
    from tests.discussions.test_live import cookie_for
    from tests.factories import sign_in_browser
    from tests.live import EventReader, serve_in_thread

    setup = _discussion_with_everything(client, world)
    did = setup["discussion"]["id"]
    cohort_id = world["cohort"].id
    trees = {
        name: client.get(f"/api/v1/positions/{p['id']}", headers=world["h"]["prof"]).json()
        for name, p in setup["positions"].items()
    }
    rebuttal_ids = [
        rid for tree in trees.values() for kind, rid, _ in _authors_in(tree) if kind == "rebuttal"
    ]
    for viewer in STUDENTS:
        seen = Received(viewer)
        with TestClient(client.app) as browser:
            sign_in_browser(browser, viewer)
            pages = [
                f"/discussions/{did}",
                f"/discussions/{did}?page=1",
                "/cohorts",
                f"/cohorts/{cohort_id}",
            ]
            for author, position in setup["positions"].items():
                pid = position["id"]
                pages += [
                    f"/positions/{pid}",
                    f"/positions/{pid}/edit",
                    f"/positions/{pid}/revisions",
                ]
                pages += [f"/positions/{pid}?reply_to={rid}" for rid in rebuttal_ids]
                pages += [
                    f"/positions/{pid}?thread={rid}"
                    for rid in rebuttal_ids
                    if any(r == rid for _, r, _ in _authors_in(trees[author]))
                ]
            for path in pages:
                seen.add(f"GET {path}", browser.get(path))
            seen.add(
                "htmx page of positions",
                browser.get(
                    f"/discussions/{did}?page=1",
                    headers={"HX-Request": "true", "HX-Target": "position-list"},
                ),
            )
        seen.assert_no_leak(forbidden_for(viewer))
        assert len(seen.responses) > 20

    # The event stream: bob listens while ann rebuts and faculty move the phase.
    with serve_in_thread(create_app(settings)) as base:
        import httpx

        reader = EventReader(f"{base}/discussions/{did}/events", cookie_for(session, "bob"))
        position_reader = EventReader(
            f"{base}/discussions/{did}/events?position={setup['positions']['cat']['id']}",
            cookie_for(session, "bob"),
        )
        try:
            httpx.post(
                f"{base}/api/v1/positions/{setup['positions']['cat']['id']}/rebuttals",
                json={"kind": "challenge", "body": "Streamed words"},
                headers=world["h"]["ann"],
            )
            events = [reader.next(), position_reader.next()]
        finally:
            reader.close()
            position_reader.close()
    for event in events:
        assert_no_leak(f"the {event.event} event", event.data, forbidden_for("bob"))
    assert "Streamed words" in events[1].data
