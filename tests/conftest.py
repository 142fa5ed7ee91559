"""Fixtures: every database-touching test runs on a SQLite file and on PostgreSQL.

Both databases are built once per run from the migrations (what ships), then each test gets
a fresh copy: SQLite by copying the migrated file, PostgreSQL by truncating every table.
PostgreSQL and Chromium are optional on a laptop (the tests skip, saying why) and
mandatory under CI=true (unreachable fails the run).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

import ethicsforum.models  # noqa: F401  (complete metadata)
from ethicsforum import migrate
from ethicsforum.config import Settings
from ethicsforum.db import make_engine, metadata

REPO = Path(__file__).resolve().parents[1]
CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_ADMIN_URL = os.environ.get(
    "ETHICSFORUM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SECRET = "test-secret-key-0123456789abcdef"


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing() -> Iterator[None]:
    """Argon2's CHEAPEST profile, made for tests: the same code path, a fraction of the cost.

    The timing test asks for `real_password_hashing` to measure with production parameters.
    """
    from argon2 import PasswordHasher, profiles

    from ethicsforum.accounts import service

    previous = service.use_password_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST))
    yield
    service.use_password_hasher(previous)


@pytest.fixture
def real_password_hashing() -> Iterator[None]:
    from argon2 import PasswordHasher

    from ethicsforum.accounts import service

    previous = service.use_password_hasher(PasswordHasher())
    yield
    service.use_password_hasher(previous)


def unavailable(reason: str) -> None:
    """Skip on a laptop, fail in CI, where every backend and the browser are required."""
    if CI:
        pytest.fail(f"{reason} (required because CI=true)", pytrace=False)
    pytest.skip(reason)


def make_settings(database_url: str, tmp: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_key": SECRET,
        "instance_dir": tmp / "instance",
        "cases_dir": REPO / "cases",
        "templates_dir": REPO / "templates",
        "rate_limits": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate.upgrade(make_settings(f"sqlite:///{path}", path.parent))
    return path


@pytest.fixture(scope="session")
def postgres_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of our own on the PostgreSQL server, migrated once, dropped at the end."""
    try:
        admin = psycopg.connect(_libpq(POSTGRES_ADMIN_URL), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc}".strip())
    name = f"ethicsforum_test_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(make_settings(url, tmp_path_factory.mktemp("postgres")))

    try:
        yield url
    finally:
        with psycopg.connect(_libpq(POSTGRES_ADMIN_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _truncate_all(url: str) -> None:
    tables = ", ".join(f'"{t.name}"' for t in metadata().sorted_tables)
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated, empty database: each test runs once per backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "ethicsforum.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    _truncate_all(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session for arranging and checking data around requests.

    Deferred, not IMMEDIATE: a test that reads and then sends a request must not hold
    SQLite's write lock against the server. Call `fresh(session)` before reading what a
    request has just written, so the read starts a new snapshot.
    """
    with Session(engine, expire_on_commit=False) as session:
        yield session


def fresh(session: Session) -> Session:
    """End the session's current transaction so its next read sees the latest commits."""
    session.rollback()
    session.expire_all()
    return session


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    from ethicsforum.main import create_app

    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as client:
        yield client


@pytest.fixture
def library(session: Session, settings: Settings) -> list[str]:
    """The shipped case files, imported; returns their slugs."""
    from ethicsforum.cases import service

    result = service.import_directory(
        session, paths=sorted(settings.cases_dir.glob("*.md")), frameworks=settings.frameworks
    )
    assert not result.problems, result.problems
    return result.created


def dialect_of(engine: Engine) -> str:
    return engine.dialect.name


def scalar(engine: Engine, sql: str) -> object:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()
