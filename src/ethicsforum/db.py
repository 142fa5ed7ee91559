"""Engines, sessions and the constraint naming convention shared by every model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, create_engine
from starlette.concurrency import run_in_threadpool

from ethicsforum.config import Settings

# Set before any model is imported so every constraint gets a predictable name; Alembic's
# batch mode on SQLite needs named constraints to alter tables later.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

WRITE_OPTION = "ethicsforum_write"
LISTEN_URL_OPTION = "ethicsforum_listen_url"


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be reached or opened."""


def make_engine(settings: Settings) -> Engine:
    """Build the engine for the configured URL, with SQLite tuned for safe concurrent use."""
    metadata()  # every table known, so foreign keys across domains resolve at flush
    url = make_url(settings.database_url)

    # The pool is never smaller than what may hold a connection at once (every request the
    # limiter lets in, plus the event streams' slots: Settings.pool_capacity), and a full
    # pool is answered 503 after a short wait (errors.py), never a 500 after 30 s.
    capacity = settings.pool_capacity
    if url.get_backend_name() == "sqlite":
        pool: dict[str, Any] = {}
        if url.database and url.database != ":memory:":
            # Pooled SQLite connections are cheap; keeping half open avoids reopening (and
            # re-running the pragmas) per request under load.
            pool = {
                "pool_size": capacity // 2,
                "max_overflow": capacity - capacity // 2,
                "pool_timeout": settings.pool_timeout_seconds,
            }
            from pathlib import Path

            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": settings.sqlite_busy_timeout_ms / 1000,
            },
            **pool,
        )
        _configure_sqlite(engine, settings)
        return engine
    pool_size = min(PG_POOL_SIZE, capacity)
    return create_engine(
        url,
        # A pooled connection is tested before use, so one the server (or PgBouncer, on a
        # restart) has closed is replaced instead of failing a request. psycopg is not in
        # autocommit mode, so the ping's SELECT 1 begins the transaction the request then
        # uses: through PgBouncer it costs a round trip, not a second server connection.
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=capacity - pool_size,
        pool_timeout=settings.pool_timeout_seconds,
        connect_args=pg_connect_args(settings),
        # Kept for listen_url(): where this engine's process LISTENs.
        execution_options={LISTEN_URL_OPTION: settings.listen_database_url or ""},
    )


def pg_connect_args(settings: Settings) -> dict[str, Any]:
    """psycopg's connection arguments, for the server itself or for PgBouncer in front of it."""
    if settings.through_pooler:
        # PgBouncer in transaction mode gives each transaction whichever server connection
        # is free. psycopg prepares a statement on the server after its fifth execution on a
        # connection (prepare_threshold); a later transaction on another server then fails
        # with "prepared statement _pg3_0 does not exist". Only PgBouncer 1.21+ with
        # max_prepared_statements tracks them (Debian 12 ships 1.18), so none are prepared.
        # PgBouncer also refuses the `options` startup parameter: JIT is turned off on the
        # database instead (ALTER DATABASE ... SET jit = off, see the README).
        return {"prepare_threshold": None}
    # JIT compilation pays off for long analytical queries, not for a web app's short ones:
    # measured on the summary's aggregates it tripled a cold read.
    return {"options": "-c jit=off"}


def listen_url(engine: Engine) -> str:
    """The libpq address for a process's LISTEN connection: the PostgreSQL server's own.

    ETHICSFORUM_LISTEN_DATABASE_URL when the engine reaches PostgreSQL through PgBouncer
    (LISTEN needs one server session for ever, which transaction pooling does not give),
    else the engine's own database.
    """
    direct = engine.get_execution_options().get(LISTEN_URL_OPTION)
    url = make_url(direct) if direct else engine.url
    return libpq_url(url)


def libpq_url(url: URL) -> str:
    """A SQLAlchemy URL as psycopg's own connections and libpq tools name it."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


# PostgreSQL connections kept open when idle; the rest of the capacity opens on demand.
PG_POOL_SIZE = 10
# Connections `serve` leaves free on the PostgreSQL server for psql, backups, migrations.
PG_RESERVED_CONNECTIONS = 5
# Connections a server process opens outside its pool (discussions/events.py): one held
# for LISTEN, always straight to PostgreSQL. Announcements need none: they are NOTIFYed
# inside the transactions of the changes (discussions/announce.py).
LISTEN_CONNECTIONS = 1


def connections_per_worker(settings: Settings) -> int:
    """The most PostgreSQL connections one server process opens: its pool and its LISTEN
    connection."""
    return settings.pool_capacity + LISTEN_CONNECTIONS


def pooler_connections_per_worker(settings: Settings) -> int:
    """Behind PgBouncer: the most client connections one server process opens to PgBouncer
    (its pool; its LISTEN goes to PostgreSQL itself)."""
    return settings.pool_capacity


def check_connection_budget(
    engine: Engine, settings: Settings, workers: int
) -> tuple[str, str] | None:
    """Why `workers` processes may not fit the server's max_connections, and what to do;
    None if they fit (or the database is not PostgreSQL).

    Each worker may open connections_per_worker() connections; PG_RESERVED_CONNECTIONS stay
    free. The answer gives the arithmetic and the largest ETHICSFORUM_MAX_REQUESTS that fits.
    Behind PgBouncer (ETHICSFORUM_LISTEN_DATABASE_URL set) the arithmetic is PgBouncer's:
    see _check_pooled_budget.
    """
    from sqlalchemy import text

    if engine.dialect.name != "postgresql":
        return None
    if settings.through_pooler:
        return _check_pooled_budget(engine, settings, workers)
    with engine.connect() as conn:
        limit = int(conn.execute(text("SHOW max_connections")).scalar_one())
    per_worker = connections_per_worker(settings)
    available = limit - PG_RESERVED_CONNECTIONS
    if workers * per_worker <= available:
        return None
    problem = (
        f"{workers} workers x {per_worker} connections each ({_per_worker_terms(settings)} + "
        f"{LISTEN_CONNECTIONS} LISTEN) = "
        f"{workers * per_worker}, more than the {available} PostgreSQL allows "
        f"(max_connections {limit} - {PG_RESERVED_CONNECTIONS} kept free)"
    )
    return problem, _fix(settings, available // workers - (per_worker - settings.max_requests))


def _per_worker_terms(settings: Settings) -> str:
    from ethicsforum.config import STREAM_DB_SLOTS

    return f"ETHICSFORUM_MAX_REQUESTS={settings.max_requests} + {STREAM_DB_SLOTS} for event streams"


def _fix(settings: Settings, fitting: int, limit: str = "max_connections") -> str:
    return (
        f"set ETHICSFORUM_MAX_REQUESTS={fitting} or lower, use fewer workers, or raise {limit}"
        if fitting >= 1
        else f"use fewer workers or raise {limit}"
    )


@dataclass(frozen=True)
class PoolerLimits:
    """What PgBouncer's admin console says about the limits that concern this database."""

    max_client_conn: int
    server_connections: int  # the most server connections PgBouncer opens for it
    server_terms: str  # how server_connections was reached, for messages


def _check_pooled_budget(
    engine: Engine, settings: Settings, workers: int
) -> tuple[str, str] | None:
    """Behind PgBouncer, two budgets: the workers' pools are
    PgBouncer's clients and must fit its max_client_conn; PostgreSQL itself sees PgBouncer's
    server pool for this database plus one LISTEN connection per worker.

    PgBouncer's limits are read from its admin console (the `pgbouncer` database) with the
    same credentials; when it refuses them (the user is not in stats_users or admin_users),
    only the LISTEN connections are checked against PostgreSQL.
    """
    import psycopg

    with psycopg.connect(listen_url(engine), autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("SHOW max_connections").fetchone()
    limit = int(row[0]) if row else 0
    available = limit - PG_RESERVED_CONNECTIONS
    pooler = pooler_limits(engine)
    if pooler is not None:
        per_worker = pooler_connections_per_worker(settings)
        if workers * per_worker > pooler.max_client_conn:
            problem = (
                f"{workers} workers x {per_worker} connections each to PgBouncer "
                f"({_per_worker_terms(settings)}) = "
                f"{workers * per_worker}, more than PgBouncer's max_client_conn "
                f"{pooler.max_client_conn}"
            )
            fitting = pooler.max_client_conn // workers - (per_worker - settings.max_requests)
            return problem, _fix(settings, fitting, "max_client_conn in pgbouncer.ini")
    server = pooler.server_connections if pooler is not None else 0
    listening = workers * LISTEN_CONNECTIONS
    if server + listening <= available:
        return None
    pool_part = f"PgBouncer's server pool ({pooler.server_terms}) + " if pooler is not None else ""
    problem = (
        f"{pool_part}{workers} workers x {LISTEN_CONNECTIONS} LISTEN connection straight to "
        f"PostgreSQL = {server + listening}, more than the {available} PostgreSQL allows "
        f"(max_connections {limit} - {PG_RESERVED_CONNECTIONS} kept free)"
    )
    fix = (
        "lower default_pool_size in pgbouncer.ini, use fewer workers, or raise max_connections"
        if pooler is not None
        else "use fewer workers or raise max_connections"
    )
    return problem, fix


def pooler_limits(engine: Engine) -> PoolerLimits | None:
    """PgBouncer's client limit and its server pool for the engine's database, from its
    admin console; None when the console cannot be read with the engine's credentials."""
    import psycopg

    console = libpq_url(engine.url.set(database="pgbouncer"))
    try:
        # The admin console speaks only the simple query protocol, which psycopg uses for
        # a statement without parameters.
        with psycopg.connect(console, autocommit=True, connect_timeout=5) as conn:
            config = {str(r[0]): str(r[1]) for r in conn.execute("SHOW CONFIG").fetchall()}
            cursor = conn.execute("SHOW DATABASES")
            names = [c.name for c in cursor.description or ()]
            databases = {str(r[0]): dict(zip(names, r, strict=True)) for r in cursor.fetchall()}
    except psycopg.Error:
        return None
    entry = databases.get(engine.url.database or "", {})
    pool_size = int(entry.get("pool_size") or config.get("default_pool_size", "20"))
    reserve = int(entry.get("reserve_pool") or config.get("reserve_pool_size", "0"))
    server, terms = pool_size + reserve, f"pool_size {pool_size} + reserve_pool {reserve}"
    for name, cap in (
        ("max_connections for the database", int(entry.get("max_connections") or 0)),
        ("max_db_connections", int(config.get("max_db_connections", "0"))),
    ):
        if 0 < cap < server:
            server, terms = cap, f"{name} {cap}"
    return PoolerLimits(int(config.get("max_client_conn", "100")), server, terms)


def _configure_sqlite(engine: Engine, settings: Settings) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself, so writers can ask for IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL keeps every committed transaction through a crash of the
        # process; only a power cut or an OS crash can lose the last few commits.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute(f"PRAGMA busy_timeout = {int(settings.sqlite_busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that reads and then writes fails at once with "database is
        # locked" when another writer got in between; IMMEDIATE takes the write lock up front
        # and waits on the busy timeout instead.
        if conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def write_engine(engine: Engine) -> Engine:
    """The same engine, whose transactions take the write lock at BEGIN on SQLite."""
    return engine.execution_options(**{WRITE_OPTION: True})


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session for one unit of work that writes; rolled back if the block raises."""
    with Session(write_engine(engine), expire_on_commit=False) as session:
        yield session


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def check_database(engine: Engine) -> None:
    """Connect once, raising DatabaseUnavailable with one readable line if that fails; behind
    PgBouncer, the LISTEN address too."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    postgres = engine.dialect.name == "postgresql"
    try:
        with engine.connect() as conn:
            database = conn.execute(
                text("SELECT current_database()" if postgres else "SELECT 1")
            ).scalar()
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        where = engine.url.render_as_string(hide_password=True)
        raise DatabaseUnavailable(f"cannot reach the database {where}: {reason}") from exc
    if engine.get_execution_options().get(LISTEN_URL_OPTION):
        _check_listen_database(engine, database)


def _check_listen_database(engine: Engine, database: object) -> None:
    """The LISTEN address answers, and names the database that requests reach through
    PgBouncer: a NOTIFY is heard only by listeners on the same database."""
    import psycopg

    url = make_url(engine.get_execution_options()[LISTEN_URL_OPTION])
    where = url.render_as_string(hide_password=True)
    try:
        with psycopg.connect(listen_url(engine), autocommit=True, connect_timeout=5) as conn:
            row = conn.execute("SELECT current_database()").fetchone()
    except psycopg.Error as exc:
        reason = (str(exc).strip().splitlines() or ["?"])[0]
        raise DatabaseUnavailable(
            f"cannot reach the LISTEN database {where} (ETHICSFORUM_LISTEN_DATABASE_URL): {reason}"
        ) from exc
    if row is None or row[0] != database:
        raise DatabaseUnavailable(
            f"ETHICSFORUM_LISTEN_DATABASE_URL reaches database {row[0] if row else '?'!r} but "
            f"ETHICSFORUM_DATABASE_URL reaches {database!r}: live updates would never be "
            "heard; point both at the same database"
        )


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; unsafe methods get a write session.

    Made on the event loop, where it costs no I/O (a session connects at its first
    statement), so a request pays one thread hop, for its endpoint, not two more for this.
    Closing returns the connection: inline on SQLite, where ending a transaction is a local
    call that never waits, in a thread on PostgreSQL, where it is a round trip.
    """
    engine: Engine = request.app.state.engine
    unsafe = request.method not in {"GET", "HEAD", "OPTIONS"}
    bind = write_engine(engine) if unsafe else engine
    session = Session(bind, expire_on_commit=False)
    try:
        yield session
    finally:
        if session.in_transaction() and engine.dialect.name != "sqlite":
            await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_session)]


@contextmanager
def answer_session(request: Request) -> Iterator[Session]:
    """A read session for what a write request answers with, after its change committed.

    The request's own session writes: on SQLite another transaction on it would begin
    IMMEDIATE again and queue for the write lock behind the whole class, so a change already
    saved could still be answered with "database is locked". A read never waits for writers.
    """
    with read_session(request.app.state.engine) as session:
        yield session


def metadata() -> Any:
    """The complete metadata, every domain's models imported."""
    import ethicsforum.models  # noqa: F401

    return SQLModel.metadata


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; use utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def as_utc(value: datetime | str) -> datetime:
    """A timezone-aware UTC datetime from an aggregate (min/max) over a timestamp column.

    On SQLite such aggregates lose the column's type and come back as text.
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
