"""Benchmark: one big discussion's pages and positions API against a floor, with SQL counts.

Seeds ONE anonymous-to-peers discussion in its rebuttal phase: N students each with a
position (3 claims each) and 3 x N rebuttals (anchored to claims, replies to rebuttals, most
of them on a few contested positions, the rest 1 to 3 per position), written straight into a
migrated database with bulk inserts. Then, for the discussion page, the most-rebutted
position's page and the positions API (all positions, and ?page=1&per_page=50):

* counts SQL statements per request in-process (create_app and a TestClient, after one
  warm-up request) at a small size and at N, and exits 1 if any target's count differs
  between the two sizes (statements that grow with size, an N+1);
* unless --no-wrk, starts `ethicsforum serve` on the big database (rate limits off; one
  worker on SQLite, four on PostgreSQL) and, per target, a bare Starlette "floor" app that
  serves the very same bytes, and measures both with `wrk -t2 -c16 --latency`: requests
  per second, p50 and p99 latency, response bytes and the ratio to the floor.

    .venv/bin/python bench/discussion.py [--positions 1000] [--small 100] [--seconds 10]
        [--database-url postgresql+psycopg://USER@HOST/DB [--reset]] [--workers W]
        [--no-wrk] [--show-sql]

The default database is a SQLite file in a temporary directory, removed afterwards. A
PostgreSQL database is created when missing; one that exists is refused unless --reset is
given, which empties it through the migrations (downgrade base, upgrade head). On
PostgreSQL the small size is seeded into that same database first, then it is reset and
filled at the full size, and left filled when the script ends.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
EF = REPO / ".venv" / "bin" / "ethicsforum"
PASSWORD = "bench-password-2026"
SECRET_KEY = "bench-secret-key-0123456789"
CASE_SLUG = "duty-to-warn-threat"
MAX_DEPTH = 7  # replies stop nesting here; the page shows 4 levels and links the rest
INSERT_CHUNK = 1000  # rows per INSERT ... RETURNING call (see _insert)
WRK = ["wrk", "-t2", "-c16", "--latency", "--timeout", "10s"]


# ---- processes ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited early (code {proc.returncode})")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    sys.exit(f"no answer from {url}")


def stop(proc: subprocess.Popen[bytes], *, group: bool = False) -> None:
    if proc.poll() is not None:
        return
    try:
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        if group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait()


FLOOR = textwrap.dedent(
    """
    import sys
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route
    import uvicorn
    body = open(sys.argv[1], "rb").read()
    kind = sys.argv[2]
    async def page(request):
        return Response(body, media_type=kind)
    app = Starlette(routes=[Route("/{path:path}", page)])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
    """
)


# ---- wrk ----------------------------------------------------------------------------------


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    socket_errors: str | None


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _percentile(out: str, pct: str) -> float:
    match = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s|m|h)\s*$", out, re.MULTILINE)
    if not match:
        sys.exit(f"no {pct}% line in wrk's output:\n{out}")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def measure(url: str, seconds: int, headers: dict[str, str]) -> Load:
    args = [*WRK, f"-d{seconds}s"]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not rps or "Non-2xx" in out:
        sys.exit(f"wrk failed or saw errors for {url}:\n{out}")
    errors = re.search(r"Socket errors:\s*(.+)", out)
    return Load(
        rps=float(rps.group(1)),
        p50_ms=_percentile(out, "50"),
        p99_ms=_percentile(out, "99"),
        socket_errors=errors.group(1).strip() if errors else None,
    )


# ---- databases ----------------------------------------------------------------------------


def settings_for(url: str) -> Any:
    from ethicsforum.config import Settings

    return Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=url, secret_key=SECRET_KEY, rate_limits=False
    )


def shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def fresh_sqlite(url: str, *, reset: bool) -> None:
    from sqlalchemy.engine import make_url

    path = Path(make_url(url).database or "")
    if not path.name or str(path) == ":memory:":
        sys.exit("a SQLite URL must name a file: sqlite:///path/to/bench.db")
    files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    if path.exists() and not reset:
        sys.exit(f"{path} exists; pass --reset to delete it and start afresh")
    for existing in files:
        existing.unlink(missing_ok=True)


def fresh_postgres(url: str, *, reset: bool) -> None:
    """Create the database when missing; empty one that exists only when told to."""
    from alembic import command
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    from ethicsforum.migrate import alembic_config

    target = make_url(url)
    probe = create_engine(target)
    try:
        with probe.connect():
            exists = True
    except OperationalError as exc:
        if "does not exist" not in str(exc.orig):
            sys.exit(f"cannot reach {shown(url)}: {str(exc.orig).strip().splitlines()[0]}")
        exists = False
    finally:
        probe.dispose()
    if not exists:
        admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                name = admin.dialect.identifier_preparer.quote(target.database or "")
                conn.execute(text(f"CREATE DATABASE {name}"))
        except OperationalError as exc:
            sys.exit(f"cannot create {shown(url)}: {str(exc.orig).strip().splitlines()[0]}")
        finally:
            admin.dispose()
        return
    if not reset:
        sys.exit(
            f"the database {target.database!r} exists; pass --reset to drop and recreate all "
            "its tables (migrations downgrade base, upgrade head)"
        )
    command.downgrade(alembic_config(settings_for(url)), "base")


# ---- seeding ------------------------------------------------------------------------------

SENTENCES = [
    "The patient described a specific plan, a named person and access to the means.",
    "Confidentiality is the default, but the GMC allows disclosure in the public interest.",
    "A serious and imminent risk of harm to an identifiable person changes the balance.",
    "Disclosing too early could end the therapeutic relationship that keeps him safer.",
    "Venting is common in therapy; treating every threat as a plan would chill honesty.",
    "Alcohol makes impulsive violence more likely and his drinking has recently increased.",
    "The ex-partner cannot protect herself from a risk she has not been told about.",
    "Consulting a senior colleague and the trust's Caldicott guardian is proportionate.",
    "Whatever is disclosed should be the minimum needed to prevent the harm.",
    "He should be told about the disclosure unless telling him would increase the risk.",
    "Tarasoff is persuasive here, but English law frames this as a power, not a duty.",
    "A Mental Health Act assessment answers a different question from the risk to her.",
    "Documenting the reasoning matters as much as the decision itself.",
    "His consent would resolve the dilemma, so asking first costs little if time allows.",
    "The police can act on specific information; a vague worry helps nobody.",
    "Trust in mental health services across the community depends on confidentiality.",
    "Justice asks whose interests count, and hers count at least as much as his.",
    "Autonomy does not extend to a right to have threats against others kept secret.",
]
CLAIMS = [
    "the risk to an identifiable third party is serious and imminent",
    "the therapeutic relationship is the best protection in the long run",
    "disclosure must be proportionate and limited to what prevents harm",
    "he was told about the limits of confidentiality at the first appointment",
    "the decision should not rest on one clinician's judgement alone",
    "a credible threat overrides the duty of confidence in the public interest",
    "his capacity and insight are in doubt while he is drinking heavily",
    "the ex-partner has a right to know about a risk to her life",
]


def _paragraphs(rng: random.Random, count: int) -> str:
    parts = []
    for index in range(count):
        sentences = rng.sample(SENTENCES, rng.randint(2, 3))
        if index == 0:
            sentences[0] = f"**{sentences[0]}**"
        parts.append(" ".join(sentences))
    if rng.random() < 0.35:
        parts.append("\n".join(f"- {c[0].upper()}{c[1:]}." for c in rng.sample(CLAIMS, 2)))
    if rng.random() < 0.2:
        parts.append(
            "See [the GMC's guidance](https://www.gmc-uk.org/professional-standards) and "
            "_W v Egdell_."
        )
    return "\n\n".join(parts)


@dataclass
class Seeded:
    url: str
    positions: int
    rebuttals: int
    discussion_id: int
    busy_position_id: int
    busy_rebuttals: int
    deepest: int
    cookie: str
    token: str
    seconds: float


def _insert(session: Any, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Bulk INSERT ... RETURNING id, ids in the order of the rows.

    In chunks: SQLAlchemy joins the RETURNING rows of each batch onto those before it, which
    grows with the square of the rows in one call (most of a minute at 10,000 positions).
    """
    from sqlalchemy import insert

    statement = insert(model).returning(model.id, sort_by_parameter_order=True)
    ids: list[int] = []
    for start in range(0, len(rows), INSERT_CHUNK):
        ids += session.scalars(statement, rows[start : start + INSERT_CHUNK])
    return ids


def _allocate(rng: random.Random, n: int) -> list[int]:
    """Rebuttals per position: two thirds on a few contested positions, 1 to 3 on others."""
    total = 3 * n
    counts = [0] * n
    order = list(range(n))
    rng.shuffle(order)
    contested, rest = order[: max(3, n // 50)], order[max(3, n // 50) :]
    weights = [1 / (rank + 1) ** 0.5 for rank in range(len(contested))]
    share = 2 * n
    for index, weight in zip(contested, weights, strict=True):
        counts[index] = int(share * weight / sum(weights))
    budget = total - sum(counts)
    for index in rest:
        if budget <= 0:
            break
        counts[index] = min(budget, rng.randint(1, 3))
        budget -= counts[index]
    counts[contested[0]] += budget  # whatever rounding left over
    return counts


def seed(url: str, n: int) -> Seeded:
    """Fill a migrated database with one discussion of n positions and 3n rebuttals."""
    from argon2 import PasswordHasher
    from sqlalchemy import func, update
    from sqlmodel import col, select

    from ethicsforum import migrate
    from ethicsforum.accounts import service as accounts_service
    from ethicsforum.accounts import sessions
    from ethicsforum.accounts.models import Account, Cohort, Membership
    from ethicsforum.cases import service as cases_service
    from ethicsforum.cases.models import CaseVersion, EthicsCase
    from ethicsforum.db import make_engine, utcnow, write_session
    from ethicsforum.discussions.models import Claim, Discussion, Position, Rebuttal
    from ethicsforum.markdown import render_markdown

    started = time.perf_counter()
    rng = random.Random(2026)
    settings = settings_for(url)
    migrate.upgrade(settings)
    engine = make_engine(settings)
    try:
        with write_session(engine) as session:
            imported = cases_service.import_directory(
                session,
                paths=sorted((REPO / "cases").glob("*.md")),
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
            options = [str(o["key"]) for o in version.options]
            labels = {str(o["key"]): str(o["label"]) for o in version.options}
            frameworks = list(version.frameworks)

            base = utcnow() - timedelta(days=3)
            hashed = PasswordHasher().hash(PASSWORD)  # one hash, reused by every account
            professions = ["medicine", "nursing", "pharmacy", "physiotherapy", None]
            faculty_id = _insert(
                session,
                Account,
                [
                    {
                        "username": "bench-faculty",
                        "display_name": "Dr Bench Faculty",
                        "role": "faculty",
                        "profession": None,
                        "password_hash": hashed,
                        "created_at": base,
                    }
                ],
            )[0]
            students = _insert(
                session,
                Account,
                [
                    {
                        "username": f"bench-student-{i:05d}",
                        "display_name": f"Bench Student {i + 1}",
                        "role": "student",
                        "profession": professions[i % len(professions)],
                        "password_hash": hashed,
                        "created_at": base,
                    }
                    for i in range(n)
                ],
            )
            cohort_id = _insert(
                session,
                Cohort,
                [
                    {
                        "name": "Bench cohort: clinical ethics seminar",
                        "join_code": secrets.token_hex(6).upper(),
                        "created_by_id": faculty_id,
                        "created_at": base,
                    }
                ],
            )[0]
            _insert(
                session,
                Membership,
                [
                    {
                        "cohort_id": cohort_id,
                        "account_id": account_id,
                        "role": role,
                        "joined_at": base,
                    }
                    for account_id, role in [(faculty_id, "faculty")]
                    + [(s, "student") for s in students]
                ],
            )
            discussion = Discussion(
                case_id=case.id or 0,
                case_version=case.current_version,
                cohort_id=cohort_id,
                title=version.title,
                phase="rebuttals",
                anonymity="anonymous_to_peers",
                post_first=False,
                early_rebuttals=False,
                pseudonym_key=secrets.token_hex(32),
                created_by_id=faculty_id,
                created_at=base + timedelta(minutes=30),
                phase_changed_at=base + timedelta(days=1, minutes=-1),
            )
            session.add(discussion)
            session.flush()
            discussion_id = discussion.id or 0

            # Positions, each with rebuttal_count already matching the rebuttals below.
            counts = _allocate(rng, n)
            position_rows = []
            for i, author in enumerate(students):
                option = rng.choice(options)
                body = _paragraphs(rng, rng.randint(2, 4))
                position_rows.append(
                    {
                        "discussion_id": discussion_id,
                        "author_id": author,
                        "option_key": option,
                        "summary": f"{labels[option]}: {rng.choice(CLAIMS)}."[:280],
                        "body": body,
                        "body_html": render_markdown(body),
                        "rebuttal_count": counts[i],
                        "created_at": base + timedelta(hours=1, seconds=30 * i),
                    }
                )
            positions = _insert(session, Position, position_rows)
            claim_rows = [
                {
                    "position_id": position_id,
                    "framework": framework,
                    "direction": "challenges"
                    if ordinal == 2 and rng.random() < 0.4
                    else "supports",
                    "text": f"{framework.title()}: {rng.choice(CLAIMS)}.",
                    "ordinal": ordinal,
                }
                for position_id in positions
                for ordinal, framework in enumerate(rng.sample(frameworks, 3))
            ]
            claim_ids = _insert(session, Claim, claim_rows)
            claims_of = {
                position_id: claim_ids[3 * i : 3 * i + 3] for i, position_id in enumerate(positions)
            }

            # Rebuttals in one timeline: each picks its position, then a claim to anchor to,
            # an earlier rebuttal of the same position to reply to, or neither.
            slots = [i for i, count in enumerate(counts) for _ in range(count)]
            rng.shuffle(slots)
            rebuttal_rows: list[dict[str, Any]] = []
            parents: dict[int, int] = {}  # row index -> parent row index
            earlier: dict[int, list[int]] = {}
            kinds = ["counter", "challenge", "question", "concede"]
            start = base + timedelta(days=1)
            for j, p in enumerate(slots):
                author = students[p]
                while author == students[p]:
                    author = rng.choice(students)
                row: dict[str, Any] = {
                    "discussion_id": discussion_id,
                    "position_id": positions[p],
                    "parent_id": None,
                    "claim_id": None,
                    "author_id": author,
                    "kind": rng.choices(kinds, weights=[4, 3, 2, 1])[0],
                    "depth": 0,
                    "created_at": start + timedelta(seconds=20 * j),
                }
                mine = earlier.setdefault(p, [])
                candidates = [r for r in mine[-8:] if rebuttal_rows[r]["depth"] < MAX_DEPTH]
                roll = rng.random()
                if candidates and roll < 0.4:
                    parent = rng.choice(candidates)
                    parents[j] = parent
                    row["depth"] = rebuttal_rows[parent]["depth"] + 1
                elif roll < 0.75:
                    row["claim_id"] = rng.choice(claims_of[positions[p]])
                body = _paragraphs(rng, rng.randint(1, 2))
                row["body"] = body
                row["body_html"] = render_markdown(body)
                rebuttal_rows.append(row)
                mine.append(j)
            rebuttal_ids = _insert(session, Rebuttal, rebuttal_rows)
            if parents:
                session.execute(
                    update(Rebuttal),
                    [
                        {"id": rebuttal_ids[child], "parent_id": rebuttal_ids[parent]}
                        for child, parent in parents.items()
                    ],
                )
            # About one rebuttal in five brings a claim of its own.
            _insert(
                session,
                Claim,
                [
                    {
                        "rebuttal_id": rebuttal_id,
                        "framework": rng.choice(frameworks),
                        "direction": "challenges",
                        "text": f"On the contrary, {rng.choice(CLAIMS)}.",
                        "ordinal": 0,
                    }
                    for rebuttal_id in rebuttal_ids
                    if rng.random() < 0.2
                ],
            )
            session.commit()

            stored = dict(
                session.exec(
                    select(Rebuttal.position_id, func.count())
                    .where(Rebuttal.discussion_id == discussion_id)
                    .group_by(col(Rebuttal.position_id))
                ).all()
            )
            recorded = dict(
                session.exec(
                    select(Position.id, Position.rebuttal_count).where(
                        Position.discussion_id == discussion_id
                    )
                ).all()
            )
            if any(stored.get(pid, 0) != count for pid, count in recorded.items()):
                sys.exit("seeding bug: rebuttal_count does not match the rebuttals")
            busiest = max(range(n), key=lambda i: counts[i])

            student = session.get(Account, students[0])
            if student is None:
                sys.exit("seeding bug: the signed-in student is missing")
            cookie = sessions.start(
                session, account=student, absolute=timedelta(hours=2), user_agent=None
            )
            token, _ = accounts_service.issue_token(session, account=student)
    finally:
        engine.dispose()
    return Seeded(
        url=url,
        positions=n,
        rebuttals=len(rebuttal_rows),
        discussion_id=discussion_id,
        busy_position_id=positions[busiest],
        busy_rebuttals=counts[busiest],
        deepest=max(r["depth"] for r in rebuttal_rows),
        cookie=cookie,
        token=token,
        seconds=time.perf_counter() - started,
    )


# ---- targets and statement counts ---------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    path: str
    headers: dict[str, str]


def targets(seeded: Seeded) -> list[Target]:
    # A browser has the anti-forgery cookie too, so no Set-Cookie on every answer.
    page = {"Cookie": f"ef_session={seeded.cookie}; ef_csrf={secrets.token_urlsafe(32)}"}
    api = {"Authorization": f"Bearer {seeded.token}"}
    d = seeded.discussion_id
    return [
        Target("discussion page", f"/discussions/{d}", page),
        Target("busy position page", f"/positions/{seeded.busy_position_id}", page),
        Target("positions API (all)", f"/api/v1/discussions/{d}/positions", api),
        Target("positions API page", f"/api/v1/discussions/{d}/positions?page=1&per_page=50", api),
    ]


@dataclass
class Counted:
    statements: list[str] = field(default_factory=list)
    bytes: int = 0
    ms: float = 0.0


def count_statements(seeded: Seeded) -> dict[str, Counted]:
    """SQL statements of one request per target, after a warm-up; and its median time."""
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from ethicsforum.main import create_app

    app = create_app(settings_for(seeded.url))
    seen: list[str] = []

    def counter(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(app.state.engine, "before_cursor_execute", counter)
    results: dict[str, Counted] = {}
    try:
        with TestClient(app, follow_redirects=False) as client:
            for target in targets(seeded):

                def get(target: Target = target) -> httpx.Response:
                    response = client.get(target.path, headers=target.headers)
                    if response.status_code != 200:
                        sys.exit(f"{target.path} answered {response.status_code} in-process")
                    return response

                get()
                seen.clear()
                response = get()
                counted = Counted(statements=list(seen), bytes=len(response.content))
                times = []
                for _ in range(3):
                    began = time.perf_counter()
                    get()
                    times.append((time.perf_counter() - began) * 1000)
                counted.ms = statistics.median(times)
                results[target.name] = counted
    finally:
        app.state.engine.dispose()
    return results


def _grouped(statements: list[str]) -> Counter[str]:
    return Counter(" ".join(s.split())[:160] for s in statements)


def print_statements(name: str, small: Counted, full: Counted, n_small: int, n: int) -> None:
    a, b = _grouped(small.statements), _grouped(full.statements)
    print(f"\n  {name}: statements at N={n_small} | N={n}")
    for text_ in sorted(set(a) | set(b), key=lambda t: (-(b[t] or a[t]), t)):
        mark = "  " if a[text_] == b[text_] else "!!"
        print(f"  {mark} {a[text_]:>5} | {b[text_]:<5} {text_}")


# ---- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=1000, help="positions (= students)")
    parser.add_argument("--small", type=int, default=100, help="the small size for SQL counts")
    parser.add_argument("--seconds", type=int, default=10, help="per wrk run")
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--reset", action="store_true", help="empty an existing database")
    parser.add_argument("--workers", type=int, help="default 1 on SQLite, 4 on PostgreSQL")
    parser.add_argument("--no-wrk", action="store_true", help="only count SQL statements")
    parser.add_argument("--show-sql", action="store_true", help="list each target's statements")
    args = parser.parse_args()
    if not 4 <= args.small < args.positions:
        parser.error("need 4 <= --small < --positions")
    if not args.no_wrk and not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk), or pass --no-wrk")
    for key in [k for k in os.environ if k.startswith("ETHICSFORUM_")]:
        del os.environ[key]  # the in-process app sees what the server sees

    tmp = Path(tempfile.mkdtemp(prefix="bench-discussion-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    postgres = url.startswith("postgresql")
    if not postgres and not url.startswith("sqlite"):
        sys.exit("use sqlite:///FILE or postgresql+psycopg://USER@HOST/DB")
    workers = args.workers or (4 if postgres else 1)
    server: subprocess.Popen[bytes] | None = None
    floors: list[subprocess.Popen[bytes]] = []
    try:
        # The small size first: on PostgreSQL it shares the database, reset in between.
        if postgres:
            fresh_postgres(url, reset=args.reset)
            small_url = url
        else:
            fresh_sqlite(url, reset=args.reset)
            small_url = f"sqlite:///{tmp / 'small.db'}"
        small = seed(small_url, args.small)
        small_counts = count_statements(small)
        if postgres:
            fresh_postgres(url, reset=True)  # ours now: it holds the small seed
        full = seed(url, args.positions)
        full_counts = count_statements(full)

        tool = "no load (--no-wrk)" if args.no_wrk else f"{' '.join(WRK)}, {args.seconds}s a run"
        print("ethicsforum discussion benchmark")
        print(
            f"  sizes     N={args.small} and N={args.positions} positions (3 claims each, "
            f"3N rebuttals; seeded in {small.seconds:.1f}s and {full.seconds:.1f}s)"
        )
        print(
            f"  at N={args.positions}: discussion {full.discussion_id}, busiest position "
            f"{full.busy_position_id} with {full.busy_rebuttals} of {full.rebuttals} "
            f"rebuttals, replies up to depth {full.deepest}"
        )
        kind = "PostgreSQL" if postgres else "SQLite"
        where = shown(url) if args.database_url else "a file in a temporary folder"
        print(f"  database  {kind}, {where}")
        print(
            f"  server    ethicsforum serve, {workers} worker{'s' if workers > 1 else ''}, "
            "rate limits off; floor: bare Starlette app, same bytes, one worker"
        )
        print(f"  load      {tool}")
        print("  client    signed-in student (cookie) for pages, bearer token for the API")

        print(
            "\nSQL statements per request (in-process, after one warm-up request; ms: median of 3)"
        )
        ns, nf = f"N={args.small}", f"N={args.positions}"
        print(
            f"{'target':<20} {'SQL ' + ns:>10} {'SQL ' + nf:>11} "
            f"{'ms ' + ns:>10} {'ms ' + nf:>11} {'bytes ' + ns:>12} {'bytes ' + nf:>13}"
        )
        grew = []
        for target in targets(full):
            a, b = small_counts[target.name], full_counts[target.name]
            flag = "" if len(a.statements) == len(b.statements) else "  <-- grows"
            if flag:
                grew.append(target.name)
            print(
                f"{target.name:<20} {len(a.statements):>10} {len(b.statements):>11} "
                f"{a.ms:>10.1f} {b.ms:>11.1f} {a.bytes:>12,} {b.bytes:>13,}{flag}"
            )
        for target in targets(full):
            if args.show_sql or target.name in grew:
                print_statements(
                    target.name,
                    small_counts[target.name],
                    full_counts[target.name],
                    args.small,
                    args.positions,
                )

        if not args.no_wrk:
            env = {k: v for k, v in os.environ.items() if not k.startswith("ETHICSFORUM_")}
            env.update(
                ETHICSFORUM_DATABASE_URL=url,
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
            wait_for(base + "/healthz", server)
            print(f"\nLoad at N={args.positions} (ratio = req/s against the floor's)")
            print(
                f"{'target':<20} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'bytes':>11} "
                f"{'SQL/req':>7} {'floor req/s':>11} {'floor p99':>9} {'ratio':>7}"
            )
            notes = []
            for target in targets(full):
                response = httpx.get(base + target.path, headers=target.headers, timeout=60)
                if response.status_code != 200:
                    sys.exit(f"{target.path} answered {response.status_code}")
                body = tmp / "floor-body"
                body.write_bytes(response.content)
                floor_port = free_port()
                floor = subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        FLOOR,
                        str(body),
                        response.headers["content-type"],
                        str(floor_port),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                floors.append(floor)
                wait_for(f"http://127.0.0.1:{floor_port}/", floor)
                ours = measure(base + target.path, args.seconds, target.headers)
                bare = measure(f"http://127.0.0.1:{floor_port}{target.path}", args.seconds, {})
                stop(floor)
                for who, load in (("ours", ours), ("floor", bare)):
                    if load.socket_errors:
                        notes.append(f"{target.name} ({who}): socket errors {load.socket_errors}")
                print(
                    f"{target.name:<20} {ours.rps:>8.1f} {ours.p50_ms:>8.1f} "
                    f"{ours.p99_ms:>8.1f} {len(response.content):>11,} "
                    f"{len(full_counts[target.name].statements):>7} {bare.rps:>11.0f} "
                    f"{bare.p99_ms:>9.1f} {ours.rps / bare.rps:>7.1%}"
                )
            for note in notes:
                print(f"  note: {note}")
        if grew:
            print(f"\nFAIL: statements per request grow with size: {', '.join(grew)}")
            sys.exit(1)
    finally:
        if server is not None:
            stop(server, group=True)
        for floor in floors:
            stop(floor)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
