"""Alembic environment: the complete metadata, batch mode, and search objects left alone."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import engine_from_config, pool

from ethicsforum.db import UTCDateTime, metadata
from ethicsforum.migrations_support import include_object

config = context.config
target_metadata = metadata()


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations should not import application types that may change later.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
        render_item=render_item,
        **kwargs,
    )


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from ethicsforum.config import get_settings

    return get_settings().database_url


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    connectable = engine_from_config(
        {"sqlalchemy.url": _url()}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with connectable.connect() as conn:
        _configure(connection=conn)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
