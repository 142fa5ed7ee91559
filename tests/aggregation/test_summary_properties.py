"""The summary against a direct count of the stored rows, on random discussions.

Hypothesis builds discussions one API call at a time (positions, edits that retire claims,
threaded rebuttals anchored to claims, stances, hiding, restoring and exemplary marks,
phase changes) and, at random points and at the end, asks for the summary as faculty
(with and without hidden posts) and as a student. Every number must equal what
`expected_summary` counts in Python from the rows a fresh session reads, following the rules
of ethicsforum.aggregation.service's docstring. Checking between writes catches a summary
served from a cache that a write should have made stale.

A fixed scenario with numbers worked out by hand guards the oracle itself.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import or_
from sqlmodel import Session, col, select

from ethicsforum.accounts import cohorts
from ethicsforum.accounts.models import Account
from ethicsforum.discussions.models import Claim, Position, Rebuttal, Stance
from ethicsforum.moderation.models import ExemplaryMark
from ethicsforum.moderation.service import Criterion
from tests.conftest import fresh
from tests.factories import make_account, make_case, token_for

OPTION_KEYS = ("treat", "wait", "refer")
# Not in alphabetical order, so the case's own framework order is what is checked.
FRAMEWORKS = ("justice", "autonomy", "beneficence", "confidentiality")
DIRECTIONS = ("supports", "challenges")
CRITERIA = tuple(c.value for c in Criterion)
STUDENTS = 6
MAX_STEPS = 24
MAX_REBUTTALS = 10
STRONGEST = 3
MOST_CONTESTED = 5

_serial = itertools.count(1)


# ---- the rows and the count from them ----------------------------------------------------


@dataclass(frozen=True)
class Rows:
    """Everything stored about one discussion, as plain values read in one snapshot."""

    positions: tuple[Any, ...]
    rebuttals: tuple[Any, ...]
    claims: tuple[Any, ...]
    stances: tuple[Any, ...]
    marks: tuple[Any, ...]


def load(session: Session, discussion_id: int) -> Rows:
    fresh(session)

    def rows(model: Any, *where: Any) -> tuple[Any, ...]:
        found = session.exec(select(model).where(*where).order_by(col(model.id))).all()
        return tuple(SimpleNamespace(**row.model_dump()) for row in found)

    positions = rows(Position, col(Position.discussion_id) == discussion_id)
    rebuttals = rows(Rebuttal, col(Rebuttal.discussion_id) == discussion_id)
    claims = rows(
        Claim,
        or_(
            col(Claim.position_id).in_([p.id for p in positions]),
            col(Claim.rebuttal_id).in_([r.id for r in rebuttals]),
        ),
    )
    stances = rows(Stance, col(Stance.discussion_id) == discussion_id)
    marks = rows(ExemplaryMark, col(ExemplaryMark.discussion_id) == discussion_id)
    session.rollback()  # end the snapshot: the next request writes
    return Rows(positions, rebuttals, claims, stances, marks)


def expected_summary(
    rows: Rows,
    *,
    discussion_id: int,
    options: list[str],
    frameworks: list[str],
    names: dict[int, str],
    include_hidden: bool,
) -> dict[str, Any]:
    """The summary, counted in Python from the rows by the rules the service documents."""

    def counted(post: Any) -> bool:
        return include_hidden or post.hidden_at is None

    positions = {p.id: p for p in rows.positions}
    rebuttals = {r.id: r for r in rows.rebuttals}
    counted_positions = [p for p in rows.positions if counted(p)]
    counted_rebuttals = [r for r in rows.rebuttals if counted(r)]

    standing = [m for m in rows.marks if m.removed_at is None]
    marked = {("position", m.position_id) for m in standing if m.position_id is not None}
    marked |= {("rebuttal", m.rebuttal_id) for m in standing if m.rebuttal_id is not None}
    answers = Counter(r.claim_id for r in counted_rebuttals if r.claim_id is not None)

    # Current claims of counted posts, each about an option: a position's own, a rebuttal's
    # that of the position it belongs to (hidden or not).
    claims: list[dict[str, Any]] = []
    for c in rows.claims:
        if c.retired_at is not None:
            continue
        if c.position_id is not None:
            post, kind = positions[c.position_id], "position"
            position_id = post.id
        else:
            post, kind = rebuttals[c.rebuttal_id], "rebuttal"
            position_id = post.position_id
        if not counted(post):
            continue
        claims.append(
            {
                "id": c.id,
                "framework": c.framework,
                "direction": c.direction,
                "option": positions[position_id].option_key,
                "text": c.text,
                "post": {"type": kind, "id": post.id},
                "position_id": position_id,
                "exemplary": (kind, post.id) in marked,
                "rebuttals": answers[c.id],
            }
        )

    matrix = {f: {o: dict.fromkeys(DIRECTIONS, 0) for o in options} for f in frameworks}
    for c in claims:
        matrix[c["framework"]][c["option"]][c["direction"]] += 1

    per_position = Counter(r.position_id for r in counted_rebuttals)
    unanswered = sorted(p.id for p in counted_positions if per_position[p.id] == 0)
    contested = sorted(
        (p.id for p in counted_positions if per_position[p.id] > 0),
        key=lambda pid: (-per_position[pid], pid),
    )[:MOST_CONTESTED]

    exemplary = []
    for m in standing:  # in mark order
        kind = "position" if m.position_id is not None else "rebuttal"
        post_id = m.position_id if kind == "position" else m.rebuttal_id
        post = positions[post_id] if kind == "position" else rebuttals[post_id]
        if not counted(post):
            continue
        used = {
            c.framework
            for c in rows.claims
            if c.retired_at is None
            and (c.position_id if kind == "position" else c.rebuttal_id) == post_id
        }
        exemplary.append(
            {
                "type": kind,
                "id": post_id,
                "frameworks": [f for f in frameworks if f in used],
                "note": m.note,
                "by": names[m.marked_by_id],
                "criteria": list(m.criteria),
            }
        )

    latest: dict[tuple[int, str], str] = {}
    for s in sorted(rows.stances, key=lambda s: s.id):
        latest[(s.account_id, s.moment)] = s.option_key
    own = {p.author_id: p.option_key for p in rows.positions}  # hidden or not
    shift: dict[str, dict[str, int]] = {}
    for person in {s.account_id for s in rows.stances} | set(own):
        first = latest.get((person, "initial"), own.get(person))
        last = latest.get((person, "final"), own.get(person))
        if first is not None and last is not None:
            shift.setdefault(first, {}).setdefault(last, 0)
            shift[first][last] += 1

    def argues_for(option: str, direction: str) -> frozenset[str]:
        if direction == "supports":
            return frozenset({option})
        return frozenset(o for o in options if o != option)

    tensions = []
    for framework in frameworks:
        sides = []
        for option in options:
            for direction in DIRECTIONS:
                side = [
                    c
                    for c in claims
                    if (c["framework"], c["option"], c["direction"])
                    == (framework, option, direction)
                ]
                if side:
                    side.sort(key=lambda c: (not c["exemplary"], -c["rebuttals"], c["id"]))
                    sides.append(
                        {
                            "option": option,
                            "direction": direction,
                            "claims": len(side),
                            "strongest": side[:STRONGEST],
                        }
                    )
        if any(
            not (argues_for(a["option"], a["direction"]) & argues_for(b["option"], b["direction"]))
            for a, b in itertools.combinations(sides, 2)
        ):
            tensions.append({"framework": framework, "sides": sides})
    tensions.sort(key=lambda t: -sum(s["claims"] for s in t["sides"]))  # stable: case order

    return {
        "discussion_id": discussion_id,
        "include_hidden": include_hidden,
        "participants": len(
            {p.author_id for p in counted_positions} | {r.author_id for r in counted_rebuttals}
        ),
        "positions": len(counted_positions),
        "rebuttals": len(counted_rebuttals),
        "options": {o: sum(p.option_key == o for p in counted_positions) for o in options},
        "frameworks": matrix,
        "unanswered": unanswered,
        "most_contested": contested,
        "exemplary": exemplary,
        "stance_shift": shift,
        "tensions": tensions,
    }


def assert_same(got: dict[str, Any], want: dict[str, Any], context: str) -> None:
    """Key by key, so a failure names the number that is wrong."""
    assert set(got) == set(want), context
    for key in want:
        assert got[key] == want[key], f"{context}: {key!r}\n got {got[key]!r}\nwant {want[key]!r}"


# ---- the people: made once per test function ---------------------------------------------


@dataclass
class Pool:
    """Accounts and their bearer headers, plain values: reading them never touches the session
    (a lazy refresh would open a read transaction that outlives the app's next write)."""

    prof_id: int
    student_ids: list[int]
    headers: dict[int, dict[str, str]]  # account id -> bearer headers
    names: dict[int, str]  # account id -> display name


@pytest.fixture
def pool(client: TestClient, session: Session) -> Pool:
    prof = make_account(session, role="faculty", display_name="Dr Property")
    students = [make_account(session, display_name=f"Student {i}") for i in range(STUDENTS)]
    people = [prof, *students]
    return Pool(
        prof_id=prof.id or 0,
        student_ids=[a.id or 0 for a in students],
        headers={a.id or 0: token_for(client, a.username) for a in people},
        names={a.id or 0: a.display_name for a in people},
    )


# ---- one random discussion ---------------------------------------------------------------


@dataclass
class Scenario:
    client: TestClient
    session: Session
    pool: Pool
    discussion_id: int
    options: list[str]
    frameworks: list[str]
    students: list[int]  # account ids of the cohort's students
    post_first: bool
    early_rebuttals: bool
    phase: str = "positions"

    @property
    def faculty(self) -> dict[str, str]:
        return self.pool.headers[self.pool.prof_id]

    def call(self, method: str, path: str, who: int | None, expect: int, **kw: Any) -> Any:
        headers = self.faculty if who is None else self.pool.headers[who]
        response = self.client.request(method, path, headers=headers, **kw)
        assert response.status_code == expect, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    def claims(self, data: st.DataObject, low: int, high: int) -> list[dict[str, str]]:
        drawn = data.draw(
            st.lists(
                st.tuples(st.sampled_from(self.frameworks), st.sampled_from(DIRECTIONS)),
                min_size=low,
                max_size=high,
            )
        )
        return [
            {"framework": f, "direction": d, "text": f"{d} under {f}, #{next(_serial)}"}
            for f, d in drawn
        ]

    def revised_claims(
        self, data: st.DataObject, current: list[Any], *, low: int
    ) -> list[dict[str, Any]]:
        """Keep some claims by id (perhaps re-tagged), add some; the rest are retired."""
        kept = []
        for c in current:
            if data.draw(st.booleans()):
                framework, direction = c.framework, c.direction
                if data.draw(st.booleans()):
                    framework = data.draw(st.sampled_from(self.frameworks))
                    direction = data.draw(st.sampled_from(DIRECTIONS))
                kept.append(
                    {"id": c.id, "framework": framework, "direction": direction, "text": c.text}
                )
        added = self.claims(data, max(0, low - len(kept)), 2)
        return (kept + added)[:8]


def open_scenario(client: TestClient, session: Session, pool: Pool, data: Any) -> Scenario:
    n = next(_serial)
    options = list(data.draw(st.permutations(OPTION_KEYS)))[: data.draw(st.integers(2, 3))]
    frameworks = list(data.draw(st.permutations(FRAMEWORKS)))[: data.draw(st.integers(1, 3))]
    members = data.draw(
        st.lists(st.integers(0, STUDENTS - 1), min_size=2, max_size=STUDENTS, unique=True)
    )
    post_first = data.draw(st.booleans())
    early_rebuttals = data.draw(st.booleans())
    anonymity = data.draw(st.sampled_from(["named", "anonymous_to_peers"]))

    fresh(session)  # a new transaction: an aborted example may have left one open
    make_case(
        session,
        slug=f"property-case-{n}",
        options=[{"key": k, "label": k.title()} for k in options],
        frameworks=frameworks,
    )
    prof = session.get(Account, pool.prof_id)
    assert prof is not None
    cohort = cohorts.create_cohort(session, name=f"Property cohort {n}", creator=prof)
    students = [pool.student_ids[i] for i in members]
    for account_id in students:
        account = session.get(Account, account_id)
        assert account is not None
        cohorts.join(session, code=cohort.join_code, account=account)
    cohort_id = cohort.id
    body = {
        "case_slug": f"property-case-{n}",
        "cohort_id": cohort_id,
        "anonymity": anonymity,
        "post_first": post_first,
        "early_rebuttals": early_rebuttals,
    }
    response = client.post("/api/v1/discussions", json=body, headers=pool.headers[pool.prof_id])
    assert response.status_code == 201, response.text
    return Scenario(
        client=client,
        session=session,
        pool=pool,
        discussion_id=response.json()["id"],
        options=options,
        frameworks=frameworks,
        students=students,
        post_first=post_first,
        early_rebuttals=early_rebuttals,
    )


def check(s: Scenario, *, thorough: bool = False) -> None:
    """The summary as faculty, with and without hidden posts, against the rows.

    Thorough also asks as a student who has posted, as one yet to post, and as a student
    for hidden posts (refused).
    """
    rows = load(s.session, s.discussion_id)
    path = f"/api/v1/discussions/{s.discussion_id}/summary"

    def want(include_hidden: bool) -> dict[str, Any]:
        return expected_summary(
            rows,
            discussion_id=s.discussion_id,
            options=s.options,
            frameworks=s.frameworks,
            names=s.pool.names,
            include_hidden=include_hidden,
        )

    visible = want(False)
    assert_same(s.call("GET", path, None, 200), visible, "faculty")
    everything = s.call("GET", path, None, 200, params={"include_hidden": "true"})
    assert_same(everything, want(True), "faculty, include_hidden")

    if not thorough:
        return
    authors = {p.author_id for p in rows.positions}
    posted = [a for a in s.students if a in authors]
    if posted:  # a student who has posted sees what faculty see by default
        assert_same(s.call("GET", path, posted[-1], 200), visible, "student who posted")
    waiting = [a for a in s.students if a not in authors]
    if waiting:  # one who has not: the same, unless the discussion wants positions first
        if s.post_first:
            s.call("GET", path, waiting[0], 409)
        else:
            assert_same(s.call("GET", path, waiting[0], 200), visible, "student yet to post")
    s.call("GET", path, s.students[0], 403, params={"include_hidden": "true"})


# ---- the moves ---------------------------------------------------------------------------


def moves(s: Scenario, rows: Rows) -> list[str]:
    """What may be done next, the more productive moves more often."""
    writable = s.phase != "closed"
    authors = {p.author_id for p in rows.positions}
    waiting = [a for a in s.students if a not in authors]
    rebuttals_open = s.phase == "rebuttals" or (s.phase == "positions" and s.early_rebuttals)
    out = ["phase", "final_stance"]
    if rows.positions and not rebuttals_open:
        out += ["phase"]
    if waiting:
        out += ["initial_stance"]
    if writable and waiting:
        out += ["post_position"] * 4
    if writable and rows.positions:
        out += ["edit_position"] * 2
    if rebuttals_open and rows.positions and len(rows.rebuttals) < MAX_REBUTTALS:
        out += ["rebuttal"] * 6
    if writable and rows.rebuttals:
        out += ["edit_rebuttal"] * 2
    if rows.positions:
        out += ["hide_or_restore", "mark_or_unmark"] * 2
    return out


# Where a phase change goes: mostly forward, sometimes back (faculty may reopen).
NEXT_PHASE = {
    "positions": ["rebuttals", "rebuttals", "rebuttals", "closed"],
    "rebuttals": ["closed", "positions"],
    "closed": ["rebuttals", "positions"],
}


def play(s: Scenario, rows: Rows, move: str, data: Any) -> None:
    did = s.discussion_id
    authors = {p.author_id for p in rows.positions}
    if move == "phase":
        phase = data.draw(st.sampled_from(NEXT_PHASE[s.phase]))
        s.call("PATCH", f"/api/v1/discussions/{did}", None, 200, json={"phase": phase})
        s.phase = phase
    elif move in ("initial_stance", "final_stance"):
        moment = move.removesuffix("_stance")
        allowed = [a for a in s.students if a not in authors] if moment == "initial" else s.students
        who = data.draw(st.sampled_from(allowed))
        option = data.draw(st.sampled_from(s.options))
        body = {"moment": moment, "option": option}
        s.call("POST", f"/api/v1/discussions/{did}/stance", who, 200, json=body)
    elif move == "post_position":
        who = data.draw(st.sampled_from([a for a in s.students if a not in authors]))
        body = {
            "option": data.draw(st.sampled_from(s.options)),
            "summary": f"Summary {next(_serial)}",
            "body": "Because.",
            "claims": s.claims(data, 1, 4),
        }
        s.call("POST", f"/api/v1/discussions/{did}/positions", who, 201, json=body)
    elif move == "edit_position":
        position = data.draw(st.sampled_from(rows.positions))
        edit: dict[str, Any] = {}
        if data.draw(st.booleans()):
            edit["option"] = data.draw(st.sampled_from(s.options))
        if data.draw(st.booleans()):
            current = [
                c for c in rows.claims if c.position_id == position.id and c.retired_at is None
            ]
            edit["claims"] = s.revised_claims(data, current, low=1)
        edit = edit or {"summary": f"Edited {next(_serial)}"}
        s.call("PATCH", f"/api/v1/positions/{position.id}", position.author_id, 200, json=edit)
    elif move == "rebuttal":
        position = data.draw(st.sampled_from(rows.positions))
        # With post_first, a student who has not posted cannot see the position to answer it.
        who = data.draw(
            st.sampled_from([a for a in s.students if a in authors or not s.post_first])
        )
        thread = [r for r in rows.rebuttals if r.position_id == position.id]
        parent = data.draw(st.none() | st.sampled_from(thread)) if thread else None
        anchors = [  # retired claims are still valid anchors
            c.id
            for c in rows.claims
            if c.position_id == position.id or (parent is not None and c.rebuttal_id == parent.id)
        ]
        body = {
            "kind": data.draw(st.sampled_from(["counter", "challenge", "concede", "question"])),
            "body": f"Reply {next(_serial)}",
            "parent_id": parent.id if parent is not None else None,
            "claim_id": data.draw(st.none() | st.sampled_from(anchors)),
            "claims": s.claims(data, 0, 3),
        }
        s.call("POST", f"/api/v1/positions/{position.id}/rebuttals", who, 201, json=body)
    elif move == "edit_rebuttal":
        rebuttal = data.draw(st.sampled_from(rows.rebuttals))
        current = [c for c in rows.claims if c.rebuttal_id == rebuttal.id and c.retired_at is None]
        edit = {"claims": s.revised_claims(data, current, low=0)}
        s.call("PATCH", f"/api/v1/rebuttals/{rebuttal.id}", rebuttal.author_id, 200, json=edit)
    elif move == "hide_or_restore":
        kind, post = data.draw(st.sampled_from(posts(rows)))
        if post.hidden_at is None:
            s.call("POST", f"/api/v1/{kind}s/{post.id}/hide", None, 200, json={"reason": "Rude"})
        else:
            s.call("POST", f"/api/v1/{kind}s/{post.id}/restore", None, 200)
    elif move == "mark_or_unmark":
        kind, post = data.draw(st.sampled_from(posts(rows)))
        standing = any(
            m.removed_at is None and getattr(m, f"{kind}_id") == post.id for m in rows.marks
        )
        if standing and data.draw(st.booleans()):
            s.call("DELETE", f"/api/v1/{kind}s/{post.id}/exemplary", None, 204)
        else:  # marks it, or replaces the standing mark with a new note
            body = {
                "note": f"Note {next(_serial)}",
                "criteria": data.draw(st.lists(st.sampled_from(CRITERIA), max_size=2, unique=True)),
            }
            s.call("PUT", f"/api/v1/{kind}s/{post.id}/exemplary", None, 200, json=body)
    else:  # pragma: no cover
        raise AssertionError(move)


def posts(rows: Rows) -> list[tuple[str, Any]]:
    return [("position", p) for p in rows.positions] + [("rebuttal", r) for r in rows.rebuttals]


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
    ],
)
@given(data=st.data())
def test_every_number_of_the_summary_matches_the_rows(
    client: TestClient, session: Session, pool: Pool, data: st.DataObject
) -> None:
    s = open_scenario(client, session, pool, data)
    check(s)  # empty: every option and framework listed with zeros
    for _ in range(data.draw(st.integers(6, MAX_STEPS), label="steps")):
        rows = load(session, s.discussion_id)
        move = data.draw(st.sampled_from(moves(s, rows)), label="move")
        play(s, rows, move, data)
        if data.draw(st.integers(0, 3), label="check now if 0") == 0:
            check(s)
    check(s, thorough=True)


# ---- a fixed scenario, counted by hand ---------------------------------------------------


def outline(summary: dict[str, Any]) -> list[tuple[str, list[tuple[str, str, int, list[int]]]]]:
    """Tensions as (framework, [(option, direction, claims, strongest claim ids)])."""
    return [
        (
            t["framework"],
            [
                (s["option"], s["direction"], s["claims"], [c["id"] for c in s["strongest"]])
                for s in t["sides"]
            ],
        )
        for t in summary["tensions"]
    ]


def test_a_fixed_discussion_counted_by_hand(client: TestClient, session: Session) -> None:
    """Hidden posts, a rebuttal on a hidden position, retired claims, marks, stances, the
    cache across writes: every number written out, and the oracle must agree with them."""
    prof = make_account(session, username="fixprof", role="faculty", display_name="Dr Fixed")
    people = {
        name: make_account(session, username=f"fix{name}", display_name=name.title())
        for name in ("ann", "bob", "cat", "dan")
    }
    cohort = cohorts.create_cohort(session, name="Fixed", creator=prof)
    for account in people.values():
        cohorts.join(session, code=cohort.join_code, account=account)
    make_case(
        session,
        slug="fixed-case",
        options=[{"key": "act", "label": "Act"}, {"key": "wait", "label": "Wait"}],
        frameworks=["justice", "autonomy"],
    )
    h = {name: token_for(client, a.username) for name, a in people.items()}
    h["prof"] = token_for(client, prof.username)
    names = {a.id or 0: a.display_name for a in [prof, *people.values()]}
    response = client.post(
        "/api/v1/discussions",
        json={"case_slug": "fixed-case", "cohort_id": cohort.id, "anonymity": "named"},
        headers=h["prof"],
    )
    assert response.status_code == 201, response.text
    did = response.json()["id"]
    path = f"/api/v1/discussions/{did}/summary"

    def send(method: str, url: str, who: str, expect: int, **kw: Any) -> Any:
        got = client.request(method, url, headers=h[who], **kw)
        assert got.status_code == expect, f"{method} {url}: {got.text}"
        return got.json() if got.content else None

    def claim(framework: str, direction: str, text: str) -> dict[str, str]:
        return {"framework": framework, "direction": direction, "text": text}

    def position(who: str, option: str, *claims: dict[str, str]) -> tuple[int, list[int]]:
        body = {"option": option, "summary": f"{who} says {option}", "claims": list(claims)}
        made = send("POST", f"/api/v1/discussions/{did}/positions", who, 201, json=body)
        return made["id"], [c["id"] for c in made["claims"]]

    def rebuttal(who: str, on: int, **body: Any) -> tuple[int, list[int]]:
        body = {"kind": "counter", "body": f"{who} answers", **body}
        made = send("POST", f"/api/v1/positions/{on}/rebuttals", who, 201, json=body)
        return made["id"], [c["id"] for c in made["claims"]]

    def summary(include_hidden: bool = False, who: str = "prof") -> dict[str, Any]:
        params = {"include_hidden": "true"} if include_hidden else None
        got = send("GET", path, who, 200, params=params)
        oracle = expected_summary(
            load(session, did),
            discussion_id=did,
            options=["act", "wait"],
            frameworks=["justice", "autonomy"],
            names=names,
            include_hidden=include_hidden,
        )
        assert_same(got, oracle, "oracle")
        return dict(got)

    def stance(who: str, moment: str, option: str) -> None:
        send(
            "POST",
            f"/api/v1/discussions/{did}/stance",
            who,
            200,
            json={"moment": moment, "option": option},
        )

    def matrix(
        j_act: tuple[int, int],
        j_wait: tuple[int, int],
        a_act: tuple[int, int],
        a_wait: tuple[int, int],
    ) -> dict[str, Any]:
        def cell(pair: tuple[int, int]) -> dict[str, int]:
            return {"supports": pair[0], "challenges": pair[1]}

        return {
            "justice": {"act": cell(j_act), "wait": cell(j_wait)},
            "autonomy": {"act": cell(a_act), "wait": cell(a_wait)},
        }

    empty = summary()
    assert empty["options"] == {"act": 0, "wait": 0}
    assert empty["frameworks"] == matrix((0, 0), (0, 0), (0, 0), (0, 0))
    assert (empty["participants"], empty["positions"], empty["rebuttals"]) == (0, 0, 0)
    assert empty["tensions"] == [] and empty["stance_shift"] == {}

    stance("ann", "initial", "wait")
    stance("dan", "initial", "act")
    stance("dan", "initial", "wait")  # the latest counts
    stance("cat", "initial", "act")  # cat never posts nor says where she ended: left out
    a, (a1, a2) = position(
        "ann", "act", claim("justice", "supports", "a1"), claim("autonomy", "supports", "a2")
    )
    b, (b1, b2, b3) = position(
        "bob", "wait", *(claim("justice", "supports", t) for t in ("b1", "b2", "b3"))
    )
    d, (d1, d2) = position(
        "dan", "act", claim("autonomy", "challenges", "d1"), claim("justice", "supports", "d2")
    )
    send(
        "POST",
        f"/api/v1/discussions/{did}/stance",
        "ann",
        409,
        json={"moment": "initial", "option": "act"},
    )

    first = summary()
    assert (first["participants"], first["positions"], first["rebuttals"]) == (3, 3, 0)
    assert first["options"] == {"act": 2, "wait": 1}
    assert first["frameworks"] == matrix((2, 0), (3, 0), (1, 1), (0, 0))
    assert first["unanswered"] == [a, b, d] and first["most_contested"] == []
    assert first["exemplary"] == []
    assert first["stance_shift"] == {"wait": {"act": 2, "wait": 1}}
    assert outline(first) == [
        ("justice", [("act", "supports", 2, [a1, d2]), ("wait", "supports", 3, [b1, b2, b3])]),
        ("autonomy", [("act", "supports", 1, [a2]), ("act", "challenges", 1, [d1])]),
    ]

    send("PATCH", f"/api/v1/discussions/{did}", "prof", 200, json={"phase": "rebuttals"})
    r1, (c1,) = rebuttal("cat", a, claim_id=a1, claims=[claim("justice", "challenges", "c1")])
    r2, _ = rebuttal("bob", a, parent_id=r1, kind="question")
    r3, (r3a, r3j) = rebuttal(
        "ann",
        b,
        claim_id=b2,
        kind="challenge",
        claims=[claim("autonomy", "supports", "r3a"), claim("justice", "supports", "r3j")],
    )
    r4, _ = rebuttal("cat", d, claim_id=d2)
    # Dan keeps d1 and replaces d2 (retired; r4 stays anchored to it) with d3.
    edited = send(
        "PATCH",
        f"/api/v1/positions/{d}",
        "dan",
        200,
        json={
            "claims": [
                {"id": d1, **claim("autonomy", "challenges", "d1")},
                claim("justice", "supports", "d3"),
            ]
        },
    )
    d3 = edited["claims"][1]["id"]
    assert edited["claims"][0]["id"] == d1 and d3 not in (d1, d2)
    for kind, post, note in (
        ("rebuttal", r1, "Sharp"),
        ("rebuttal", r3, "Fair"),
        ("position", a, "Clear"),
    ):
        send(
            "PUT",
            f"/api/v1/{kind}s/{post}/exemplary",
            "prof",
            200,
            json={"note": note, "criteria": [Criterion.weighs.value]},
        )
    stance("bob", "final", "act")

    def marked(kind: str, post: int, frameworks: list[str], note: str) -> dict[str, Any]:
        return {
            "type": kind,
            "id": post,
            "frameworks": frameworks,
            "note": note,
            "by": "Dr Fixed",
            "criteria": [Criterion.weighs.value],
        }

    every = {
        "participants": 4,
        "positions": 3,
        "rebuttals": 4,
        "options": {"act": 2, "wait": 1},
        "frameworks": matrix((2, 1), (4, 0), (1, 1), (1, 0)),
        "unanswered": [],
        "most_contested": [a, b, d],
        "exemplary": [
            marked("rebuttal", r1, ["justice"], "Sharp"),
            marked("rebuttal", r3, ["justice", "autonomy"], "Fair"),
            marked("position", a, ["justice", "autonomy"], "Clear"),
        ],
        "stance_shift": {"wait": {"act": 3}},
    }
    every_tensions = [
        (
            "justice",
            [
                ("act", "supports", 2, [a1, d3]),  # a1: on a marked post, and answered
                ("act", "challenges", 1, [c1]),
                ("wait", "supports", 4, [r3j, b2, b1]),  # marked, answered, then oldest
            ],
        ),
        (
            "autonomy",
            [
                ("act", "supports", 1, [a2]),
                ("act", "challenges", 1, [d1]),
                ("wait", "supports", 1, [r3a]),
            ],
        ),
    ]
    second = summary()
    assert {k: second[k] for k in every} == every
    assert outline(second) == every_tensions
    strongest = second["tensions"][0]["sides"][0]["strongest"][0]
    assert strongest == {
        "id": a1,
        "framework": "justice",
        "direction": "supports",
        "option": "act",
        "text": "a1",
        "post": {"type": "position", "id": a},
        "position_id": a,
        "exemplary": True,
        "rebuttals": 1,
    }

    send("POST", f"/api/v1/positions/{a}/hide", "prof", 200, json={"reason": "Off topic"})
    third = summary()  # the cached summary of the same discussion must not be served
    assert (third["participants"], third["positions"], third["rebuttals"]) == (4, 2, 4)
    assert third["options"] == {"act": 1, "wait": 1}
    # c1 answers the hidden position: still counted, under its option.
    assert third["frameworks"] == matrix((1, 1), (4, 0), (0, 1), (1, 0))
    assert third["unanswered"] == [] and third["most_contested"] == [b, d]
    assert [(e["type"], e["id"]) for e in third["exemplary"]] == [
        ("rebuttal", r1),
        ("rebuttal", r3),
    ]
    assert third["stance_shift"] == {
        "wait": {"act": 3}
    }  # a hidden position still says where ann stood
    assert outline(third) == [
        (
            "justice",
            [
                ("act", "supports", 1, [d3]),
                ("act", "challenges", 1, [c1]),
                ("wait", "supports", 4, [r3j, b2, b1]),
            ],
        ),
    ]  # autonomy: challenging act and supporting wait argue for the same option
    hidden_too = summary(include_hidden=True)
    assert hidden_too["include_hidden"] is True
    assert {k: hidden_too[k] for k in every} == every
    assert outline(hidden_too) == every_tensions
    assert summary(who="ann") == third  # a student whose position is hidden
    send("GET", path, "ann", 403, params={"include_hidden": "true"})

    send("DELETE", f"/api/v1/rebuttals/{r3}/exemplary", "prof", 204)
    fourth = summary(who="cat")
    assert [(e["type"], e["id"]) for e in fourth["exemplary"]] == [("rebuttal", r1)]
    assert outline(fourth)[0][1][2] == ("wait", "supports", 4, [b2, b1, b3])
    assert summary(include_hidden=True)["exemplary"] == every["exemplary"][::2]

    send("POST", f"/api/v1/positions/{a}/restore", "prof", 200)
    assert summary()["positions"] == 3
