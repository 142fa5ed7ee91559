"""Engines, sessions and the constraint naming convention shared by every model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine, make_url
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
    # JIT compilation pays off for long analytical queries, not for a web app's short ones:
    # measured on the summary's aggregates it tripled a cold read.
    pool_size = min(PG_POOL_SIZE, capacity)
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=capacity - pool_size,
        pool_timeout=settings.pool_timeout_seconds,
        connect_args={"options": "-c jit=off"},
    )


# PostgreSQL connections kept open when idle; the rest of the capacity opens on demand.
PG_POOL_SIZE = 10
# Connections `serve` leaves free on the PostgreSQL server for psql, backups, migrations.
PG_RESERVED_CONNECTIONS = 5


def connections_per_worker(settings: Settings) -> int:
    """The most PostgreSQL connections one server process opens: its pool, its LISTEN and
    its NOTIFY connection."""
    return settings.pool_capacity + 2


def check_connection_budget(
    engine: Engine, settings: Settings, workers: int
) -> tuple[str, str] | None:
    """Why `workers` processes may not fit the server's max_connections, and what to do;
    None if they fit (or the database is not PostgreSQL).

    Each worker may open connections_per_worker() connections; PG_RESERVED_CONNECTIONS stay
    free. The answer gives the arithmetic and the largest ETHICSFORUM_MAX_REQUESTS that fits.
    """
    from sqlalchemy import text

    from ethicsforum.config import STREAM_DB_SLOTS

    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        limit = int(conn.execute(text("SHOW max_connections")).scalar_one())
    per_worker = connections_per_worker(settings)
    available = limit - PG_RESERVED_CONNECTIONS
    if workers * per_worker <= available:
        return None
    # What a worker opens beyond its requests' connections (stream slots, LISTEN, NOTIFY).
    fitting = available // workers - (per_worker - settings.max_requests)
    problem = (
        f"{workers} workers x {per_worker} connections each (ETHICSFORUM_MAX_REQUESTS="
        f"{settings.max_requests} + {STREAM_DB_SLOTS} for event streams + 1 LISTEN + 1 NOTIFY) = "
        f"{workers * per_worker}, more than the {available} PostgreSQL allows "
        f"(max_connections {limit} - {PG_RESERVED_CONNECTIONS} kept free)"
    )
    fix = (
        f"set ETHICSFORUM_MAX_REQUESTS={fitting} or lower, use fewer workers, "
        "or raise max_connections"
        if fitting >= 1
        else "use fewer workers or raise max_connections"
    )
    return problem, fix


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
    """Connect once, raising DatabaseUnavailable with one readable line if that fails."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        where = engine.url.render_as_string(hide_password=True)
        raise DatabaseUnavailable(f"cannot reach the database {where}: {reason}") from exc


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
