"""Configuration from ETHICSFORUM_* variables and .env, with clear refusals."""

from __future__ import annotations

import stat

import pytest
from pydantic import ValidationError

from ethicsforum.config import DEFAULT_FRAMEWORKS, Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    import os

    for key in list(os.environ):
        if key.startswith("ETHICSFORUM_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_a_sqlite_file_and_the_four_frameworks():
    settings = Settings()
    assert settings.database_url.startswith("sqlite:///")
    assert settings.is_sqlite
    assert settings.frameworks == DEFAULT_FRAMEWORKS
    assert settings.rate_limits is True


def test_values_come_from_prefixed_environment_variables(monkeypatch):
    monkeypatch.setenv("ETHICSFORUM_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("ETHICSFORUM_FRAMEWORKS", "autonomy, justice,non-maleficence")
    monkeypatch.setenv("ETHICSFORUM_RATE_LIMITS", "off")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert not settings.is_sqlite
    assert settings.frameworks == ("autonomy", "justice", "non-maleficence")
    assert settings.rate_limits is False


def test_values_come_from_a_dot_env_file(tmp_path):
    (tmp_path / ".env").write_text("ETHICSFORUM_PAGE_SIZE=7\n")
    assert Settings().page_size == 7


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ETHICSFORUM_DATABASE_URL", "not a url", "not a database URL"),
        ("ETHICSFORUM_DATABASE_URL", "mysql://u@h/db", "sqlite"),
        ("ETHICSFORUM_DATABASE_URL", "postgresql+asyncpg://u@h/db", "psycopg"),
        ("ETHICSFORUM_SECRET_KEY", "short", "at least 16"),
        ("ETHICSFORUM_FRAMEWORKS", "Autonomy", "lowercase"),
        ("ETHICSFORUM_FRAMEWORKS", "justice,justice", "repeat"),
        ("ETHICSFORUM_RATE_LIMITS", "sometimes", "rate_limits"),
    ],
)
def test_invalid_configuration_is_refused_with_a_reason(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as info:
        Settings()
    assert message in str(info.value)


def test_a_secret_key_is_generated_once_and_kept(tmp_path):
    settings = Settings(instance_dir=tmp_path / "instance")
    first = settings.resolved_secret_key()
    assert len(first) >= 32
    assert Settings(instance_dir=tmp_path / "instance").resolved_secret_key() == first
    mode = (tmp_path / "instance" / "secret_key").stat().st_mode
    assert not mode & (stat.S_IRGRP | stat.S_IROTH)


def test_a_configured_secret_key_is_used_as_given(tmp_path):
    settings = Settings(secret_key="s" * 20, instance_dir=tmp_path / "instance")
    assert settings.resolved_secret_key() == "s" * 20
    assert not (tmp_path / "instance").exists()


@pytest.mark.parametrize(
    ("database_url", "listen_url", "message"),
    [
        ("postgresql+psycopg://u@pgbouncer:6432/db", "not a url", "not a database URL"),
        ("postgresql+psycopg://u@pgbouncer:6432/db", "sqlite:///x.db", "server's own address"),
        ("postgresql+psycopg://u@pgbouncer:6432/db", "postgresql+asyncpg://u@h/db", "own address"),
        ("sqlite:///x.db", "postgresql+psycopg://u@h/db", "only for PostgreSQL behind PgBouncer"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db", "LISTEN does not work"),
    ],
    ids=["not-a-url", "sqlite", "other-driver", "sqlite-main", "same-address"],
)
def test_a_listen_address_that_cannot_work_is_refused_with_a_reason(
    monkeypatch, database_url, listen_url, message
):
    monkeypatch.setenv("ETHICSFORUM_DATABASE_URL", database_url)
    monkeypatch.setenv("ETHICSFORUM_LISTEN_DATABASE_URL", listen_url)
    with pytest.raises(ValidationError) as info:
        Settings()
    assert message in str(info.value)


def test_a_listen_address_means_requests_go_through_a_pooler(monkeypatch):
    monkeypatch.setenv("ETHICSFORUM_DATABASE_URL", "postgresql+psycopg://u@pgbouncer:6432/db")
    assert not Settings().through_pooler
    monkeypatch.setenv("ETHICSFORUM_LISTEN_DATABASE_URL", "postgresql://u@db-server:5432/db")
    settings = Settings()
    assert settings.through_pooler
    assert settings.listen_database_url == "postgresql://u@db-server:5432/db"
    monkeypatch.setenv("ETHICSFORUM_LISTEN_DATABASE_URL", "")
    assert not Settings().through_pooler
