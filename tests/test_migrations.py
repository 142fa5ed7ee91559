"""The migrations build exactly the models' schema, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from ethicsforum import migrate
from ethicsforum.db import metadata
from ethicsforum.migrations_support import include_object


def _diff(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include_object}
        )
        return compare_metadata(context, metadata())


def test_migrated_database_matches_the_models(engine):
    assert _diff(engine) == []


def test_migrations_are_at_head(engine, settings):
    assert migrate.current_revision(engine) == migrate.head_revision(settings)


def test_every_model_table_exists(engine):
    tables = set(inspect(engine).get_table_names())
    assert set(metadata().tables) <= tables


def test_downgrade_to_empty_and_upgrade_again(engine, settings):
    cfg = migrate.alembic_config(settings)
    command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(settings)
    assert _diff(engine) == []


def test_constraints_follow_the_naming_convention(engine):
    inspector = inspect(engine)
    for table in metadata().tables:
        for fk in inspector.get_foreign_keys(table):
            assert fk["name"] is None or fk["name"].startswith("fk_"), fk
        for index in inspector.get_indexes(table):
            assert index["name"].startswith(("ix_", "uq_")), index


def test_alembic_check_reports_no_pending_changes(settings):
    # The same check `alembic check` runs from the command line.
    command.check(migrate.alembic_config(settings))
