"""Benchmark: the discussion summary API at two scales, warm (cached) and cold, against a floor.

Seeds ONE anonymous-to-peers discussion per scale with bench/discussion.py's seeding (N
students each with a position of 3 claims, 3 x N rebuttals: some replies to rebuttals, some
anchored to claims, most on a few contested positions), then adds what the summary reads
and that seeding leaves out, with bulk inserts and updates: positions skewed over the case's
options, claims on about one rebuttal in three (4 x N claims in all), a few hidden posts,
N / 50 exemplary marks and initial and final stances for most students. Scale 1 is N = 1,000,
scale 10 is N = 10,000. For `GET /api/v1/discussions/{id}/summary` read with a student's
bearer token it then:

* counts SQL statements in-process (create_app and a TestClient) for a warm request (the
  summary cached under the discussion's summary_generation) and a cold one (right after
  `UPDATE discussion SET summary_generation = summary_generation + 1`), and exits 1 if a
  count differs between the scales or exceeds the budget of 10;
* times warm requests and cold ones (the generation bumped before each) in-process: p50, p99;
* unless --no-wrk, starts `ethicsforum serve` (rate limits off, one worker) and a bare
  Starlette "floor" app serving the very same bytes, and measures both with
  `wrk -t2 -c16 --latency`: requests per second, p50 and p99 and the ratio to the floor
  (budget: 25%), keeping the best of --rounds runs.

Growth from the smallest to the largest scale is printed against its budget: warm requests
at most 1.5 x; cold compute is reported as it is (it reads every counted row, so it grows).

    .venv/bin/python bench/summary.py [--base 1000] [--scales 1 10] [--seconds 10]
        [--rounds 2] [--warm 200] [--cold 30] [--cold-seconds 60] [--workers W] [--no-wrk]
        [--show-sql]
        [--database-url postgresql+psycopg://USER@HOST/DB [--reset]]

Every scale is seeded before any is measured, and the scales' warm timings and wrk runs are
interleaved, so a busy spell on a shared machine slows every scale alike.
SQLite files live in a temporary folder, removed afterwards. With --database-url naming DB,
each scale gets its own PostgreSQL database, DB_x1 and DB_x10, created when missing; one that
exists is refused unless --reset is given, which empties it through the migrations
(downgrade base, upgrade head). They are left filled when the script ends.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from discussion import (
    CLAIMS,
    EF,
    FLOOR,
    REPO,
    SECRET_KEY,
    WRK,
    Load,
    Seeded,
    free_port,
    fresh_postgres,
    fresh_sqlite,
    measure,
    print_statements,
    settings_for,
    shown,
    stop,
    wait_for,
)
from discussion import Counted as _Counted
from discussion import seed as seed_discussion

SQL_BUDGET = 10
FLOOR_BUDGET = 0.25
WARM_GROWTH_BUDGET = 1.5
# Positions per option, in the case's order: a class rarely splits evenly.
OPTION_WEIGHTS = [38, 12, 22, 28, 10, 10]
NOTES = [
    "Weighs the public-interest test against the harm of breaching confidence.",
    "Answers the strongest objection before reaching a proportionate conclusion.",
    "Uses the facts of the case rather than a general rule.",
    "Names who should be told, what and when.",
]


# ---- seeding ------------------------------------------------------------------------------


@dataclass
class Scale:
    factor: int
    url: str
    seeded: Seeded
    claims: int = 0
    rebuttal_claims: int = 0
    hidden_positions: int = 0
    hidden_rebuttals: int = 0
    marks: int = 0
    initial: int = 0
    final: int = 0
    seconds: float = 0.0


def seed(url: str, factor: int, n: int) -> Scale:
    """bench/discussion.py's discussion of n positions, plus what the summary reads."""
    from sqlalchemy import bindparam, func, insert, select, update

    from ethicsforum.accounts.models import Account
    from ethicsforum.cases.models import CaseVersion
    from ethicsforum.db import make_engine, utcnow
    from ethicsforum.discussions.models import Claim, Discussion, Position, Rebuttal, Stance
    from ethicsforum.moderation.models import ExemplaryMark
    from ethicsforum.moderation.service import Criterion

    P, R, C = Position.__table__, Rebuttal.__table__, Claim.__table__  # type: ignore[attr-defined]
    S, M = Stance.__table__, ExemplaryMark.__table__  # type: ignore[attr-defined]
    D, A, V = Discussion.__table__, Account.__table__, CaseVersion.__table__  # type: ignore[attr-defined]

    started = time.perf_counter()
    seeded = seed_discussion(url, n)
    scale = Scale(factor=factor, url=url, seeded=seeded)
    did = seeded.discussion_id
    rng = random.Random(2027 + factor)
    engine = make_engine(settings_for(url))
    try:
        with engine.begin() as conn:
            faculty = conn.scalar(select(A.c.id).where(A.c.username == "bench-faculty"))
            case_id, version = conn.execute(
                select(D.c.case_id, D.c.case_version).where(D.c.id == did)
            ).one()
            case_options, frameworks = conn.execute(
                select(V.c.options, V.c.frameworks).where(
                    V.c.case_id == case_id, V.c.version == version
                )
            ).one()
            options = [str(o["key"]) for o in case_options]
            labels = {str(o["key"]): str(o["label"]) for o in case_options}
            now = utcnow()

            # Options skewed as a class splits; the summary's prefix follows its option.
            positions = conn.execute(
                select(P.c.id, P.c.author_id, P.c.summary)
                .where(P.c.discussion_id == did)
                .order_by(P.c.id)
            ).all()
            chosen = rng.choices(options, weights=OPTION_WEIGHTS[: len(options)], k=len(positions))
            conn.execute(
                update(P)
                .where(P.c.id == bindparam("b_id"))
                .values(option_key=bindparam("b_option"), summary=bindparam("b_summary")),
                [
                    {
                        "b_id": pid,
                        "b_option": option,
                        "b_summary": f"{labels[option]}: {text.split(': ', 1)[-1]}"[:280],
                    }
                    for (pid, _, text), option in zip(positions, chosen, strict=True)
                ],
            )
            own_option = {a: option for (_, a, _), option in zip(positions, chosen, strict=True)}

            # Claims on about one rebuttal in three: n of them, 4n claims with the positions'.
            rebuttals = conn.execute(
                select(R.c.id, R.c.kind).where(R.c.discussion_id == did).order_by(R.c.id)
            ).all()
            with_claim = set(
                conn.scalars(
                    select(C.c.rebuttal_id).where(
                        C.c.rebuttal_id.in_(select(R.c.id).where(R.c.discussion_id == did))
                    )
                )
            )
            bare = [row for row in rebuttals if row.id not in with_claim]
            extra = rng.sample(bare, max(0, min(len(bare), n - len(with_claim))))
            if extra:
                conn.execute(
                    insert(C),
                    [
                        {
                            "rebuttal_id": row.id,
                            "framework": rng.choice(frameworks),
                            "direction": "supports" if row.kind == "concede" else "challenges",
                            "text": f"The position overlooks that {rng.choice(CLAIMS)}.",
                            "ordinal": 0,
                        }
                        for row in extra
                    ],
                )

            # A few hidden posts (never the signed-in student's own position).
            mine = positions[0][0]
            hidden_p = rng.sample([p for p, _, _ in positions if p != mine], max(1, n // 200))
            hidden_r = rng.sample([r.id for r in rebuttals], max(1, 3 * n // 200))
            for table, ids in ((P, hidden_p), (R, hidden_r)):
                conn.execute(
                    update(table)
                    .where(table.c.id.in_(ids))
                    .values(hidden_at=now, hidden_reason="Off-topic", hidden_by_id=faculty)
                )
            scale.hidden_positions, scale.hidden_rebuttals = len(hidden_p), len(hidden_r)

            # Exemplary marks: n / 50 standing, on positions and rebuttals, one of them on a
            # hidden post and one more removed.
            criteria = [c.value for c in Criterion]
            off_p, off_r = set(hidden_p), set(hidden_r)
            shown_p = [p for p, _, _ in positions if p not in off_p]
            shown_r = [r.id for r in rebuttals if r.id not in off_r]
            count = max(2, n // 50)
            marked_p = rng.sample(shown_p, count * 3 // 5)
            marked_r = rng.sample(shown_r, count - len(marked_p))
            marks = [{"position_id": p, "rebuttal_id": None} for p in marked_p]
            marks += [{"position_id": None, "rebuttal_id": r} for r in marked_r]
            marks.append({"position_id": hidden_p[0], "rebuttal_id": None})
            rng.shuffle(marks)
            conn.execute(
                insert(M),
                [
                    {
                        **mark,
                        "discussion_id": did,
                        "marked_by_id": faculty,
                        "note": rng.choice(NOTES),
                        "criteria": rng.sample(criteria, rng.randint(1, 3)),
                        "created_at": now - timedelta(hours=len(marks) - i),
                        "removed_at": now if i == 0 else None,
                        "removed_by_id": faculty if i == 0 else None,
                    }
                    for i, mark in enumerate(marks)
                ],
            )
            scale.marks = len(marks) - 1

            # Stances: an initial one for 90% of students (some recorded twice, the latest
            # counts), a final one for 80%, a quarter of them moved.
            base = now - timedelta(days=3)
            first: list[dict[str, Any]] = []
            again: list[dict[str, Any]] = []
            final: list[dict[str, Any]] = []
            for student, option in own_option.items():
                start = option
                if rng.random() < 0.9:
                    start = option if rng.random() < 0.8 else rng.choice(options)
                    row = {"discussion_id": did, "account_id": student, "moment": "initial"}
                    if rng.random() < 0.1:
                        first.append({**row, "option_key": rng.choice(options)})
                        again.append({**row, "option_key": start})
                    else:
                        first.append({**row, "option_key": start})
                if rng.random() < 0.8:
                    end = start if rng.random() < 0.75 else rng.choice(options)
                    final.append(
                        {
                            "discussion_id": did,
                            "account_id": student,
                            "moment": "final",
                            "option_key": end,
                        }
                    )
            for offset, rows in enumerate((first, again, final)):
                if rows:
                    moment = base + timedelta(days=offset)
                    conn.execute(insert(S), [{**r, "recorded_at": moment} for r in rows])
            scale.initial, scale.final = len(first), len(final)

            scale.rebuttal_claims = conn.scalar(
                select(func.count())
                .select_from(C.join(R, R.c.id == C.c.rebuttal_id))
                .where(R.c.discussion_id == did)
            )
            scale.claims = scale.rebuttal_claims + conn.scalar(
                select(func.count())
                .select_from(C.join(P, P.c.id == C.c.position_id))
                .where(P.c.discussion_id == did)
            )
        if engine.dialect.name == "postgresql":
            # Planner statistics, as autovacuum keeps them for tables this size in service
            # (unanalysed, the fresh tables get plans that take close to a minute).
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    scale.seconds = time.perf_counter() - started
    return scale


# ---- in-process: statements and timings ---------------------------------------------------

# The machine may be shared: the scales' warm timings and wrk runs are interleaved in rounds,
# so a busy spell slows every scale alike rather than one of them.


@dataclass
class InProcess:
    warm: _Counted = field(default_factory=_Counted)
    cold: _Counted = field(default_factory=_Counted)
    warm_ms: list[float] = field(default_factory=list)
    cold_ms: list[float] = field(default_factory=list)
    # CPU time of this process (client and app threads): what a busy machine disturbs least.
    warm_cpu: list[float] = field(default_factory=list)
    cold_cpu: list[float] = field(default_factory=list)
    body: bytes = b""


def summary_path(scale: Scale) -> str:
    return f"/api/v1/discussions/{scale.seeded.discussion_id}/summary"


def api_headers(scale: Scale) -> dict[str, str]:
    return {"Authorization": f"Bearer {scale.seeded.token}"}


class Probe:
    """One scale's app in-process: requests the summary, counts statements, bumps."""

    def __init__(self, scale: Scale, stack: contextlib.ExitStack) -> None:
        from fastapi.testclient import TestClient
        from sqlalchemy import event

        from ethicsforum.main import create_app

        self.scale = scale
        self.app = create_app(settings_for(scale.url))
        self.seen: list[str] = []
        event.listen(self.app.state.engine, "before_cursor_execute", self.counter)
        stack.callback(self.app.state.engine.dispose)
        self.client = stack.enter_context(TestClient(self.app, follow_redirects=False))
        self.path, self.headers = summary_path(scale), api_headers(scale)

    def counter(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.seen.append(statement)

    def get(self) -> bytes:
        response = self.client.get(self.path, headers=self.headers)
        if response.status_code != 200:
            sys.exit(f"{self.path} answered {response.status_code} in-process")
        return response.content

    def timed(self) -> tuple[float, float]:
        """Wall-clock and CPU milliseconds of one request."""
        began, cpu = time.perf_counter(), time.process_time()
        self.get()
        return (time.perf_counter() - began) * 1000, (time.process_time() - cpu) * 1000

    def bump(self) -> None:
        from sqlalchemy import text

        with self.app.state.engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE discussion SET summary_generation = summary_generation + 1 "
                    "WHERE id = :id"
                ),
                {"id": self.scale.seeded.discussion_id},
            )


def in_process(
    scales: list[Scale], warm: int, cold: int, cold_seconds: float
) -> dict[int, InProcess]:
    results = {scale.factor: InProcess() for scale in scales}
    with contextlib.ExitStack() as stack:
        probes = [Probe(scale, stack) for scale in scales]
        for probe in probes:
            result = results[probe.scale.factor]
            result.body = probe.get()  # computes and caches
            probe.seen.clear()
            if probe.get() != result.body:
                sys.exit("a cached summary differs from the one just computed")
            result.warm = _Counted(statements=list(probe.seen), bytes=len(result.body))
            probe.bump()
            probe.seen.clear()
            if probe.get() != result.body:
                sys.exit("a recomputed summary differs from the cached one")
            result.cold = _Counted(statements=list(probe.seen), bytes=len(result.body))
        batch = 10
        for _ in range(max(1, warm // batch)):
            for probe in probes:
                result = results[probe.scale.factor]
                for _ in range(batch):
                    wall, cpu = probe.timed()
                    result.warm_ms.append(wall)
                    result.warm_cpu.append(cpu)
        for probe in probes:
            result = results[probe.scale.factor]
            deadline = time.monotonic() + cold_seconds
            for _ in range(cold):
                probe.bump()
                wall, cpu = probe.timed()
                result.cold_ms.append(wall)
                result.cold_cpu.append(cpu)
                if len(result.cold_ms) >= 5 and time.monotonic() > deadline:
                    break  # slow enough that a few samples tell the story
            result.warm.ms = statistics.median(result.warm_ms)
            result.cold.ms = statistics.median(result.cold_ms)
    return results


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# ---- under load ---------------------------------------------------------------------------


@dataclass
class Loaded:
    ours: Load
    floor: Load
    bytes: int


def serve(scale: Scale, workers: int, tmp: Path, stack: contextlib.ExitStack) -> tuple[str, str]:
    """The app on this scale's database, and the floor with its summary's bytes: two URLs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETHICSFORUM_")}
    env.update(
        ETHICSFORUM_DATABASE_URL=scale.url,
        ETHICSFORUM_SECRET_KEY=SECRET_KEY,
        ETHICSFORUM_RATE_LIMITS="off",
        ETHICSFORUM_CASES_DIR=str(REPO / "cases"),
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(EF), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    stack.callback(stop, server, group=True)
    wait_for(base + "/healthz", server)
    url = base + summary_path(scale)
    for _ in range(workers * 4):  # every worker computes and caches its summary
        response = httpx.get(url, headers=api_headers(scale), timeout=300)
        if response.status_code != 200:
            sys.exit(f"{url} answered {response.status_code}")
    body = tmp / f"floor-body-{scale.factor}"
    body.write_bytes(response.content)
    floor_port = free_port()
    floor = subprocess.Popen(
        [sys.executable, "-c", FLOOR, str(body), response.headers["content-type"]]
        + [str(floor_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stack.callback(stop, floor)
    wait_for(f"http://127.0.0.1:{floor_port}/", floor)
    return url, f"http://127.0.0.1:{floor_port}{summary_path(scale)}"


def under_load(
    scales: list[Scale], workers: int, seconds: int, rounds: int, tmp: Path
) -> dict[int, Loaded]:
    """wrk against every scale and its floor, interleaved; per target the best round."""
    best: dict[int, Loaded] = {}
    with contextlib.ExitStack() as stack:
        urls = {scale.factor: serve(scale, workers, tmp, stack) for scale in scales}
        for _ in range(rounds):
            for scale in scales:
                ours_url, floor_url = urls[scale.factor]
                ours = measure(ours_url, seconds, api_headers(scale))
                bare = measure(floor_url, seconds, {})
                size = (tmp / f"floor-body-{scale.factor}").stat().st_size
                seen = best.setdefault(scale.factor, Loaded(ours, bare, size))
                if ours.rps > seen.ours.rps:
                    seen.ours = ours
                if bare.rps > seen.floor.rps:
                    seen.floor = bare
    return best


# ---- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=1000, help="positions (= students) at x1")
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10], help="multiples")
    parser.add_argument("--seconds", type=int, default=10, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="wrk runs per target, best kept")
    parser.add_argument("--warm", type=int, default=200, help="timed warm requests per scale")
    parser.add_argument("--cold", type=int, default=30, help="timed cold requests per scale")
    parser.add_argument(
        "--cold-seconds", type=float, default=60, help="stop timing cold requests after (min 5)"
    )
    parser.add_argument("--database-url", help="PostgreSQL; default: SQLite in a temp folder")
    parser.add_argument("--reset", action="store_true", help="empty an existing database")
    parser.add_argument("--workers", type=int, default=1, help="server workers (default 1)")
    parser.add_argument("--no-wrk", action="store_true", help="only the in-process figures")
    parser.add_argument("--show-sql", action="store_true", help="list the statements")
    args = parser.parse_args()
    scales = sorted(set(args.scales))
    if args.base < 100 or scales[0] < 1:
        parser.error("need --base >= 100 and scales >= 1")
    if not args.no_wrk and not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk), or pass --no-wrk")
    postgres = bool(args.database_url)
    if postgres and not args.database_url.startswith("postgresql"):
        sys.exit("--database-url takes postgresql+psycopg://USER@HOST/DB (SQLite is the default)")
    if postgres:
        from sqlalchemy.engine import make_url

        given = make_url(args.database_url)
    for key in [k for k in os.environ if k.startswith("ETHICSFORUM_")]:
        del os.environ[key]  # the in-process app sees what the server sees

    tmp = Path(tempfile.mkdtemp(prefix="bench-summary-"))
    seeded: list[Scale] = []
    measured: dict[int, InProcess] = {}
    loaded: dict[int, Loaded] = {}
    try:
        # Every scale seeded first, so the measurements of all scales run close together.
        for factor in scales:
            if postgres:
                url = given.set(database=f"{given.database}_x{factor}").render_as_string(
                    hide_password=False
                )
                fresh_postgres(url, reset=args.reset)
            else:
                url = f"sqlite:///{tmp / f'scale-{factor}.db'}"
                fresh_sqlite(url, reset=False)
            scale = seed(url, factor, args.base * factor)
            seeded.append(scale)
            print(f"  seeded x{factor} in {scale.seconds:.1f}s", file=sys.stderr)
        measured = in_process(seeded, args.warm, args.cold, args.cold_seconds)
        print("  measured in-process", file=sys.stderr)
        if not args.no_wrk:
            loaded = under_load(seeded, args.workers, args.seconds, args.rounds, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    tool = (
        "no load (--no-wrk)"
        if args.no_wrk
        else f"{' '.join(WRK)}, {args.seconds}s a run, best of {args.rounds}"
    )
    kind = (
        "PostgreSQL, " + ", ".join(shown(s.url) for s in seeded)
        if postgres
        else "SQLite, temporary files"
    )
    print("ethicsforum summary benchmark: GET /api/v1/discussions/{id}/summary")
    for s in seeded:
        print(
            f"  x{s.factor:<3}  {s.seeded.positions:,} positions, {s.seeded.rebuttals:,} "
            f"rebuttals, {s.claims:,} claims ({s.rebuttal_claims:,} on rebuttals), "
            f"{s.seeded.positions:,} students; hidden {s.hidden_positions} positions and "
            f"{s.hidden_rebuttals} rebuttals; {s.marks} exemplary marks; stances "
            f"{s.initial:,} initial, {s.final:,} final; seeded in {s.seconds:.1f}s"
        )
    print(f"  database  {kind}")
    print(
        f"  server    ethicsforum serve, {args.workers} worker{'s' if args.workers > 1 else ''}"
        ", rate limits off; floor: bare Starlette app, same bytes, one worker"
    )
    print(f"  load      {tool}")
    print("  client    a student of the cohort, bearer token")

    print(
        "\nIn-process (TestClient): SQL statements per request; warm = cached, cold = after "
        "bumping summary_generation; wall-clock ms p50 and p99 over n requests, and the median "
        "CPU ms"
    )
    print(
        f"{'scale':<6} {'bytes':>9} {'SQL warm':>8} {'SQL cold':>8} {'n':>4} {'warm p50':>9} "
        f"{'warm p99':>9} {'warm cpu':>9} {'n':>3} {'cold p50':>9} {'cold p99':>9} {'cold cpu':>9}"
    )
    for s in seeded:
        m = measured[s.factor]
        print(
            f"{'x' + str(s.factor):<6} {len(m.body):>9,} {len(m.warm.statements):>8} "
            f"{len(m.cold.statements):>8} {len(m.warm_ms):>4} {pct(m.warm_ms, 50):>9.1f} "
            f"{pct(m.warm_ms, 99):>9.1f} {pct(m.warm_cpu, 50):>9.1f} {len(m.cold_ms):>3} "
            f"{pct(m.cold_ms, 50):>9.1f} {pct(m.cold_ms, 99):>9.1f} {pct(m.cold_cpu, 50):>9.1f}"
        )
    if loaded:
        print(
            f"\nUnder load (wrk, best of {args.rounds} interleaved runs; warm: the summary stays "
            f"cached; budget {FLOOR_BUDGET:.0%} of the floor)"
        )
        print(
            f"{'scale':<6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'floor req/s':>11} "
            f"{'floor p99':>9} {'ratio':>7}"
        )
        for s in seeded:
            lo = loaded[s.factor]
            ratio = lo.ours.rps / lo.floor.rps
            flag = "" if ratio >= FLOOR_BUDGET else "  <-- under budget"
            print(
                f"{'x' + str(s.factor):<6} {lo.ours.rps:>8.0f} {lo.ours.p50_ms:>8.1f} "
                f"{lo.ours.p99_ms:>8.1f} {lo.floor.rps:>11.0f} {lo.floor.p99_ms:>9.1f} "
                f"{ratio:>7.1%}{flag}"
            )
            for who, load in (("ours", lo.ours), ("floor", lo.floor)):
                if load.socket_errors:
                    print(f"  note: x{s.factor} ({who}): socket errors {load.socket_errors}")

    failed = []
    for s in seeded:
        m = measured[s.factor]
        for name, counted in (("warm", m.warm), ("cold", m.cold)):
            if len(counted.statements) > SQL_BUDGET:
                failed.append(f"x{s.factor} {name}: {len(counted.statements)} statements")
    if len(seeded) > 1:
        small, big = seeded[0], seeded[-1]
        a, b = measured[small.factor], measured[big.factor]
        label = f"x{big.factor}/x{small.factor}"
        print(f"\nGrowth {label}")

        def growth(name: str, ratio: float, *, budgeted: bool) -> None:
            over = "  <-- over budget" if budgeted and ratio > WARM_GROWTH_BUDGET else ""
            limit = f"(budget <= {WARM_GROWTH_BUDGET}x)" if budgeted else "(no budget)"
            print(f"  {name:<34} {ratio:>6.2f}x {limit}{over}")

        growth("warm p50, in-process", pct(b.warm_ms, 50) / pct(a.warm_ms, 50), budgeted=True)
        growth("warm CPU p50", pct(b.warm_cpu, 50) / pct(a.warm_cpu, 50), budgeted=True)
        if loaded:
            la, lb = loaded[small.factor], loaded[big.factor]
            growth("warm p50, under load (wrk)", lb.ours.p50_ms / la.ours.p50_ms, budgeted=True)
            growth("warm req/s drop, under load (wrk)", la.ours.rps / lb.ours.rps, budgeted=True)
        growth("cold p50, in-process", pct(b.cold_ms, 50) / pct(a.cold_ms, 50), budgeted=False)
        growth("cold p99, in-process", pct(b.cold_ms, 99) / pct(a.cold_ms, 99), budgeted=False)
        growth("cold CPU p50", pct(b.cold_cpu, 50) / pct(a.cold_cpu, 50), budgeted=False)
        growth("response bytes", len(b.body) / len(a.body), budgeted=False)
        for name in ("warm", "cold"):
            x, y = getattr(a, name), getattr(b, name)
            if len(x.statements) != len(y.statements):
                failed.append(f"{name} statements grow: {len(x.statements)} -> {len(y.statements)}")
            if args.show_sql or len(x.statements) != len(y.statements):
                print_statements(
                    f"summary, {name}", x, y, small.seeded.positions, big.seeded.positions
                )
    elif args.show_sql:
        for name in ("warm", "cold"):
            m = measured[seeded[0].factor]
            c = getattr(m, name)
            print_statements(f"summary, {name}", c, c, seeded[0].seeded.positions, 0)
    if failed:
        print(f"\nFAIL: over the budget of {SQL_BUDGET} statements or growing: {'; '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
