"""The discussions API as the contract describes it."""

from __future__ import annotations

import pytest

from tests.discussions.conftest import (
    open_discussion,
    position_body,
    post_position,
    set_phase,
)


def test_faculty_open_a_discussion_pinned_to_the_current_version(client, world):
    discussion = open_discussion(client, world, title="Week 3")
    assert discussion["phase"] == "positions" and discussion["case_version"] == 1
    assert discussion["title"] == "Week 3" and discussion["early_rebuttals"] is False
    got = client.get(f"/api/v1/discussions/{discussion['id']}", headers=world["h"]["ann"])
    assert got.status_code == 200
    assert got.json()["case"]["slug"] == "test-case"


@pytest.mark.parametrize(("who", "status"), [("ann", 403), ("zed", 403)])
def test_only_faculty_open_discussions_whatever_they_send(client, world, who, status):
    assert client.post("/api/v1/discussions", json={}, headers=world["h"][who]).status_code == 403


def test_opening_for_a_cohort_or_case_one_cannot_see_is_404(client, world, session):
    from tests.factories import make_account, token_for

    make_account(session, username="otherprof", role="faculty")
    other = token_for(client, "otherprof")
    body = {"case_slug": "test-case", "cohort_id": world["cohort"].id}
    assert client.post("/api/v1/discussions", json=body, headers=other).status_code == 404
    body = {"case_slug": "no-such-case", "cohort_id": world["cohort"].id}
    assert (
        client.post("/api/v1/discussions", json=body, headers=world["h"]["prof"]).status_code == 404
    )


def test_a_discussion_is_not_found_outside_its_cohort(client, world):
    discussion = open_discussion(client, world)
    path = f"/api/v1/discussions/{discussion['id']}"
    assert client.get(path, headers=world["h"]["zed"]).status_code == 404
    assert client.get(path + "/positions", headers=world["h"]["zed"]).status_code == 404
    assert client.get(path, headers=world["h"]["root"]).status_code == 200
    assert client.get("/api/v1/discussions/9999", headers=world["h"]["ann"]).status_code == 404


def test_a_student_posts_one_position_with_claims(client, world):
    discussion = open_discussion(client, world)
    position = post_position(client, world, discussion, "ann")
    assert position["option"] == "act" and len(position["claims"]) == 3
    assert position["body_html"] == "<p>Because <em>reasons</em>.</p>\n"
    assert position["author"] == {"label": "Ann Real", "is_you": True}
    assert position["exemplary"] is None and position["hidden"] is False
    second = client.post(
        f"/api/v1/discussions/{discussion['id']}/positions",
        json=position_body(),
        headers=world["h"]["ann"],
    )
    assert second.status_code == 409


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"option": "fly"}, "option"),
        ({"summary": "x" * 281}, "summary"),
        ({"claims": []}, "claims"),
        (
            {"claims": [{"framework": "beneficence", "direction": "supports", "text": "x"}]},
            "claims",
        ),
        ({"claims": [{"framework": "autonomy", "direction": "sideways", "text": "x"}]}, "claims"),
        (
            {"claims": [{"framework": "autonomy", "direction": "supports", "text": "x"}] * 9},
            "claims",
        ),
        ({"body": "x" * 20_001}, "body"),
    ],
)
def test_invalid_positions_get_422_naming_the_field(client, world, change, field):
    discussion = open_discussion(client, world)
    response = client.post(
        f"/api/v1/discussions/{discussion['id']}/positions",
        json=position_body(**change),
        headers=world["h"]["ann"],
    )
    assert response.status_code == 422
    assert any(field in e["loc"] for e in response.json()["detail"])


def test_faculty_and_outsiders_do_not_post_positions(client, world):
    discussion = open_discussion(client, world)
    path = f"/api/v1/discussions/{discussion['id']}/positions"
    assert client.post(path, json={}, headers=world["h"]["prof"]).status_code == 403
    assert client.post(path, json={}, headers=world["h"]["zed"]).status_code == 404
    assert client.post(path, json={}, headers=world["h"]["root"]).status_code == 403


def test_a_closed_discussion_refuses_posts_and_edits(client, world):
    discussion = open_discussion(client, world)
    position = post_position(client, world, discussion, "ann")
    set_phase(client, world, discussion, "closed")
    response = client.post(
        f"/api/v1/discussions/{discussion['id']}/positions",
        json=position_body(),
        headers=world["h"]["bob"],
    )
    assert response.status_code == 409
    edit = client.patch(
        f"/api/v1/positions/{position['id']}",
        json={"summary": "Changed"},
        headers=world["h"]["ann"],
    )
    assert edit.status_code == 409
    set_phase(client, world, discussion, "rebuttals")  # faculty move it either way
    assert (
        client.patch(
            f"/api/v1/positions/{position['id']}",
            json={"summary": "Changed"},
            headers=world["h"]["ann"],
        ).status_code
        == 200
    )


def test_only_faculty_change_the_phase(client, world):
    discussion = open_discussion(client, world)
    response = client.patch(
        f"/api/v1/discussions/{discussion['id']}",
        json={"phase": "closed"},
        headers=world["h"]["ann"],
    )
    assert response.status_code == 403
    bad = client.patch(
        f"/api/v1/discussions/{discussion['id']}",
        json={"phase": "voting"},
        headers=world["h"]["prof"],
    )
    assert bad.status_code == 422


def test_anonymous_discussions_show_peers_stable_pseudonyms_and_faculty_real_names(client, world):
    first = open_discussion(client, world)
    second = open_discussion(client, world)
    for discussion in (first, second):
        post_position(client, world, discussion, "ann")
        post_position(client, world, discussion, "bob")
    seen_by_bob = client.get(
        f"/api/v1/discussions/{first['id']}/positions", headers=world["h"]["bob"]
    ).json()
    ann_label = seen_by_bob[0]["author"]["label"]
    assert "username" not in seen_by_bob[0]["author"]
    assert ann_label != "Ann Real" and "ann" not in ann_label.lower()
    assert seen_by_bob[1]["author"] == {"label": "Bob Real", "is_you": True}
    again = client.get(
        f"/api/v1/positions/{seen_by_bob[0]['id']}", headers=world["h"]["cat"]
    ).json()
    assert again["author"]["label"] == ann_label  # stable within the discussion
    elsewhere = client.get(
        f"/api/v1/discussions/{second['id']}/positions", headers=world["h"]["bob"]
    ).json()
    assert elsewhere[0]["author"]["label"] != ann_label  # unlinkable across discussions
    by_faculty = client.get(
        f"/api/v1/discussions/{first['id']}/positions", headers=world["h"]["prof"]
    ).json()
    assert by_faculty[0]["author"] == {"label": "Ann Real", "username": "ann", "is_you": False}


def test_named_discussions_show_display_names_but_no_usernames_to_students(client, world):
    discussion = open_discussion(client, world, anonymity="named")
    post_position(client, world, discussion, "ann")
    seen = client.get(
        f"/api/v1/discussions/{discussion['id']}/positions", headers=world["h"]["bob"]
    ).json()
    assert seen[0]["author"] == {"label": "Ann Real", "is_you": False}


def test_post_first_hides_peers_until_the_student_has_posted(client, world):
    discussion = open_discussion(client, world, post_first=True)
    ann = post_position(client, world, discussion, "ann")
    path = f"/api/v1/discussions/{discussion['id']}/positions"
    assert client.get(path, headers=world["h"]["bob"]).json() == []
    assert (
        client.get(f"/api/v1/positions/{ann['id']}", headers=world["h"]["bob"]).status_code == 404
    )
    post_position(client, world, discussion, "bob")
    assert len(client.get(path, headers=world["h"]["bob"]).json()) == 2
    assert len(client.get(path, headers=world["h"]["prof"]).json()) == 2


def test_editing_keeps_the_old_text_and_claim_anchors(client, world):
    discussion = open_discussion(client, world, early_rebuttals=True)
    position = post_position(client, world, discussion, "ann")
    anchored = position["claims"][0]
    rebuttal = client.post(
        f"/api/v1/positions/{position['id']}/rebuttals",
        json={"kind": "challenge", "body": "Did she?", "claim_id": anchored["id"]},
        headers=world["h"]["bob"],
    )
    assert rebuttal.status_code == 201
    claims = [
        {
            "id": anchored["id"],
            "framework": "autonomy",
            "direction": "supports",
            "text": "She asked, twice.",
        },
        {"framework": "justice", "direction": "supports", "text": "New claim."},
    ]
    edited = client.patch(
        f"/api/v1/positions/{position['id']}",
        json={"summary": "Act, carefully.", "claims": claims},
        headers=world["h"]["ann"],
    )
    assert edited.status_code == 200
    body = edited.json()
    assert body["summary"] == "Act, carefully." and body["edited_at"] is not None
    assert [c["text"] for c in body["claims"]] == ["She asked, twice.", "New claim."]
    assert body["claims"][0]["id"] == anchored["id"]
    revisions = client.get(
        f"/api/v1/positions/{position['id']}/revisions", headers=world["h"]["ann"]
    )
    assert revisions.status_code == 200
    [old] = revisions.json()
    assert old["summary"] == "We should act now." and len(old["claims"]) == 3
    assert (
        client.get(
            f"/api/v1/positions/{position['id']}/revisions", headers=world["h"]["prof"]
        ).status_code
        == 200
    )
    assert (
        client.get(
            f"/api/v1/positions/{position['id']}/revisions", headers=world["h"]["bob"]
        ).status_code
        == 403
    )
    assert (
        client.patch(
            f"/api/v1/positions/{position['id']}", json={"summary": "x"}, headers=world["h"]["bob"]
        ).status_code
        == 403
    )
    tree = client.get(f"/api/v1/positions/{position['id']}", headers=world["h"]["cat"]).json()
    assert tree["rebuttals"][0]["claim_id"] == anchored["id"]


def test_rebuttals_wait_for_the_rebuttal_phase_and_form_a_tree(client, world):
    discussion = open_discussion(client, world)
    position = post_position(client, world, discussion, "ann")
    path = f"/api/v1/positions/{position['id']}/rebuttals"
    early = client.post(path, json={"kind": "counter", "body": "No."}, headers=world["h"]["bob"])
    assert early.status_code == 409
    set_phase(client, world, discussion, "rebuttals")
    top = client.post(
        path,
        json={
            "kind": "counter",
            "body": "No.",
            "claims": [{"framework": "justice", "direction": "challenges", "text": "Unfair."}],
        },
        headers=world["h"]["bob"],
    ).json()
    reply = client.post(
        path,
        json={"kind": "question", "body": "Why?", "parent_id": top["id"]},
        headers=world["h"]["ann"],
    )
    assert reply.status_code == 201 and reply.json()["depth"] == 1
    deeper = client.post(
        path,
        json={"kind": "concede", "body": "Fair.", "parent_id": reply.json()["id"]},
        headers=world["h"]["cat"],
    )
    assert deeper.json()["depth"] == 2
    tree = client.get(f"/api/v1/positions/{position['id']}", headers=world["h"]["cat"]).json()
    assert tree["rebuttal_count"] == 3
    [root] = tree["rebuttals"]
    assert root["claims"][0]["text"] == "Unfair."
    assert root["replies"][0]["replies"][0]["kind"] == "concede"
    bad_parent = client.post(
        path, json={"kind": "counter", "body": "x", "parent_id": 999999}, headers=world["h"]["bob"]
    )
    assert bad_parent.status_code == 422
    bad_claim = client.post(
        path, json={"kind": "counter", "body": "x", "claim_id": 999999}, headers=world["h"]["bob"]
    )
    assert bad_claim.status_code == 422
    assert (
        client.post(
            path, json={"kind": "shout", "body": "x"}, headers=world["h"]["bob"]
        ).status_code
        == 422
    )
    edited = client.patch(
        f"/api/v1/rebuttals/{top['id']}", json={"body": "No, because."}, headers=world["h"]["bob"]
    )
    assert edited.status_code == 200 and edited.json()["edited_at"]
    assert (
        client.patch(
            f"/api/v1/rebuttals/{top['id']}", json={"body": "x"}, headers=world["h"]["ann"]
        ).status_code
        == 403
    )


def test_stances_initial_before_posting_final_any_time(client, world):
    discussion = open_discussion(client, world)
    path = f"/api/v1/discussions/{discussion['id']}/stance"
    ann = world["h"]["ann"]
    ok = client.post(path, json={"moment": "initial", "option": "wait"}, headers=ann)
    assert ok.status_code == 200 and ok.json()["option"] == "wait"
    assert (
        client.post(path, json={"moment": "initial", "option": "nope"}, headers=ann).status_code
        == 422
    )
    post_position(client, world, discussion, "ann")
    assert (
        client.post(path, json={"moment": "initial", "option": "act"}, headers=ann).status_code
        == 409
    )
    set_phase(client, world, discussion, "closed")
    assert (
        client.post(path, json={"moment": "final", "option": "act"}, headers=ann).status_code == 200
    )
    assert (
        client.post(
            path, json={"moment": "final", "option": "act"}, headers=world["h"]["prof"]
        ).status_code
        == 403
    )


def test_posting_is_rate_limited_per_student(settings, session, world):
    from fastapi.testclient import TestClient

    from ethicsforum.main import create_app

    with TestClient(create_app(settings.model_copy(update={"rate_limits": True}))) as client:
        discussion = open_discussion(client, world, early_rebuttals=True)
        position = post_position(client, world, discussion, "ann")
        path = f"/api/v1/positions/{position['id']}/rebuttals"
        statuses = [
            client.post(
                path, json={"kind": "counter", "body": f"no {n}"}, headers=world["h"]["bob"]
            ).status_code
            for n in range(21)
        ]
        assert statuses[:20] == [201] * 20
        assert statuses[20] == 429
        assert (
            client.post(
                path, json={"kind": "counter", "body": "me"}, headers=world["h"]["cat"]
            ).status_code
            == 201
        )


def test_a_body_over_a_mebibyte_is_refused_with_413(client, world):
    discussion = open_discussion(client, world)
    big = '{"option": "act", "summary": "x", "body": "' + "x" * (1024 * 1024) + '"}'
    response = client.post(
        f"/api/v1/discussions/{discussion['id']}/positions",
        content=big,
        headers={**world["h"]["ann"], "Content-Type": "application/json"},
    )
    assert response.status_code == 413

    def chunks():
        yield b'{"body": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    streamed = client.post(
        f"/api/v1/discussions/{discussion['id']}/positions",
        content=chunks(),
        headers={**world["h"]["ann"], "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413


def test_answers_and_phase_changes_notify_without_naming_anyone(client, world, session):
    from sqlmodel import select

    from ethicsforum.accounts.models import Account
    from ethicsforum.notifications.models import Notification
    from tests.conftest import fresh

    discussion = open_discussion(client, world, early_rebuttals=True)
    position = post_position(client, world, discussion, "ann")
    first = client.post(
        f"/api/v1/positions/{position['id']}/rebuttals",
        json={"kind": "challenge", "body": "Why?"},
        headers=world["h"]["bob"],
    )
    client.post(
        f"/api/v1/positions/{position['id']}/rebuttals",
        json={"kind": "counter", "body": "Because.", "parent_id": first.json()["id"]},
        headers=world["h"]["cat"],
    )
    set_phase(client, world, discussion, "rebuttals")
    rows = (
        fresh(session)
        .exec(select(Notification, Account).join(Account, Account.id == Notification.account_id))
        .all()
    )
    texts = {(a.username, n.kind, n.text) for n, a in rows}
    assert ("ann", "rebuttal", "Someone answered your position with a challenge.") in texts
    assert ("ann", "rebuttal", "Someone answered your position with a counter.") in texts
    assert ("bob", "rebuttal", "Someone answered your rebuttal with a counter.") in texts
    assert {u for u, kind, _ in texts if kind == "phase"} == {"ann", "bob", "cat"}
    assert not any("Real" in text or "bob" in text for _, _, text in texts)


def test_a_saved_position_is_answered_201_while_another_writer_holds_the_lock(
    client, world, settings, session
):
    """The answer is read after the commit without queueing for SQLite's write lock again."""
    import sqlite3

    from fastapi.testclient import TestClient
    from sqlalchemy import event
    from sqlalchemy.engine import make_url
    from sqlalchemy.orm import Session

    from ethicsforum.main import create_app

    if not settings.is_sqlite:
        pytest.skip("SQLite's one write lock; PostgreSQL writers do not queue on it")
    discussion = open_discussion(client, world)
    app = create_app(settings.model_copy(update={"sqlite_busy_timeout_ms": 300}))
    holder = sqlite3.connect(
        make_url(settings.database_url).database, isolation_level=None, check_same_thread=False
    )
    held: list[bool] = []

    def take_the_lock(_session: object) -> None:
        # Another writer (a classmate's post) gets the lock the moment ours commits.
        if not held:
            holder.execute("BEGIN IMMEDIATE")
            held.append(True)

    event.listen(Session, "after_commit", take_the_lock)
    try:
        with TestClient(app) as other:
            response = other.post(
                f"/api/v1/discussions/{discussion['id']}/positions",
                json=position_body(),
                headers=world["h"]["ann"],
            )
    finally:
        event.remove(Session, "after_commit", take_the_lock)
        if held:
            holder.execute("ROLLBACK")
        holder.close()
    assert response.status_code == 201, response.text
    assert held
    assert response.json()["summary"] == "We should act now."
