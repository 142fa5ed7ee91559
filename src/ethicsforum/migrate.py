"""Bring a database to the newest Alembic revision, from code or the command line."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

from ethicsforum.config import Settings


def alembic_config(settings: Settings) -> Config:
    """The same configuration as alembic.ini, built in code so an installed package works."""
    cfg = Config()
    cfg.set_main_option("script_location", "ethicsforum:migrations")
    # ConfigParser interpolation: a literal % in a password must be doubled.
    cfg.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    return cfg


def _migration_engine(settings: Settings) -> Engine:
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url)
    if url.database and url.database != ":memory:":
        from pathlib import Path

        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": settings.sqlite_busy_timeout_ms / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Foreign keys stay off while batch mode copies tables; WAL so a running server's
        # readers are not blocked.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA busy_timeout = {int(settings.sqlite_busy_timeout_ms)}")
        cursor.close()

    return engine


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Migrate the configured database to `revision` (the newest by default)."""
    cfg = alembic_config(settings)
    engine = _migration_engine(settings)
    try:
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(settings: Settings) -> str | None:
    return ScriptDirectory.from_config(alembic_config(settings)).get_current_head()
