"""Settings read from ETHICSFORUM_* environment variables and an optional .env file."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_FRAMEWORKS = ("autonomy", "confidentiality", "justice", "beneficence")
FRAMEWORK_PATTERN = r"^[a-z][a-z0-9-]{0,39}$"
# Event streams of one process load and render posts through at most this many database
# connections at once (they are not requests, so the request limit does not cover them).
STREAM_DB_SLOTS = 4


def _project_root() -> Path:
    """The repository root when running from a checkout, else the working directory."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "alembic.ini").is_file() and (parent / "cases").is_dir():
            return parent
    return Path.cwd()


class Settings(BaseSettings):
    """Configuration of one ethicsforum installation."""

    model_config = SettingsConfigDict(
        env_prefix="ETHICSFORUM_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = Field(
        default="sqlite:///instance/ethicsforum.db",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host/db",
    )
    listen_database_url: str | None = Field(
        default=None,
        description="Set when DATABASE_URL points at PgBouncer in transaction mode: the "
        "PostgreSQL server's own address, for each worker's LISTEN connection.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Derives the pseudonym keys and the CSRF tokens; generated when unset.",
    )
    base_url: str | None = Field(
        default=None,
        description="The public address (https://forum.example.org) every absolute link uses; "
        "unknown Host headers are refused when set.",
    )
    proxy_headers: bool = Field(
        default=False,
        description="Trust X-Forwarded-Proto/For from --forwarded-allow-ips (behind a TLS proxy).",
    )
    forwarded_allow_ips: str = "127.0.0.1"
    workers: int = Field(default=1, ge=1, le=64, description="Server processes for `serve`.")
    # Overload: requests beyond this many in flight per process answer 503 at once instead of
    # queueing for a thread and a database connection (AnyIO's default thread pool is 40).
    max_requests: int = Field(default=40, ge=1, le=1000)
    pool_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    max_streams: int = Field(default=1000, ge=1, le=100_000)
    max_streams_per_session: int = Field(default=5, ge=1, le=100)
    stream_lifetime_seconds: float = Field(default=1800.0, gt=0)
    stream_keepalive_seconds: float = Field(default=15.0, gt=0, le=300)
    instance_dir: Path = Path("instance")
    cases_dir: Path = Field(default_factory=lambda: _project_root() / "cases")
    templates_dir: Path = Field(default_factory=lambda: _project_root() / "templates")
    frameworks: Annotated[tuple[str, ...], NoDecode] = DEFAULT_FRAMEWORKS
    rate_limits: bool = True
    sqlite_busy_timeout_ms: int = Field(default=15_000, ge=0)
    page_size: int = Field(default=20, ge=1, le=100)
    session_idle_minutes: int = Field(default=120, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)

    demo: bool = False

    @field_validator("frameworks", mode="before")
    @classmethod
    def _split_frameworks(cls, value: object) -> object:
        # "autonomy,justice" from the environment as well as a proper list from code.
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("frameworks")
    @classmethod
    def _check_frameworks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        import re

        if not value:
            raise ValueError("at least one framework is needed")
        for name in value:
            if not re.match(FRAMEWORK_PATTERN, name):
                raise ValueError(
                    f"framework {name!r} must be lowercase letters, digits and hyphens"
                )
        if len(set(value)) != len(value):
            raise ValueError("frameworks must not repeat")
        return value

    @field_validator("rate_limits", "proxy_headers", mode="before")
    @classmethod
    def _on_off(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in {"on", "off"}:
            return value.strip().lower() == "on"
        return value

    @field_validator("secret_key", "base_url", "listen_database_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `ETHICSFORUM_BASE_URL=` in a .env file means "not set", not "the empty address".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        from urllib.parse import urlsplit

        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if (
            parts.scheme not in {"http", "https"}
            or not parts.hostname
            or parts.path not in {"", "/"}
            or parts.query
            or parts.fragment
            or parts.username is not None
            or parts.password is not None
        ):
            raise ValueError(
                "ETHICSFORUM_BASE_URL must be http(s)://HOST[:PORT] with no path, "
                "e.g. https://forum.example.org"
            )
        try:
            port = f":{parts.port}" if parts.port else ""
        except ValueError as exc:
            raise ValueError(f"ETHICSFORUM_BASE_URL has a bad port: {value!r}") from exc
        return f"{parts.scheme}://{parts.hostname}{port}"

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {value!r}") from exc
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError("use sqlite:///FILE or postgresql+psycopg://USER@HOST/DB")
        if url.get_backend_name() == "postgresql" and url.get_driver_name() not in {
            "psycopg",
            "",
        }:
            raise ValueError("PostgreSQL URLs must use the psycopg driver: postgresql+psycopg://")
        return value

    @field_validator("listen_database_url")
    @classmethod
    def _check_listen_url(cls, value: str | None) -> str | None:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        if value is None:
            return None
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {value!r}") from exc
        if url.get_backend_name() != "postgresql" or url.get_driver_name() not in {
            "psycopg",
            "",
        }:
            raise ValueError(
                "must be the PostgreSQL server's own address, "
                "postgresql+psycopg://USER@HOST:5432/DB (not PgBouncer's)"
            )
        return value

    @model_validator(mode="after")
    def _listen_url_needs_a_pooled_postgresql(self) -> Settings:
        if self.listen_database_url is None:
            return self
        if self.is_sqlite:
            raise ValueError(
                "ETHICSFORUM_LISTEN_DATABASE_URL is only for PostgreSQL behind PgBouncer; "
                "unset it, or point ETHICSFORUM_DATABASE_URL at PgBouncer"
            )
        if self.listen_database_url == self.database_url:
            raise ValueError(
                "ETHICSFORUM_LISTEN_DATABASE_URL must be the PostgreSQL server's own address, "
                "not the same as ETHICSFORUM_DATABASE_URL (PgBouncer's): LISTEN does not "
                "work through transaction pooling; unset it when there is no PgBouncer"
            )
        return self

    @model_validator(mode="after")
    def _no_placeholder_secret(self) -> Settings:
        if self.secret_key is not None and len(self.secret_key.get_secret_value()) < 16:
            raise ValueError("ETHICSFORUM_SECRET_KEY must be at least 16 characters")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def through_pooler(self) -> bool:
        """DATABASE_URL reaches PostgreSQL through PgBouncer in transaction mode."""
        return self.listen_database_url is not None

    @property
    def base_is_https(self) -> bool:
        return self.base_url is not None and self.base_url.startswith("https://")

    @property
    def base_host(self) -> str | None:
        """The host name of BASE_URL (without port), for the Host header check."""
        from urllib.parse import urlsplit

        return urlsplit(self.base_url).hostname if self.base_url else None

    @property
    def pool_capacity(self) -> int:
        """Database connections one process may hold at once.

        Every request in flight may hold one (it keeps its session between the thread-pool
        calls of its dependencies and its route), and event streams render posts through a
        few slots of their own (discussions/stream.py); the pool is never smaller.
        """
        return self.max_requests + STREAM_DB_SLOTS

    def resolved_secret_key(self) -> str:
        """The configured secret, or one generated once and kept in the instance folder."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.instance_dir / "secret_key"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: when several workers start at once, exactly one writes the key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            key = secrets.token_urlsafe(48)
            handle.write(key + "\n")
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
