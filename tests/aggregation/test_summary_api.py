"""The summary API: who may read it, what it counts, and that it follows every change."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlmodel import select

from ethicsforum.accounts.models import Account
from ethicsforum.discussions.models import Claim, Position, Rebuttal
from ethicsforum.moderation.models import ExemplaryMark
from tests.discussions.conftest import open_discussion, post_position
from tests.discussions.leaks import ACCOUNT_ID_KEYS, assert_no_leak
from tests.factories import make_account

STUDENT_NAMES = ["Ann Real", "Bob Real", "Cat Real", "ann", "bob", "cat"]


def summary_path(discussion):
    return f"/api/v1/discussions/{discussion['id']}/summary"


def summary(client, world, discussion, who="prof", **params):
    response = client.get(summary_path(discussion), params=params, headers=world["h"][who])
    assert response.status_code == 200, response.text
    return response.json()


def rebut(client, world, position, who, **body):
    response = client.post(
        f"/api/v1/positions/{position['id']}/rebuttals",
        json={"kind": "counter", "body": "I disagree.", **body},
        headers=world["h"][who],
    )
    assert response.status_code == 201, response.text
    return response.json()


def moderate(client, world, kind, post, action, **body):
    """Hide, restore, mark or unmark a post as faculty."""
    path = f"/api/v1/{kind}s/{post['id']}"
    h = world["h"]["prof"]
    if action in {"hide", "restore"}:
        response = client.post(f"{path}/{action}", json=body or None, headers=h)
    elif action == "mark":
        response = client.put(f"{path}/exemplary", json=body, headers=h)
    else:
        response = client.delete(f"{path}/exemplary", headers=h)
    assert response.status_code in (200, 204), response.text


def claim(framework, direction, text, **extra):
    return {"framework": framework, "direction": direction, "text": text, **extra}


# ---- permissions -----------------------------------------------------------------------


def test_members_read_the_summary_and_only_faculty_count_hidden_posts(client, world):
    discussion = open_discussion(client, world)
    post_position(client, world, discussion, "ann")
    path = summary_path(discussion)
    h = world["h"]
    assert client.get(path).status_code == 401
    assert client.get(path, headers=h["zed"]).status_code == 404
    assert client.get("/api/v1/discussions/999999/summary", headers=h["ann"]).status_code == 404
    for who in ("ann", "prof", "root"):
        response = client.get(path, headers=h[who])
        assert response.status_code == 200, (who, response.text)
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["positions"] == 1
        assert response.json()["include_hidden"] is False
    refused = client.get(path, params={"include_hidden": "true"}, headers=h["ann"])
    assert refused.status_code == 403
    for who in ("prof", "root"):
        assert summary(client, world, discussion, who, include_hidden="true")["include_hidden"]


def test_post_first_shows_a_student_the_summary_only_after_posting(client, world):
    discussion = open_discussion(client, world, post_first=True)
    post_position(client, world, discussion, "ann")
    # Faculty read first, so a cached summary exists: it must not reach bob either.
    assert summary(client, world, discussion, "prof")["positions"] == 1
    refused = client.get(summary_path(discussion), headers=world["h"]["bob"])
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert isinstance(detail, str) and "post" in detail.lower()
    assert summary(client, world, discussion, "ann")["positions"] == 1
    post_position(client, world, discussion, "bob", option="wait")
    seen = summary(client, world, discussion, "bob")
    assert seen["positions"] == 2 and seen["options"] == {"act": 1, "wait": 1}


# ---- hidden posts ----------------------------------------------------------------------


def test_hidden_posts_count_nowhere_unless_faculty_ask(client, world):
    discussion = open_discussion(client, world, early_rebuttals=True)
    ann = post_position(client, world, discussion, "ann")
    bob = post_position(client, world, discussion, "bob", option="wait")
    answer = rebut(
        client, world, ann, "cat", claims=[claim("autonomy", "challenges", "She wavered.")]
    )
    moderate(client, world, "position", bob, "mark", note="Well argued.")
    before = summary(client, world, discussion, "ann")
    assert before["participants"] == 3 and before["rebuttals"] == 1
    assert before["unanswered"] == [bob["id"]] and before["most_contested"] == [ann["id"]]
    assert before["frameworks"]["autonomy"]["act"]["challenges"] == 1

    # cat's only post is the rebuttal; bob's position is exemplary.
    moderate(client, world, "rebuttal", answer, "hide", reason="Off topic.")
    moderate(client, world, "position", bob, "hide", reason="Names a patient.")
    for who in ("prof", "ann"):
        s = summary(client, world, discussion, who)
        assert s["participants"] == 1, who
        assert (s["positions"], s["rebuttals"]) == (1, 0), who
        assert s["options"] == {"act": 1, "wait": 0}, who
        assert s["unanswered"] == [ann["id"]] and s["most_contested"] == [], who
        assert s["exemplary"] == [], who
        assert s["frameworks"]["autonomy"] == {
            "act": {"supports": 2, "challenges": 0},
            "wait": {"supports": 0, "challenges": 0},
        }, who
        assert s["frameworks"]["justice"]["wait"] == {"supports": 0, "challenges": 0}, who

    everything = summary(client, world, discussion, "prof", include_hidden="true")
    assert everything["include_hidden"] is True
    assert everything["participants"] == 3
    assert (everything["positions"], everything["rebuttals"]) == (2, 1)
    assert everything["options"] == {"act": 1, "wait": 1}
    assert everything["unanswered"] == [bob["id"]]
    assert everything["most_contested"] == [ann["id"]]
    assert [e["id"] for e in everything["exemplary"]] == [bob["id"]]
    assert everything["frameworks"]["autonomy"]["act"]["challenges"] == 1
    assert everything["frameworks"]["autonomy"]["wait"]["supports"] == 2
    # ...and the default summary, cached separately, is still the counted one.
    assert summary(client, world, discussion, "prof")["positions"] == 1


def test_a_position_whose_only_rebuttal_is_hidden_is_unanswered(client, world):
    discussion = open_discussion(client, world, early_rebuttals=True)
    ann = post_position(client, world, discussion, "ann")
    bob = post_position(client, world, discussion, "bob", option="wait")
    rebut(client, world, bob, "cat")
    only = rebut(client, world, ann, "bob")
    assert summary(client, world, discussion)["unanswered"] == []
    moderate(client, world, "rebuttal", only, "hide", reason="Rude.")
    s = summary(client, world, discussion)
    assert s["unanswered"] == [ann["id"]]
    assert s["most_contested"] == [bob["id"]]
    # bob still took part through his position.
    assert s["participants"] == 3


# ---- freshness -------------------------------------------------------------------------


def test_the_summary_follows_every_change_at_once(client, world):
    discussion = open_discussion(client, world, early_rebuttals=True)
    ann = post_position(client, world, discussion, "ann")
    bob = post_position(client, world, discussion, "bob", option="wait")

    def read(who="prof"):
        return summary(client, world, discussion, who)

    first = read()
    assert first["positions"] == 2 and read("cat")["positions"] == 2  # both now cached

    moderate(client, world, "position", ann, "hide", reason="Check.")
    assert read()["positions"] == 1 and read("cat")["options"] == {"act": 0, "wait": 1}

    moderate(client, world, "position", ann, "restore")
    assert read()["positions"] == 2 and read("cat")["options"] == {"act": 1, "wait": 1}

    moderate(client, world, "position", ann, "mark", note="Clear.")
    marked = read("cat")["exemplary"]
    assert [(e["type"], e["id"], e["note"]) for e in marked] == [("position", ann["id"], "Clear.")]
    assert marked[0]["frameworks"] == ["autonomy", "justice"]

    moderate(client, world, "position", ann, "mark", note="Clearer.")
    assert [e["note"] for e in read()["exemplary"]] == ["Clearer."]

    moderate(client, world, "position", ann, "unmark")
    assert read()["exemplary"] == [] and read("cat")["exemplary"] == []

    kept = ann["claims"][0]
    edited = client.patch(
        f"/api/v1/positions/{ann['id']}",
        json={
            "option": "wait",
            "claims": [
                claim("autonomy", "supports", "She asked, twice.", id=kept["id"]),
                claim("justice", "supports", "Fair to all."),
            ],
        },
        headers=world["h"]["ann"],
    )
    assert edited.status_code == 200, edited.text
    after = read()
    assert after["options"] == {"act": 0, "wait": 2}
    assert after["frameworks"]["autonomy"]["act"] == {"supports": 0, "challenges": 0}
    assert after["frameworks"]["autonomy"]["wait"]["supports"] == 3  # 2 of bob's + 1 kept
    assert after["frameworks"]["justice"]["wait"] == {"supports": 1, "challenges": 1}

    stance = client.post(
        f"/api/v1/discussions/{discussion['id']}/stance",
        json={"moment": "final", "option": "act"},
        headers=world["h"]["bob"],
    )
    assert stance.status_code == 200, stance.text
    assert read("cat")["stance_shift"] == {"wait": {"wait": 1, "act": 1}}

    answer = rebut(
        client, world, ann, "cat", claims=[claim("justice", "challenges", "Queue jumping.")]
    )
    after = read()
    assert after["rebuttals"] == 1 and after["participants"] == 3
    assert after["unanswered"] == [bob["id"]] and after["most_contested"] == [ann["id"]]
    assert after["frameworks"]["justice"]["wait"] == {"supports": 1, "challenges": 2}

    changed = client.patch(
        f"/api/v1/rebuttals/{answer['id']}",
        json={"claims": [claim("autonomy", "challenges", "She wavered.")]},
        headers=world["h"]["cat"],
    )
    assert changed.status_code == 200, changed.text
    after = read("ann")
    assert after["frameworks"]["justice"]["wait"] == {"supports": 1, "challenges": 1}
    assert after["frameworks"]["autonomy"]["wait"] == {"supports": 3, "challenges": 1}


# ---- tensions --------------------------------------------------------------------------


def test_a_framework_cited_for_both_options_is_a_tension(client, world):
    discussion = open_discussion(client, world, early_rebuttals=True)
    ann = post_position(
        client,
        world,
        discussion,
        "ann",
        claims=[
            claim("autonomy", "supports", "Her wish is clear."),
            claim("justice", "supports", "Acting is fair."),
        ],
    )
    bob = post_position(
        client,
        world,
        discussion,
        "bob",
        option="wait",
        claims=[
            claim("autonomy", "supports", "She refused before."),
            # Challenging "wait" argues for "act", the same way as ann's justice claim.
            claim("justice", "challenges", "Waiting is unfair."),
        ],
    )
    cat = post_position(
        client, world, discussion, "cat", claims=[claim("autonomy", "supports", "She can decide.")]
    )
    contested = cat["claims"][0]
    rebut(client, world, cat, "ann", claim_id=contested["id"])
    rebut(client, world, cat, "bob", claim_id=contested["id"])

    [tension] = summary(client, world, discussion, "ann")["tensions"]  # none for justice
    assert tension["framework"] == "autonomy"
    sides = {(s["option"], s["direction"]): s for s in tension["sides"]}
    assert set(sides) == {("act", "supports"), ("wait", "supports")}
    act, wait = sides["act", "supports"], sides["wait", "supports"]
    assert (act["claims"], wait["claims"]) == (2, 1)
    # By rebuttals drawn first, although ann's claim is older.
    assert [c["text"] for c in act["strongest"]] == ["She can decide.", "Her wish is clear."]
    assert [c["rebuttals"] for c in act["strongest"]] == [2, 0]
    assert act["strongest"][0]["post"] == {"type": "position", "id": cat["id"]}
    assert [c["text"] for c in wait["strongest"]] == ["She refused before."]
    assert wait["strongest"][0]["position_id"] == bob["id"]

    # An exemplary post's claims come first, whatever they drew.
    moderate(client, world, "position", ann, "mark", note="Careful.")
    [tension] = summary(client, world, discussion, "prof")["tensions"]
    act = next(s for s in tension["sides"] if s["option"] == "act")
    assert [c["text"] for c in act["strongest"]] == ["Her wish is clear.", "She can decide."]
    assert [c["exemplary"] for c in act["strongest"]] == [True, False]


def test_no_tension_when_a_framework_argues_one_way(client, world):
    discussion = open_discussion(client, world)
    post_position(
        client,
        world,
        discussion,
        "ann",
        claims=[claim("autonomy", "supports", "Her wish."), claim("justice", "supports", "Fair.")],
    )
    post_position(
        client,
        world,
        discussion,
        "bob",
        option="wait",
        claims=[
            claim("autonomy", "challenges", "Waiting overrides her."),
            claim("justice", "supports", "Fair to wait."),
        ],
    )
    s = summary(client, world, discussion)
    # autonomy: for act, and against wait (= for act): one way. justice: for both: a tension.
    assert [t["framework"] for t in s["tensions"]] == ["justice"]


# ---- statements ------------------------------------------------------------------------


@contextmanager
def statements(engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _populate(session, world, discussion, authors):
    """Rows written directly, to keep the test quick: per author a position with three
    claims, a rebuttal of its first claim (with a claim of its own) by the next author, and
    an exemplary mark."""
    did = discussion["id"]
    marker = session.exec(select(Account).where(Account.username == "prof")).one()
    positions = []
    for i, author in enumerate(authors):
        position = Position(
            discussion_id=did,
            author_id=author.id,
            option_key="act" if i % 2 else "wait",
            summary=f"Position {i}.",
            body="",
            body_html="",
        )
        session.add(position)
        session.flush()
        for n, (framework, direction) in enumerate(
            [("autonomy", "supports"), ("justice", "challenges"), ("autonomy", "challenges")]
        ):
            session.add(
                Claim(
                    position_id=position.id,
                    framework=framework,
                    direction=direction,
                    text=f"Claim {i}.{n}",
                    ordinal=n,
                )
            )
        positions.append(position)
    session.flush()
    for i, position in enumerate(positions):
        first = session.exec(
            select(Claim).where(Claim.position_id == position.id, Claim.ordinal == 0)
        ).one()
        answer = Rebuttal(
            discussion_id=did,
            position_id=position.id,
            claim_id=first.id,
            author_id=authors[(i + 1) % len(authors)].id,
            kind="counter",
            body=f"Reply {i}.",
            body_html="",
        )
        session.add(answer)
        session.flush()
        session.add(
            Claim(rebuttal_id=answer.id, framework="justice", direction="supports", text="R")
        )
        session.add(
            ExemplaryMark(
                discussion_id=did, position_id=position.id, marked_by_id=marker.id, note="Good."
            )
        )
    session.commit()


def test_the_summary_costs_the_same_few_statements_whatever_the_size(client, world, session, app):
    students = list(world["students"].values())
    many = [make_account(session, username=f"s{i:02d}") for i in range(27)]
    small = open_discussion(client, world)
    large = open_discussion(client, world)
    _populate(session, world, small, students)
    _populate(session, world, large, students + many)

    counts = {}
    for name, discussion, size in (("small", small, 3), ("large", large, 30)):
        assert summary(client, world, discussion)["positions"] == size
        # A change through the API, so the next summary is computed afresh.
        stance = client.post(
            f"/api/v1/discussions/{discussion['id']}/stance",
            json={"moment": "final", "option": "act"},
            headers=world["h"]["ann"],
        )
        assert stance.status_code == 200, stance.text
        with statements(app.state.engine) as cold:
            s = summary(client, world, discussion)
        with statements(app.state.engine) as warm:
            again = summary(client, world, discussion)
        assert s == again
        assert (s["positions"], s["rebuttals"], len(s["exemplary"])) == (size, size, size)
        assert s["stance_shift"]["wait"]["act"] == 1  # ann's change is in the cold one
        assert s["participants"] == size and len(s["tensions"]) == 2
        assert len(warm) < len(cold), (warm, cold)
        counts[name] = len(cold)
    assert counts["small"] == counts["large"], counts
    assert counts["large"] <= 10, counts


# ---- anonymity -------------------------------------------------------------------------


def _lively(client, world, discussion):
    ann = post_position(client, world, discussion, "ann")
    bob = post_position(client, world, discussion, "bob", option="wait")
    answer = rebut(
        client, world, ann, "cat", claims=[claim("autonomy", "challenges", "She wavered.")]
    )
    rebut(client, world, bob, "ann")
    moderate(client, world, "position", ann, "mark", note="Clear and kind.")
    moderate(client, world, "rebuttal", answer, "mark", note="Sharp.")
    for who, option in (("ann", "wait"), ("cat", "act")):
        client.post(
            f"/api/v1/discussions/{discussion['id']}/stance",
            json={"moment": "final", "option": option},
            headers=world["h"][who],
        )


def test_the_summary_and_the_brief_name_no_student(client, world):
    for anonymity in ("anonymous_to_peers", "named"):
        discussion = open_discussion(client, world, anonymity=anonymity, early_rebuttals=True)
        _lively(client, world, discussion)
        brief = client.get(
            f"/api/v1/discussions/{discussion['id']}/export",
            params={"format": "markdown"},
            headers=world["h"]["prof"],
        )
        assert brief.status_code == 200 and "Clear and kind." in brief.text
        assert_no_leak(f"the {anonymity} brief", brief.text, STUDENT_NAMES)
        if anonymity == "named":
            continue
        for who in ("bob", "ann", "prof"):
            response = client.get(summary_path(discussion), headers=world["h"][who])
            assert response.status_code == 200
            s = response.json()
            assert len(s["exemplary"]) == 2 and s["participants"] == 3
            assert_no_leak(f"the summary {who} received", response.text, STUDENT_NAMES)
            assert not any(key in response.text for key in ACCOUNT_ID_KEYS)
