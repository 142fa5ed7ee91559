"""The discussion's exports: the debate brief, the participation CSV and the JSON record."""

from __future__ import annotations

import csv
import io
import json
import re

from tests.discussions.conftest import open_discussion, post_position


def export(client, world, discussion, fmt, who="prof"):
    return client.get(
        f"/api/v1/discussions/{discussion['id']}/export",
        params={"format": fmt},
        headers=world["h"][who],
    )


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response


def _history(client, world, discussion):
    """A discussion with a little of everything the record must keep."""
    h = world["h"]
    ann = post_position(
        client,
        world,
        discussion,
        "ann",
        summary="Honour her wish.",
        claims=[
            {"framework": "autonomy", "direction": "supports", "text": "She asked."},
            {"framework": "justice", "direction": "supports", "text": "Same for all."},
        ],
    )
    bob = post_position(client, world, discussion, "bob", option="wait", summary="Wait a day.")
    ok(
        client.post(
            f"/api/v1/positions/{ann['id']}/rebuttals",
            json={
                "kind": "counter",
                "body": "She wavered.",
                "claims": [
                    {"framework": "autonomy", "direction": "challenges", "text": "Not settled."}
                ],
            },
            headers=h["cat"],
        ),
        201,
    )
    rude = ok(
        client.post(
            f"/api/v1/positions/{ann['id']}/rebuttals",
            json={"kind": "counter", "body": "Rude words here."},
            headers=h["bob"],
        ),
        201,
    ).json()
    ok(
        client.post(
            f"/api/v1/rebuttals/{rude['id']}/hide", json={"reason": "Rude."}, headers=h["prof"]
        )
    )
    path = f"/api/v1/positions/{ann['id']}"
    ok(client.put(f"{path}/exemplary", json={"note": "A first note."}, headers=h["prof"]))
    ok(client.delete(f"{path}/exemplary", headers=h["prof"]), 204)
    ok(client.put(f"{path}/exemplary", json={"note": "Clear and kind."}, headers=h["prof"]))
    ok(client.post(f"{path}/flag", json={"reason": "Too long."}, headers=h["cat"]), 201)
    kept = ann["claims"][0]
    ok(
        client.patch(
            path,
            json={"claims": [{**kept, "text": "She asked, twice."}]},
            headers=h["ann"],
        )
    )
    ok(
        client.post(
            f"/api/v1/discussions/{discussion['id']}/stance",
            json={"moment": "final", "option": "wait"},
            headers=h["ann"],
        )
    )
    return ann, bob, rude


def test_the_brief_has_its_sections_in_order(client, world):
    discussion = open_discussion(client, world, early_rebuttals=True)
    ann, bob, rude = _history(client, world, discussion)
    response = ok(export(client, world, discussion, "markdown"))
    assert response.headers["content-type"].startswith("text/markdown")
    text = response.text
    assert text.startswith("# Debate brief: A test case\n")
    headings = ["## Tensions", "## Exemplary reasoning", "## Unanswered positions"]
    positions = [text.index(f"\n{h}\n") for h in headings]
    assert positions == sorted(positions)
    tensions = text[positions[0] : positions[1]]
    assert "### Autonomy" in tensions and "She asked, twice." in tensions
    assert "Not settled." in tensions and "### Justice" not in tensions
    exemplary = text[positions[1] : positions[2]]
    assert "> Honour her wish." in exemplary
    assert "Faculty note (Dr Prof): Clear and kind." in exemplary
    assert "A first note." not in text
    unanswered = text[positions[2] :]
    assert "- Wait a day. (Wait)" in unanswered and "Honour her wish." not in unanswered
    # The hidden rebuttal is not counted.
    assert re.search(r"\b3 students took part: 2 positions and 1 rebuttals?\b", text)
    assert "Rude words here." not in text


def test_the_participation_csv_still_works(client, world):
    discussion = open_discussion(client, world, early_rebuttals=True)
    _history(client, world, discussion)
    response = ok(export(client, world, discussion, "csv"))
    assert response.headers["content-type"].startswith("text/csv")
    rows = {r["username"]: r for r in csv.DictReader(io.StringIO(response.text))}
    assert set(rows) == {"ann", "bob", "cat"}
    assert rows["ann"]["positions"] == "1" and rows["cat"]["rebuttals"] == "1"
    assert rows["ann"]["final_stance"] == "wait"


def test_the_json_export_keeps_every_row(client, world):
    discussion = open_discussion(client, world, early_rebuttals=True)
    ann, bob, rude = _history(client, world, discussion)
    response = ok(export(client, world, discussion, "json"))
    assert response.headers["content-type"].startswith("application/json")
    assert "pseudonym_key" not in response.text
    everything = json.loads(response.text)

    assert everything["discussion"]["id"] == discussion["id"]
    assert everything["discussion"]["case"]["slug"] == "test-case"
    first, second = everything["positions"]
    assert (first["id"], first["author"]["username"]) == (ann["id"], "ann")
    assert (second["id"], second["author"]["username"]) == (bob["id"], "bob")
    assert [c["text"] for c in first["claims"]] == ["She asked, twice."]
    thread = {r["id"]: r for r in first["rebuttals"]}
    assert len(thread) == 2
    assert thread[rude["id"]]["hidden"] is True
    assert thread[rude["id"]]["body"] == "Rude words here."
    assert thread[rude["id"]]["author"]["username"] == "bob"
    assert [(s["username"], s["moment"], s["option"]) for s in everything["stances"]] == [
        ("ann", "final", "wait")
    ]

    records = everything["records"]
    assert records["discussion"]["id"] == discussion["id"]
    claims = {c["text"]: c for c in records["claims"]}
    assert claims["Same for all."]["retired_at"] is not None  # dropped by the edit
    assert claims["She asked, twice."]["retired_at"] is None
    assert "Not settled." in claims
    [revision] = records["revisions"]
    assert revision["position_id"] == ann["id"] and revision["summary"] == "Honour her wish."
    marks = records["exemplary_marks"]
    assert [m["note"] for m in marks] == ["A first note.", "Clear and kind."]
    assert marks[0]["removed_at"] is not None and marks[1]["removed_at"] is None
    [flag] = records["flags"]
    assert flag["position_id"] == ann["id"] and flag["reason"] == "Too long."
    actions = [a["action"] for a in records["audit"]]
    for action in ("hidden", "marked_exemplary", "unmarked_exemplary"):
        assert action in actions, actions
    hidden = {r["id"]: r for r in records["rebuttals"]}[rude["id"]]
    assert hidden["body"] == "Rude words here." and hidden["hidden_at"] is not None
    assert hidden["hidden_reason"] == "Rude."
    usernames = {a["username"] for a in records["accounts"]}
    assert {"ann", "bob", "cat", "prof"} <= usernames
    assert all(a["pseudonym"] for a in records["accounts"])


def test_exports_are_for_faculty_only_and_in_known_formats(client, world):
    discussion = open_discussion(client, world)
    post_position(client, world, discussion, "ann")
    path = f"/api/v1/discussions/{discussion['id']}/export"
    for fmt in ("markdown", "csv", "json"):
        assert export(client, world, discussion, fmt, who="ann").status_code == 403, fmt
        assert export(client, world, discussion, fmt, who="zed").status_code == 404, fmt
        assert export(client, world, discussion, fmt, who="root").status_code == 200, fmt
        assert client.get(path, params={"format": fmt}).status_code == 401, fmt
    assert export(client, world, discussion, "pdf").status_code == 422
    default = client.get(path, headers=world["h"]["prof"])
    assert default.status_code == 200 and default.text.startswith("# Debate brief:")
