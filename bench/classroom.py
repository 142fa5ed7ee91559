"""Benchmark: a lecture hall. N students live in one discussion for a minute, posting at once.

Seeds a cohort of N students and one faculty member, and one anonymous-to-peers discussion
(rebuttals open from the start) on a fresh database, each account with a browser session
and a bearer token. Starts `ethicsforum serve` (rate limits off; one worker on SQLite, four
on PostgreSQL) and then, within --seconds, every student at random moments:

* loads the discussion page (their session cookie) and opens its live event stream, which
  they keep open to the end (reconnecting if the server ends it, as a browser does);
* records an initial stance, posts a position with three claims, posts three rebuttals to
  classmates' positions (some anchored to a claim), and records a final stance (the API,
  their bearer token);

while the faculty member moves the phase to rebuttals half-way through.

It reports answers by status and p50/p99 latency per kind of request; checks the database
afterwards so that every acknowledged write is stored ("lost") and that no write answered
with an error was stored anyway ("stored after an error"); and measures, for each post, the
delay from its acknowledgement to its arrival on the last of the N open streams (p50/p99),
counting deliveries that never came. Budget (PRODUCT.md, issue 12): no errors, nothing
lost, p99 within 10 x p50 per kind, announcement p99 under 2 s. Exits 1 when a budget is
missed.

    .venv/bin/python bench/classroom.py [--students 200] [--seconds 60] [--workers W]
        [--database-url postgresql+psycopg://USER@HOST/DB [--reset]] [--seed 2026]

The load generator is one asyncio process on the same two cores as the server; it reads
streams as raw bytes and only looks for post ids, so it stays a small share of the CPU.
Everything targets 127.0.0.1 and stops by itself: requests still unanswered 60 s after the
last planned one count as errors ("no answer"), and the streams get at most --drain more
seconds for the last announcements.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from discussion import (
    CASE_SLUG,
    CLAIMS,
    EF,
    SECRET_KEY,
    SENTENCES,
    _insert,
    free_port,
    fresh_postgres,
    fresh_sqlite,
    settings_for,
    shown,
    stop,
    wait_for,
)

POST_ID = re.compile(rb'(?:id="|#)(position|rebuttal)-(\d+)')  # a card, or a link to one
KINDS = ("page", "stance", "position", "rebuttal", "phase")
GRACE = 60.0  # seconds after the last planned request before unanswered ones are given up
PASSWORD = "hall-password-2026"  # never used to sign in: sessions and tokens are seeded


# ---- seeding ------------------------------------------------------------------------------


@dataclass
class Student:
    index: int
    account_id: int
    cookie: str
    token: str


@dataclass
class World:
    url: str
    discussion_id: int
    options: list[str]
    frameworks: list[str]
    faculty_token: str
    students: list[Student]


def seed(url: str, n: int) -> World:
    """A migrated database with the case library, a cohort of n students and a discussion."""
    from argon2 import PasswordHasher
    from sqlmodel import select

    from ethicsforum import migrate
    from ethicsforum.accounts import service as accounts_service
    from ethicsforum.accounts import sessions
    from ethicsforum.accounts.models import Account, Cohort, Membership
    from ethicsforum.cases import service as cases_service
    from ethicsforum.cases.models import CaseVersion, EthicsCase
    from ethicsforum.db import make_engine, write_session
    from ethicsforum.discussions.models import Discussion

    settings = settings_for(url)
    migrate.upgrade(settings)
    engine = make_engine(settings)
    try:
        with write_session(engine) as session:
            imported = cases_service.import_directory(
                session,
                paths=sorted(settings.cases_dir.glob("*.md")),
                frameworks=settings.frameworks,
            )
            if imported.problems:
                sys.exit("could not import the cases:\n" + "\n".join(imported.problems))
            case = session.exec(select(EthicsCase).where(EthicsCase.slug == CASE_SLUG)).one()
            version = session.exec(
                select(CaseVersion).where(
                    CaseVersion.case_id == case.id, CaseVersion.version == case.current_version
                )
            ).one()
            hashed = PasswordHasher().hash(PASSWORD)
            accounts = _insert(
                session,
                Account,
                [
                    {
                        "username": "hall-faculty",
                        "display_name": "Dr Hall Faculty",
                        "role": "faculty",
                        "password_hash": hashed,
                    }
                ]
                + [
                    {
                        "username": f"hall-student-{i:04d}",
                        "display_name": f"Hall Student {i + 1}",
                        "role": "student",
                        "password_hash": hashed,
                    }
                    for i in range(n)
                ],
            )
            faculty_id, student_ids = accounts[0], accounts[1:]
            cohort_id = _insert(
                session,
                Cohort,
                [{"name": "Lecture hall", "join_code": "HALL2026", "created_by_id": faculty_id}],
            )[0]
            _insert(
                session,
                Membership,
                [{"cohort_id": cohort_id, "account_id": faculty_id, "role": "faculty"}]
                + [
                    {"cohort_id": cohort_id, "account_id": s, "role": "student"}
                    for s in student_ids
                ],
            )
            discussion = Discussion(
                case_id=case.id or 0,
                case_version=case.current_version,
                cohort_id=cohort_id,
                title=version.title,
                phase="positions",
                anonymity="anonymous_to_peers",
                post_first=False,
                early_rebuttals=True,
                pseudonym_key=os.urandom(32).hex(),
                created_by_id=faculty_id,
            )
            session.add(discussion)
            session.commit()
            by_id = {a.id: a for a in session.exec(select(Account)).all()}
            faculty_token, _ = accounts_service.issue_token(session, account=by_id[faculty_id])
            students = []
            for index, account_id in enumerate(student_ids):
                account = by_id[account_id]
                cookie = sessions.start(
                    session, account=account, absolute=timedelta(hours=12), user_agent="classroom"
                )
                token, _ = accounts_service.issue_token(session, account=account)
                students.append(Student(index, account_id, cookie, token))
            return World(
                url=url,
                discussion_id=discussion.id or 0,
                options=[str(o["key"]) for o in version.options],
                frameworks=list(version.frameworks),
                faculty_token=faculty_token,
                students=students,
            )
    finally:
        engine.dispose()


# ---- the load -----------------------------------------------------------------------------


@dataclass
class Answer:
    kind: str
    status: str  # "201", "503", "ReadTimeout", ...
    seconds: float


@dataclass
class Run:
    world: World
    base: str
    started: float = 0.0
    answers: list[Answer] = field(default_factory=list)
    # (kind, id) -> acknowledgement time; author index per acknowledged post
    acked: dict[tuple[str, int], float] = field(default_factory=dict)
    acked_by: dict[int, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    failed_by: dict[int, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    # (kind, id) -> arrival time on each stream that received it
    arrivals: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    positions: list[tuple[int, list[int]]] = field(default_factory=list)  # (id, claim ids)
    stream_answers: Counter[str] = field(default_factory=Counter)
    streams_open: int = 0

    def record(self, kind: str, status: str, began: float) -> None:
        self.answers.append(Answer(kind, status, time.monotonic() - began))


async def call(
    run: Run, client: httpx.AsyncClient, kind: str, method: str, path: str, **kw: Any
) -> httpx.Response | None:
    began = time.monotonic()
    try:
        response = await client.request(method, run.base + path, **kw)
    except httpx.HTTPError as exc:
        run.record(kind, type(exc).__name__, began)
        return None
    except asyncio.CancelledError:  # still waiting when the run's deadline came
        run.record(kind, "no answer", began)
        raise
    run.record(kind, str(response.status_code), began)
    return response


async def follow(
    run: Run, client: httpx.AsyncClient, student: Student, done: asyncio.Event
) -> None:
    """Hold the discussion's event stream open, noting when each post id first arrives."""
    path = f"/discussions/{run.world.discussion_id}/events"
    seen: set[tuple[str, int]] = set()
    counted = False
    while not done.is_set():
        try:
            async with client.stream(
                "GET", run.base + path, headers={"Cookie": f"ef_session={student.cookie}"}
            ) as response:
                run.stream_answers[str(response.status_code)] += 1
                if response.status_code != 200:
                    await asyncio.sleep(3)  # EventSource's retry
                    continue
                if not counted:
                    run.streams_open += 1
                    counted = True
                tail = b""
                async for chunk in response.aiter_raw():
                    now = time.monotonic()
                    buffer = tail + chunk
                    for match in POST_ID.finditer(buffer):
                        key = (match.group(1).decode(), int(match.group(2)))
                        if key not in seen:
                            seen.add(key)
                            run.arrivals[key].append(now)
                    tail = buffer[-48:]
                    if done.is_set():
                        return
        except httpx.HTTPError as exc:
            run.stream_answers[type(exc).__name__] += 1
            await asyncio.sleep(3)


def _body(rng: random.Random) -> str:
    return " ".join(rng.sample(SENTENCES, 3))


async def act(
    run: Run,
    client: httpx.AsyncClient,
    student: Student,
    rng: random.Random,
    seconds: float,
    done: asyncio.Event,
    streams: list[asyncio.Task[None]],
) -> None:
    """One student's minute: page and stream, stances, a position and three rebuttals."""
    world = run.world
    bearer = {"Authorization": f"Bearer {student.token}"}
    page_at = rng.uniform(0, seconds * 0.15)
    moments = sorted(rng.uniform(seconds * 0.15, seconds) for _ in range(5))
    await asyncio.sleep(max(0.0, run.started + page_at - time.monotonic()))
    await call(
        run,
        client,
        "page",
        "GET",
        f"/discussions/{world.discussion_id}",
        headers={"Cookie": f"ef_session={student.cookie}"},
    )
    streams.append(asyncio.create_task(follow(run, client, student, done)))

    async def at(moment: float) -> None:
        await asyncio.sleep(max(0.0, run.started + moment - time.monotonic()))

    await at(moments[0] * 0.5 + page_at * 0.5)
    await call(
        run,
        client,
        "stance",
        "POST",
        f"/api/v1/discussions/{world.discussion_id}/stance",
        headers=bearer,
        json={"moment": "initial", "option": rng.choice(world.options)},
    )
    await at(moments[0])
    frameworks = rng.sample(world.frameworks, min(3, len(world.frameworks)))
    response = await call(
        run,
        client,
        "position",
        "POST",
        f"/api/v1/discussions/{world.discussion_id}/positions",
        headers=bearer,
        json={
            "option": rng.choice(world.options),
            "summary": rng.choice(CLAIMS).capitalize() + ".",
            "body": _body(rng),
            "claims": [
                {"framework": f, "direction": "supports", "text": rng.choice(CLAIMS)}
                for f in frameworks
            ],
        },
    )
    if response is not None and response.status_code == 201:
        data = response.json()
        run.acked[("position", data["id"])] = time.monotonic()
        run.acked_by[student.index]["position"] += 1
        run.positions.append((data["id"], [c["id"] for c in data["claims"]]))
    else:
        run.failed_by[student.index]["position"] += 1
    own = response.json()["id"] if response is not None and response.status_code == 201 else None
    for moment in moments[1:4]:
        await at(moment)
        others = [p for p in run.positions if p[0] != own]
        if not others:
            continue
        position_id, claim_ids = rng.choice(others)
        body: dict[str, Any] = {"kind": rng.choice(["counter", "challenge", "question"])}
        body["body"] = _body(rng)
        if claim_ids and rng.random() < 0.5:
            body["claim_id"] = rng.choice(claim_ids)
        response = await call(
            run,
            client,
            "rebuttal",
            "POST",
            f"/api/v1/positions/{position_id}/rebuttals",
            headers=bearer,
            json=body,
        )
        if response is not None and response.status_code == 201:
            run.acked[("rebuttal", response.json()["id"])] = time.monotonic()
            run.acked_by[student.index]["rebuttal"] += 1
        else:
            run.failed_by[student.index]["rebuttal"] += 1
    await at(moments[4])
    await call(
        run,
        client,
        "stance",
        "POST",
        f"/api/v1/discussions/{world.discussion_id}/stance",
        headers=bearer,
        json={"moment": "final", "option": rng.choice(world.options)},
    )


async def faculty(run: Run, client: httpx.AsyncClient, seconds: float) -> None:
    await asyncio.sleep(max(0.0, run.started + seconds / 2 - time.monotonic()))
    await call(
        run,
        client,
        "phase",
        "PATCH",
        f"/api/v1/discussions/{run.world.discussion_id}",
        headers={"Authorization": f"Bearer {run.world.faculty_token}"},
        json={"phase": "rebuttals"},
    )


async def classroom(run: Run, seconds: float, drain: float, seed: int) -> None:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    timeout = httpx.Timeout(30.0, read=None)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        done = asyncio.Event()
        streams: list[asyncio.Task[None]] = []
        run.started = time.monotonic() + 1.0
        students = [
            act(run, client, s, random.Random(seed + s.index), seconds, done, streams)
            for s in run.world.students
        ]
        try:
            # A server that falls behind must not keep the benchmark running for ever.
            await asyncio.wait_for(
                asyncio.gather(*students, faculty(run, client, seconds)), seconds + GRACE
            )
        except TimeoutError:
            print(f"the hall's deadline ({seconds + GRACE:.0f} s) came with requests unanswered")
        # Let the last announcements reach every stream, then hang up.
        deadline = time.monotonic() + drain
        expected = len(run.world.students)
        while time.monotonic() < deadline:
            if all(len(run.arrivals.get(key, [])) >= expected for key in run.acked):
                break
            await asyncio.sleep(0.25)
        done.set()
        for task in streams:
            task.cancel()
        await asyncio.gather(*streams, return_exceptions=True)


# ---- checking and reporting ---------------------------------------------------------------


def stored_counts(world: World) -> tuple[dict[int, Counter[str]], set[tuple[str, int]]]:
    """Posts stored per student (by index) and every stored post's key."""
    from sqlmodel import Session, select

    from ethicsforum.db import make_engine
    from ethicsforum.discussions.models import Position, Rebuttal

    engine = make_engine(settings_for(world.url))
    index_of = {s.account_id: s.index for s in world.students}
    by: dict[int, Counter[str]] = defaultdict(Counter)
    keys: set[tuple[str, int]] = set()
    try:
        with Session(engine) as session:
            for kind, model in (("position", Position), ("rebuttal", Rebuttal)):
                rows = session.exec(
                    select(model.id, model.author_id).where(
                        model.discussion_id == world.discussion_id
                    )
                ).all()
                for post_id, author_id in rows:
                    keys.add((kind, post_id))
                    if author_id in index_of:
                        by[index_of[author_id]][kind] += 1
    finally:
        engine.dispose()
    return by, keys


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def report(run: Run, seconds: float) -> bool:
    world = run.world
    n = len(world.students)
    ok = True
    print(f"\n{n} students, {seconds:.0f} s, {shown(world.url)}")
    head = f"{'answers':>9}  {'by status':<38}{'p50 ms':>9}{'p99 ms':>9}{'p99/p50':>9}"
    print(f"\n{'request':<10}{head}")
    errors = 0
    for kind in KINDS:
        answers = [a for a in run.answers if a.kind == kind]
        if not answers:
            continue
        statuses = Counter(a.status for a in answers)
        bad = sum(c for s, c in statuses.items() if not s.startswith("2"))
        errors += bad
        latencies = [a.seconds * 1000 for a in answers]
        p50, p99 = pct(latencies, 50), pct(latencies, 99)
        shape = ", ".join(f"{c} x {s}" for s, c in sorted(statuses.items()))
        ratio = p99 / p50 if p50 else float("nan")
        flag = "" if ratio <= 10 else "  over budget (10x)"
        ok &= ratio <= 10
        print(f"{kind:<10}{len(answers):>9}  {shape:<38}{p50:>9.0f}{p99:>9.0f}{ratio:>9.1f}{flag}")
    streams = ", ".join(f"{c} x {s}" for s, c in sorted(run.stream_answers.items()))
    print(f"\nstreams opened: {run.streams_open} of {n} students ({streams})")

    stored_by, stored_keys = stored_counts(world)
    lost = [key for key in run.acked if key not in stored_keys]
    after_error = sum(
        max(0, stored_by[i][kind] - run.acked_by[i][kind])
        for i in range(n)
        for kind in ("position", "rebuttal")
    )
    acked_positions = sum(c["position"] for c in run.acked_by.values())
    acked_rebuttals = sum(c["rebuttal"] for c in run.acked_by.values())
    stored_positions = sum(c["position"] for c in stored_by.values())
    stored_rebuttals = sum(c["rebuttal"] for c in stored_by.values())
    print(
        f"writes: positions {acked_positions} acknowledged / {stored_positions} stored, "
        f"rebuttals {acked_rebuttals} acknowledged / {stored_rebuttals} stored"
    )
    print(f"lost (acknowledged, not stored): {len(lost)}")
    print(f"stored after an error answer: {after_error}")

    delays, missing = [], 0
    for key, acked_at in run.acked.items():
        arrived = run.arrivals.get(key, [])
        missing += max(0, run.streams_open - len(arrived))
        if len(arrived) >= run.streams_open and arrived:
            delays.append(max(0.0, max(arrived) - acked_at))
    if delays:
        print(
            f"announcement to all {run.streams_open} streams after the acknowledgement: "
            f"p50 {pct(delays, 50) * 1000:.0f} ms, p99 {pct(delays, 99) * 1000:.0f} ms "
            f"({len(delays)} of {len(run.acked)} posts reached every stream; "
            f"{missing} deliveries missing)"
        )
    else:
        print(f"announcements: no post reached every stream ({missing} deliveries missing)")
    announce_p99 = pct(delays, 99) if delays else float("inf")
    ok &= errors == 0 and not lost and after_error == 0 and missing == 0 and announce_p99 < 2
    ok &= run.streams_open == n
    print(
        "\nbudget: 0 errors, 0 lost, p99 <= 10 x p50, announcement p99 < 2 s: "
        + ("met" if ok else "MISSED")
    )
    median = statistics.median(a.seconds for a in run.answers) * 1000
    print(f"errors: {errors}; median request {median:.0f} ms")
    return ok


# ---- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--drain", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--reset", action="store_true")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ef-classroom-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'classroom.db'}"
        postgres = url.startswith("postgresql")
        if postgres:
            fresh_postgres(url, reset=args.reset)
        else:
            fresh_sqlite(url, reset=args.reset)
        workers = args.workers or (4 if postgres else 1)
        began = time.perf_counter()
        world = seed(url, args.students)
        print(f"seeded {args.students} students in {time.perf_counter() - began:.1f} s")

        port = free_port()
        env = {
            **os.environ,
            "ETHICSFORUM_DATABASE_URL": url,
            "ETHICSFORUM_SECRET_KEY": SECRET_KEY,
            "ETHICSFORUM_RATE_LIMITS": "off",
            "ETHICSFORUM_INSTANCE_DIR": str(Path(tmp) / "instance"),
        }
        if postgres and "ETHICSFORUM_MAX_REQUESTS" not in os.environ:
            # Each worker's pool is sized from its request limit; four workers with the
            # default 40 would not fit PostgreSQL's default 100 connections, and serve says so.
            env["ETHICSFORUM_MAX_REQUESTS"] = str(max(4, 90 // workers - 6))
        command = [str(EF), "serve", "--no-migrate", "--port", str(port)]
        command += ["--workers", str(workers)]
        log = open(Path(tmp) / "server.log", "wb")  # noqa: SIM115
        server = subprocess.Popen(  # noqa: S603
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_for(f"http://127.0.0.1:{port}/healthz", server)
            run = Run(world=world, base=f"http://127.0.0.1:{port}")
            print(f"serving with {workers} worker(s); the hall opens for {args.seconds:.0f} s")
            asyncio.run(classroom(run, args.seconds, args.drain, args.seed))
        finally:
            stop(server, group=True)
            log.close()
        ok = report(run, args.seconds)
        server_errors = [
            line
            for line in (Path(tmp) / "server.log").read_text(errors="replace").splitlines()
            if "Traceback" in line or " 500 " in line
        ]
        if server_errors:
            print(f"server log: {len(server_errors)} tracebacks or 500 lines")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
