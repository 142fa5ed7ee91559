"""The `ethicsforum` command: serve, check, db, cases and users."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from sqlalchemy.engine import Engine

from ethicsforum.config import Settings

if TYPE_CHECKING:
    from ethicsforum.cases import importing

app = typer.Typer(
    help="ethicsforum: structured debate on clinical ethics cases.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Migrate and back up the database.", no_args_is_help=True)
cases_app = typer.Typer(help="Validate, import and export case files.", no_args_is_help=True)
users_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(cases_app, name="cases")
app.add_typer(users_app, name="users")


def die(message: str, code: int = 1) -> NoReturn:
    print(f"ethicsforum: {message}", file=sys.stderr)
    raise typer.Exit(code)


def load_settings() -> Settings:
    """Settings from the environment, or one clear line and exit 2 when they are invalid."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"ETHICSFORUM_{'_'.join(str(p) for p in e['loc']).upper() or 'SETTINGS'}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        die(f"invalid configuration: {problems}", 2)


def connect(settings: Settings) -> Engine:
    """An engine for a database known to answer, or one clear line and exit 1."""
    from ethicsforum.db import DatabaseUnavailable, check_database, make_engine

    engine = make_engine(settings)
    try:
        check_database(engine)
    except DatabaseUnavailable as exc:
        die(str(exc))
    return engine


def _import_when_empty(settings: Settings, engine: Engine) -> None:
    from ethicsforum.cases import importing, service
    from ethicsforum.db import write_session

    with write_session(engine) as session:
        if service.count_cases(session):
            return
        paths = sorted(settings.cases_dir.glob("*.md"))
        # The project's own reviewed library keeps its statuses, through the de-identification
        # gate (cases/importing.py): a file it holds back arrives as a draft, said below.
        result = importing.import_directory(
            session, paths=paths, frameworks=settings.frameworks, first_run=True
        )
    print(
        f"ethicsforum: imported {len(result.created)} cases from {settings.cases_dir}",
        file=sys.stderr,
    )
    for problem in result.problems:
        print(f"ethicsforum: skipped: {problem}", file=sys.stderr)
    for note in result.held_back:
        print(f"ethicsforum: {note}", file=sys.stderr)


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Server processes [default: ETHICSFORUM_WORKERS, 1]."),
    ] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Create demo accounts and data.")] = False,
    no_migrate: Annotated[bool, typer.Option("--no-migrate")] = False,
    proxy_headers: Annotated[
        bool | None,
        typer.Option(
            "--proxy-headers/--no-proxy-headers",
            help="Behind a TLS proxy: trust its X-Forwarded-Proto and X-Forwarded-For "
            "[default: ETHICSFORUM_PROXY_HEADERS, off].",
        ),
    ] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Addresses whose proxy headers are trusted, comma-separated "
            "[default: ETHICSFORUM_FORWARDED_ALLOW_IPS, 127.0.0.1]."
        ),
    ] = None,
) -> None:
    """Serve the site and the JSON API."""
    import uvicorn

    from ethicsforum import migrate
    from ethicsforum.db import check_connection_budget

    settings = load_settings()
    workers = workers or settings.workers
    trust_proxy = settings.proxy_headers if proxy_headers is None else proxy_headers
    engine = connect(settings)
    # Refuse before anything changes: N workers x their pools must fit PostgreSQL.
    budget = check_connection_budget(engine, settings, workers)
    if budget is not None:
        die(f"{budget[0]}; {budget[1]}")
    if no_migrate:
        current, head = migrate.current_revision(engine), migrate.head_revision(settings)
        if current != head:
            die(
                f"the database is at revision {current or 'none'}, not {head}; "
                "run `ethicsforum db upgrade` or drop --no-migrate"
            )
    else:
        migrate.upgrade(settings)
    _import_when_empty(settings, engine)
    if demo:
        os.environ["ETHICSFORUM_DEMO"] = "true"
        from ethicsforum import demo as demo_data

        demo_data.ensure_demo(settings, engine)
    engine.dispose()
    settings.resolved_secret_key()  # created once here, before workers race for it
    if not settings.rate_limits:
        print(
            "ethicsforum: WARNING: rate limits are off (ETHICSFORUM_RATE_LIMITS=off)",
            file=sys.stderr,
        )
    print(f"ethicsforum: serving on http://{host}:{port}", file=sys.stderr)
    uvicorn.run(
        "ethicsforum.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # Event streams stay open until the client leaves; do not wait on them for ever.
        timeout_graceful_shutdown=5,
        log_level="info",
        log_config=_log_config(),
        proxy_headers=trust_proxy,
        forwarded_allow_ips=forwarded_allow_ips or settings.forwarded_allow_ips,
    )


def _log_config() -> dict[str, Any]:
    """Uvicorn's logging, plus our own loggers (security events among them) on its handler."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["ethicsforum"] = {
        "handlers": ["default"],
        "level": "INFO",
        "propagate": False,
    }
    return config


@app.command()
def check(
    deploy: Annotated[
        bool, typer.Option("--deploy", help="Also list what is unsafe for production.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Workers to check for [default: ETHICSFORUM_WORKERS]."),
    ] = None,
    proxy_headers: Annotated[
        bool | None,
        typer.Option(
            "--proxy-headers/--no-proxy-headers",
            help="Whether serve runs with --proxy-headers [default: ETHICSFORUM_PROXY_HEADERS].",
        ),
    ] = None,
) -> None:
    """Check the configuration and the database; with --deploy, list what is unsafe for
    production, one line each with its fix, and exit 1 if anything is."""
    from ethicsforum import deploycheck

    settings = load_settings()
    engine = connect(settings)
    try:
        findings = (
            deploycheck.find_problems(
                settings,
                engine,
                workers=workers or settings.workers,
                proxy_headers=settings.proxy_headers if proxy_headers is None else proxy_headers,
            )
            if deploy
            else []
        )
    finally:
        engine.dispose()
    for finding in findings:
        print(f"ethicsforum: {finding}")
    if findings:
        print(f"ethicsforum: {len(findings)} problem(s) found", file=sys.stderr)
        raise typer.Exit(1)
    print("ethicsforum: no problems found")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database to the newest revision."""
    from ethicsforum import migrate

    settings = load_settings()
    connect(settings).dispose()
    migrate.upgrade(settings)
    print(f"ethicsforum: database at revision {migrate.head_revision(settings)}")


@db_app.command("backup")
def db_backup(target: Path) -> None:
    """Write a consistent copy of the database to TARGET, even while the server runs."""
    from ethicsforum import backup

    settings = load_settings()
    connect(settings).dispose()
    try:
        backup.backup(settings, target)
    except backup.BackupFailed as exc:
        die(str(exc))
    print(f"ethicsforum: backup written to {target}")


@cases_app.command("validate")
def cases_validate(paths: list[Path]) -> None:
    """Check case files; print every problem with file and line; exit 1 if any."""
    from ethicsforum.cases.fileformat import CaseFileInvalid
    from ethicsforum.cases.service import read_case_file

    settings = load_settings()
    bad = 0
    for path in _expand(paths):
        try:
            read_case_file(path, frameworks=settings.frameworks)
        except CaseFileInvalid as exc:
            bad += 1
            for problem in exc.problems:
                print(problem)
    total = len(_expand(paths))
    print(f"{total - bad} of {total} case files valid", file=sys.stderr)
    if bad:
        raise typer.Exit(1)


def _expand(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        out.extend(sorted(path.glob("*.md")) if path.is_dir() else [path])
    return out


@cases_app.command("format")
def cases_format(paths: list[Path]) -> None:
    """Rewrite valid case files in canonical form, the form export writes."""
    from ethicsforum.cases.fileformat import CaseFileInvalid, render_case_file
    from ethicsforum.cases.service import read_case_file

    settings = load_settings()
    failed = False
    for path in _expand(paths):
        try:
            document = read_case_file(path, frameworks=settings.frameworks)
        except CaseFileInvalid as exc:
            failed = True
            print(exc, file=sys.stderr)
            continue
        canonical = render_case_file(document)
        if path.read_text(encoding="utf-8") != canonical:
            path.write_text(canonical, encoding="utf-8")
            print(f"reformatted {path}")
    if failed:
        raise typer.Exit(1)


@cases_app.command("import")
def cases_import(
    paths: Annotated[list[Path] | None, typer.Argument()] = None,
    bundle_file: Annotated[
        Path | None, typer.Option("--bundle", help="Import a zip bundle, all or nothing.")
    ] = None,
    keep_status: Annotated[
        bool,
        typer.Option(
            "--keep-status",
            help="Keep the status each file states instead of draft (needs --reason; "
            "a curated case must pass the de-identification check).",
        ),
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why the stated status is kept (audited).")
    ] = None,
) -> None:
    """Import case files as drafts; an existing slug with the same content is left as it is."""
    from ethicsforum import migrate
    from ethicsforum.cases import importing
    from ethicsforum.db import write_session
    from ethicsforum.errors import Invalid

    if (bundle_file is None) == (not paths):
        die("give case files or folders, or --bundle FILE.zip (not both)", 2)
    try:
        override = importing.override_of(None, keep_status=keep_status, reason=reason)
    except Invalid:
        die("--keep-status needs --reason TEXT (1 to 500 characters), and --reason needs it", 2)
    settings = load_settings()
    engine = connect(settings)
    migrate.upgrade(settings)
    if bundle_file is not None:
        _import_bundle(settings, engine, bundle_file, override)
        return
    paths = paths or []
    with write_session(engine) as session:
        result = importing.import_directory(
            session, paths=_expand(paths), frameworks=settings.frameworks, override=override
        )
    for slug in result.created:
        print(f"imported {slug}")
    for slug in result.unchanged:
        print(f"unchanged {slug}")
    if result.created and override is None:
        print(
            "ethicsforum: imported cases arrive as drafts for review "
            "(--keep-status --reason TEXT keeps the status each file states)",
            file=sys.stderr,
        )
    for problem in result.problems:
        print(problem, file=sys.stderr)
    if result.problems:
        raise typer.Exit(1)


def _import_bundle(
    settings: Settings, engine: Engine, path: Path, override: importing.Override | None
) -> None:
    from ethicsforum.cases import bundle
    from ethicsforum.db import write_session
    from ethicsforum.errors import Conflict, Invalid

    try:
        raw = path.read_bytes()
    except OSError as exc:
        die(f"cannot read {path}: {exc.strerror}")
    with write_session(engine) as session:
        try:
            result = bundle.import_bundle(
                session,
                raw=raw,
                frameworks=settings.frameworks,
                actor_id=None,
                override=override,
                via="command line",
            )
        except (Invalid, Conflict) as exc:
            for problem in getattr(exc, "problems", []):
                print(bundle.describe(problem), file=sys.stderr)
            die(exc.message)
    for slug in result.imported:
        print(f"imported {slug}")
    for slug in result.unchanged:
        print(f"unchanged {slug}")


@cases_app.command("export")
def cases_export(
    slugs: Annotated[list[str] | None, typer.Argument(metavar="SLUG...")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
    version: Annotated[int | None, typer.Option(min=1)] = None,
    bundle_file: Annotated[
        Path | None,
        typer.Option("--bundle", help="Write the cases (all, when none is named) as one zip."),
    ] = None,
) -> None:
    """Write a case in the case file format to FILE or standard output, or a bundle."""
    from ethicsforum.cases import service
    from ethicsforum.db import read_session

    if bundle_file is not None:
        if version is not None or output is not None:
            die("--bundle writes each case's current version to its own FILE.zip", 2)
        _export_bundle(bundle_file, slugs or [])
        return
    if not slugs or len(slugs) != 1:
        die("name one case to export, or use --bundle FILE.zip for several", 2)
    slug = slugs[0]
    settings = load_settings()
    engine = connect(settings)
    with read_session(engine) as session:
        try:
            text = service.export_case(session, slug=slug, statuses=None, version=version)
        except service.CaseNotFound as exc:
            die(exc.message)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def _export_bundle(path: Path, slugs: list[str]) -> None:
    from ethicsforum.cases import bundle, service
    from ethicsforum.db import read_session
    from ethicsforum.errors import Invalid

    settings = load_settings()
    engine = connect(settings)
    with read_session(engine) as session:
        try:
            data = bundle.export_bundle(
                session,
                slugs=bundle.bundle_slugs(slugs) or bundle.library_slugs(session),
                statuses=None,
            )
        except (service.CaseNotFound, Invalid) as exc:
            die(exc.message)
    path.write_bytes(data)
    print(f"ethicsforum: wrote {path}", file=sys.stderr)


@users_app.command("create")
def users_create(
    username: str,
    role: Annotated[str, typer.Option(help="student, faculty, committee or admin")],
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    profession: Annotated[str | None, typer.Option("--profession")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Create an account; the password is read from standard input."""
    from ethicsforum import migrate
    from ethicsforum.accounts import service
    from ethicsforum.db import write_session
    from ethicsforum.errors import DomainError

    if not password_stdin:
        die("pass --password-stdin and give the password on standard input", 2)
    password = sys.stdin.readline().rstrip("\r\n")
    settings = load_settings()
    engine = connect(settings)
    migrate.upgrade(settings)
    with write_session(engine) as session:
        try:
            account = service.create_account(
                session,
                new=service.NewAccount(
                    username=username,
                    password=password,
                    role=role,
                    display_name=display_name,
                    profession=profession,
                ),
                by="cli",
            )
        except DomainError as exc:
            die(exc.message)
    print(f"created {account.role} {account.username}")
