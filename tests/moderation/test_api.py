"""Flags, hiding, exemplary marks, the moderation queue and the audit log, through the API."""

from __future__ import annotations

import pytest
from sqlmodel import select

from ethicsforum.moderation.models import AuditEntry
from tests.conftest import fresh
from tests.discussions.conftest import open_discussion, post_position, set_phase
from tests.discussions.leaks import Received

SECRET_TEXT = "Confidential rant that must vanish"


@pytest.fixture
def posts(client, world):
    discussion = open_discussion(client, world, early_rebuttals=True)
    ann = post_position(
        client, world, discussion, "ann", summary=SECRET_TEXT, body=f"{SECRET_TEXT} in the body"
    )
    rebuttal = client.post(
        f"/api/v1/positions/{ann['id']}/rebuttals",
        json={"kind": "counter", "body": "A reply that stays"},
        headers=world["h"]["bob"],
    ).json()
    return {"discussion": discussion, "position": ann, "rebuttal": rebuttal}


def audit_actions(session) -> list[str]:
    return [e.action for e in fresh(session).exec(select(AuditEntry).order_by(AuditEntry.id))]


def test_members_flag_once_and_faculty_see_the_queue_oldest_first(client, world, posts):
    pid, rid = posts["position"]["id"], posts["rebuttal"]["id"]
    first = client.post(
        f"/api/v1/positions/{pid}/flag", json={"reason": "Abusive"}, headers=world["h"]["bob"]
    )
    assert first.status_code == 201
    assert first.json()["target_type"] == "position"
    again = client.post(
        f"/api/v1/positions/{pid}/flag", json={"reason": "Again"}, headers=world["h"]["bob"]
    )
    assert again.status_code == 409
    client.post(
        f"/api/v1/rebuttals/{rid}/flag", json={"reason": "Off topic"}, headers=world["h"]["cat"]
    )
    assert (
        client.post(
            f"/api/v1/positions/{pid}/flag", json={"reason": " "}, headers=world["h"]["cat"]
        ).status_code
        == 422
    )
    queue = client.get("/api/v1/moderation/queue", headers=world["h"]["prof"])
    assert queue.status_code == 200
    items = queue.json()
    assert [i["reason"] for i in items] == ["Abusive", "Off topic"]
    assert items[0]["post"]["summary"] == SECRET_TEXT
    assert items[0]["flagged_by"] == "Bob Real"
    assert client.get("/api/v1/moderation/queue", headers=world["h"]["ann"]).status_code == 403
    assert (
        client.post(
            f"/api/v1/positions/{pid}/flag", json={"reason": "x"}, headers=world["h"]["zed"]
        ).status_code
        == 404
    )


def test_hiding_conceals_a_post_from_students_everywhere_but_keeps_it(
    client, world, posts, session
):
    pid = posts["position"]["id"]
    client.post(
        f"/api/v1/positions/{pid}/flag", json={"reason": "Abusive"}, headers=world["h"]["bob"]
    )
    hidden = client.post(
        f"/api/v1/positions/{pid}/hide",
        json={"reason": "Personal attack"},
        headers=world["h"]["prof"],
    )
    assert hidden.status_code == 200
    assert hidden.json()["hidden"] is True and hidden.json()["summary"] == SECRET_TEXT
    assert client.get("/api/v1/moderation/queue", headers=world["h"]["prof"]).json() == []
    for student in ("ann", "bob", "cat"):
        seen = Received(student)
        h = world["h"][student]
        listed = seen.add(
            "list",
            client.get(f"/api/v1/discussions/{posts['discussion']['id']}/positions", headers=h),
        )
        tree = seen.add("tree", client.get(f"/api/v1/positions/{pid}", headers=h))
        assert listed.json()[0]["hidden"] is True
        assert listed.json()[0]["hidden_reason"] == "Personal attack"
        assert listed.json()[0]["summary"] is None and listed.json()[0]["body_html"] is None
        assert all(c["text"] is None for c in listed.json()[0]["claims"])
        assert tree.json()["rebuttals"][0]["body"] == "A reply that stays"
        seen.add("page", client.get(f"/api/v1/positions/{pid}", headers=h))
        seen.assert_no_leak([SECRET_TEXT, "She asked.", "Others wait."], ignore_case=False)
    faculty_view = client.get(f"/api/v1/positions/{pid}", headers=world["h"]["prof"]).json()
    assert faculty_view["summary"] == SECRET_TEXT and faculty_view["hidden"] is True
    again = client.post(
        f"/api/v1/positions/{pid}/hide", json={"reason": "x"}, headers=world["h"]["prof"]
    )
    assert again.status_code == 409
    restored = client.post(f"/api/v1/positions/{pid}/restore", headers=world["h"]["prof"])
    assert restored.status_code == 200 and restored.json()["hidden"] is False
    back = client.get(f"/api/v1/positions/{pid}", headers=world["h"]["bob"]).json()
    assert back["summary"] == SECRET_TEXT
    assert audit_actions(session)[-3:] == ["flagged", "hidden", "restored"]


def test_only_the_cohorts_faculty_moderate_whatever_is_sent(client, world, posts):
    pid = posts["position"]["id"]
    for path, method in (
        (f"/api/v1/positions/{pid}/hide", "post"),
        (f"/api/v1/positions/{pid}/restore", "post"),
        (f"/api/v1/positions/{pid}/exemplary", "put"),
        (f"/api/v1/positions/{pid}/exemplary", "delete"),
    ):
        assert getattr(client, method)(path, headers=world["h"]["bob"]).status_code == 403
        assert getattr(client, method)(path, headers=world["h"]["zed"]).status_code == 404


def test_exemplary_marks_carry_a_note_and_criteria_and_can_be_removed(
    client, world, posts, session
):
    pid, rid = posts["position"]["id"], posts["rebuttal"]["id"]
    marked = client.put(
        f"/api/v1/positions/{pid}/exemplary",
        json={
            "note": "Weighs autonomy against harm with care.",
            "criteria": ["weighs competing principles", "uses the facts of the case"],
        },
        headers=world["h"]["prof"],
    )
    assert marked.status_code == 200
    assert marked.json()["by"] == "Dr Prof"
    seen = client.get(f"/api/v1/positions/{pid}", headers=world["h"]["cat"]).json()
    assert seen["exemplary"] == {
        "note": "Weighs autonomy against harm with care.",
        "by": "Dr Prof",
        "criteria": ["weighs competing principles", "uses the facts of the case"],
    }
    renote = client.put(
        f"/api/v1/positions/{pid}/exemplary",
        json={"note": "Better note."},
        headers=world["h"]["prof"],
    )
    assert renote.status_code == 200
    assert (
        client.get(f"/api/v1/positions/{pid}", headers=world["h"]["cat"]).json()["exemplary"][
            "note"
        ]
        == "Better note."
    )
    assert (
        client.put(
            f"/api/v1/rebuttals/{rid}/exemplary",
            json={"note": "Sharp."},
            headers=world["h"]["prof"],
        ).status_code
        == 200
    )
    bad = client.put(
        f"/api/v1/positions/{pid}/exemplary",
        json={"note": "x", "criteria": ["is nice"]},
        headers=world["h"]["prof"],
    )
    assert bad.status_code == 422
    assert (
        client.delete(f"/api/v1/positions/{pid}/exemplary", headers=world["h"]["prof"]).status_code
        == 204
    )
    assert (
        client.get(f"/api/v1/positions/{pid}", headers=world["h"]["cat"]).json()["exemplary"]
        is None
    )
    assert (
        client.delete(f"/api/v1/positions/{pid}/exemplary", headers=world["h"]["prof"]).status_code
        == 404
    )
    assert audit_actions(session)[-4:] == [
        "marked_exemplary",
        "marked_exemplary",
        "marked_exemplary",
        "unmarked_exemplary",
    ]


def test_a_flag_is_dismissed_with_a_reason(client, world, posts, session):
    flag = client.post(
        f"/api/v1/rebuttals/{posts['rebuttal']['id']}/flag",
        json={"reason": "Rude"},
        headers=world["h"]["ann"],
    ).json()
    assert (
        client.post(
            f"/api/v1/flags/{flag['id']}/dismiss",
            json={"reason": "Fair point"},
            headers=world["h"]["bob"],
        ).status_code
        == 403
    )
    dismissed = client.post(
        f"/api/v1/flags/{flag['id']}/dismiss",
        json={"reason": "Fair point"},
        headers=world["h"]["prof"],
    )
    assert dismissed.status_code == 200 and dismissed.json()["resolution"] == "dismissed"
    assert (
        client.post(
            f"/api/v1/flags/{flag['id']}/dismiss", json={"reason": "x"}, headers=world["h"]["prof"]
        ).status_code
        == 409
    )
    assert client.get("/api/v1/moderation/queue", headers=world["h"]["prof"]).json() == []
    assert audit_actions(session)[-1] == "flag_dismissed"


def test_each_action_leaves_exactly_one_audit_entry_readable_by_faculty(
    client, world, posts, session
):
    did = posts["discussion"]["id"]
    pid = posts["position"]["id"]
    before = len(audit_actions(session))
    set_phase(client, world, posts["discussion"], "rebuttals")
    client.post(f"/api/v1/positions/{pid}/hide", json={"reason": "r1"}, headers=world["h"]["prof"])
    client.post(f"/api/v1/positions/{pid}/restore", headers=world["h"]["prof"])
    assert len(audit_actions(session)) == before + 3
    log = client.get("/api/v1/audit", params={"discussion_id": did}, headers=world["h"]["prof"])
    assert log.status_code == 200
    entries = log.json()
    assert [e["action"] for e in entries[:3]] == ["restored", "hidden", "phase_changed"]
    assert entries[1]["reason"] == "r1" and entries[1]["actor"] == "Dr Prof"
    assert entries[2]["detail"] == {"from": "positions", "to": "rebuttals"}
    assert client.get("/api/v1/audit", headers=world["h"]["ann"]).status_code == 403
    assert client.get("/api/v1/audit", headers=world["h"]["root"]).status_code == 200


def test_audit_entries_cannot_be_changed_through_any_route(app):
    from tests.test_route_matrix import app_routes

    for method, path in app_routes(app):
        if "audit" in path:
            assert method == "GET", (method, path)


def test_the_longest_reason_and_note_allowed_are_stored_and_notified(client, world, posts, session):
    # A 500-character reason after "A moderator hid your position: ", and a 2000-character
    # note, overflowed PostgreSQL's 500-character notification and audit columns (a 500).
    from ethicsforum.notifications.models import Notification

    pid, rid = posts["position"]["id"], posts["rebuttal"]["id"]
    hidden = client.post(
        f"/api/v1/positions/{pid}/hide", json={"reason": "r" * 500}, headers=world["h"]["prof"]
    )
    assert hidden.status_code == 200, hidden.text
    marked = client.put(
        f"/api/v1/rebuttals/{rid}/exemplary", json={"note": "n" * 2000}, headers=world["h"]["prof"]
    )
    assert marked.status_code == 200, marked.text
    assert marked.json()["note"] == "n" * 2000
    texts = [n.text for n in fresh(session).exec(select(Notification))]
    assert texts and all(len(t) <= 500 for t in texts)
    assert any(t.startswith("A moderator hid your position: rrr") for t in texts)
    reasons = [e.reason or "" for e in fresh(session).exec(select(AuditEntry))]
    assert all(len(r) <= 500 for r in reasons) and any(r.endswith("…") for r in reasons)
