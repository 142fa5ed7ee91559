"""The case library: import, read, search and export cases and their versions."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, and_, func, text
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from ethicsforum.accounts.models import Account
from ethicsforum.cases.fileformat import (
    CaseContent,
    CaseDocument,
    CaseFileInvalid,
    parse_case_file,
    render_case_file,
)
from ethicsforum.cases.models import CaseStatus, CaseVersion, EthicsCase
from ethicsforum.db import utcnow
from ethicsforum.errors import Conflict, Invalid, NotFound
from ethicsforum.markdown import render_markdown

MAX_SEARCH_TERMS = 12


class CaseNotFound(NotFound):
    """No such case, or not one this user may see."""


class CaseConflict(Conflict):
    """A case with this slug exists with different content."""


@dataclass(frozen=True)
class CaseView:
    """A case with the content of one of its versions."""

    case: EthicsCase
    version: CaseVersion


@dataclass(frozen=True)
class CasePage:
    items: list[CaseView]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class ImportResult:
    case: EthicsCase
    created: bool


def document_of(view: CaseView) -> CaseDocument:
    """The case file document for one version of a case."""
    v = view.version
    return CaseDocument.model_validate(
        {
            "slug": view.case.slug,
            "title": v.title,
            "summary": v.summary,
            "question": v.question,
            "options": v.options,
            "frameworks": v.frameworks,
            "tags": v.tags,
            "status": view.case.status,
            "version": v.version,
            "references": v.references,
            "learning_objectives": v.learning_objectives,
            "four_box": v.four_box,
            "derived_from": v.derived_from,
            "vignette": v.vignette,
        }
    )


def _new_version(
    case_id: int, document: CaseDocument, *, actor_id: int | None, change_note: str
) -> CaseVersion:
    content = document.model_dump(mode="json")
    return CaseVersion(
        case_id=case_id,
        version=document.version,
        title=document.title,
        summary=document.summary,
        question=document.question,
        vignette=document.vignette,
        options=content["options"],
        frameworks=list(document.frameworks),
        tags=list(document.tags),
        references=list(document.references),
        learning_objectives=list(document.learning_objectives),
        four_box=content["four_box"],
        derived_from=content["derived_from"],
        tags_text=" ".join(document.tags),
        vignette_html=render_markdown(document.vignette),
        change_note=change_note,
        created_by_id=actor_id,
    )


def _index_for_search(session: Session, case: EthicsCase, version: CaseVersion) -> None:
    """Keep SQLite's FTS5 row for a case in step with its current version.

    PostgreSQL needs nothing here: its GIN expression index follows case_version by itself.
    """
    if session.get_bind().dialect.name != "sqlite":
        return
    session.execute(text("DELETE FROM case_search WHERE rowid = :id"), {"id": case.id})
    session.execute(
        text(
            "INSERT INTO case_search (rowid, title, summary, vignette, tags) "
            "VALUES (:id, :title, :summary, :vignette, :tags)"
        ),
        {
            "id": case.id,
            "title": version.title,
            "summary": version.summary,
            "vignette": version.vignette,
            "tags": version.tags_text,
        },
    )


def import_case(
    session: Session, *, document: CaseDocument, actor_id: int | None = None
) -> ImportResult:
    """Add a case from a case file document, exactly as the file states it, status included.

    For the project's own files (the test and benchmark libraries). Files from anywhere else
    go through cases/importing.py, which decides the status a case arrives with and audits it.
    A slug already in the library with the same content is left alone (created=False);
    with different content it raises CaseConflict, since an import never overwrites.
    """
    result = stage_import(session, document=document, actor_id=actor_id)
    if result.created:
        session.commit()
    return result


def same_content(view: CaseView, document: CaseDocument) -> bool:
    """Whether a document is this case's current version, whatever status either states.

    The status is this library's own workflow state, which an import never changes.
    """
    stated = document.model_copy(update={"status": CaseStatus(view.case.status)})
    return render_case_file(document_of(view)) == render_case_file(stated)


def slug_exists(session: Session, slug: str) -> bool:
    """Whether the library holds a case under this slug, in any status."""
    found = session.exec(select(EthicsCase.id).where(EthicsCase.slug == slug)).first()
    return found is not None


def stage_import(
    session: Session,
    *,
    document: CaseDocument,
    actor_id: int | None,
    status: CaseStatus | None = None,
) -> ImportResult:
    """import_case without the commit, so a bundle of cases is one unit of work.

    A new case gets `status`, or the document's own when None.
    """
    existing = session.exec(select(EthicsCase).where(EthicsCase.slug == document.slug)).first()
    if existing is not None:
        if same_content(_current_view(session, existing), document):
            return ImportResult(existing, created=False)
        raise CaseConflict(
            f"a case with the slug {document.slug!r} already exists with different content"
        )
    now = utcnow()
    case = EthicsCase(
        slug=document.slug,
        status=(status or document.status).value,
        current_version=document.version,
        created_at=now,
        updated_at=now,
        created_by_id=actor_id,
    )
    session.add(case)
    session.flush()
    version = _new_version(case.id or 0, document, actor_id=actor_id, change_note="Imported")
    version.created_at = now
    session.add(version)
    session.flush()
    _index_for_search(session, case, version)
    return ImportResult(case, created=True)


@dataclass(frozen=True)
class DirectoryImport:
    created: list[str]
    unchanged: list[str]
    problems: list[str]


def import_directory(
    session: Session, *, paths: Iterable[Path], frameworks: Sequence[str]
) -> DirectoryImport:
    """Import case files; each is its own unit of work, so one bad file stops no other."""
    created: list[str] = []
    unchanged: list[str] = []
    problems: list[str] = []
    for path in paths:
        try:
            document = read_case_file(path, frameworks=frameworks)
            result = import_case(session, document=document)
        except CaseFileInvalid as exc:
            problems.extend(str(p) for p in exc.problems)
            continue
        except CaseConflict as exc:
            session.rollback()
            problems.append(f"{path}: {exc.message}")
            continue
        (created if result.created else unchanged).append(document.slug)
    return DirectoryImport(created, unchanged, problems)


def read_case_file(path: Path, *, frameworks: Sequence[str]) -> CaseDocument:
    """Parse one file, checking that its slug matches its name."""
    from ethicsforum.cases.fileformat import Problem

    try:
        text_ = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CaseFileInvalid(
            [Problem(1, "", f"expected UTF-8 text ({exc.reason} at byte {exc.start})", str(path))]
        ) from None
    except OSError as exc:
        raise CaseFileInvalid([Problem(1, "", f"cannot read: {exc.strerror}", str(path))]) from None
    return parse_case_file(
        text_,
        frameworks=frameworks,
        source=str(path),
        expected_slug=path.stem if path.suffix == ".md" else None,
    )


def count_cases(session: Session) -> int:
    return session.exec(select(func.count()).select_from(EthicsCase)).one()


def _current_view(session: Session, case: EthicsCase) -> CaseView:
    version = session.exec(
        select(CaseVersion).where(
            CaseVersion.case_id == case.id, CaseVersion.version == case.current_version
        )
    ).one()
    return CaseView(case, version)


def get_case(
    session: Session,
    *,
    slug: str,
    statuses: Collection[str] | None,
    version: int | None = None,
    history: bool = True,
) -> CaseView:
    """One case, at its current version or the one asked for.

    `statuses` are those the viewer may see (None: all); without `history` only the
    current version may be asked for. Raises CaseNotFound for a case that is absent or
    not visible, and for a version that does not exist or may not be seen.
    """
    case = session.exec(select(EthicsCase).where(EthicsCase.slug == slug)).first()
    if case is None or (statuses is not None and case.status not in statuses):
        raise CaseNotFound(f"no case {slug!r}")
    number = case.current_version if version is None else version
    if not history and number != case.current_version:
        raise CaseNotFound(f"case {slug!r} has no version {number}")
    found = session.exec(
        select(CaseVersion).where(CaseVersion.case_id == case.id, CaseVersion.version == number)
    ).first()
    if found is None:
        raise CaseNotFound(f"case {slug!r} has no version {number}")
    return CaseView(case, found)


def list_versions(
    session: Session, *, slug: str, statuses: Collection[str] | None
) -> list[CaseVersion]:
    """Every version of a case, newest first."""
    view = get_case(session, slug=slug, statuses=statuses)
    return list(
        session.exec(
            select(CaseVersion)
            .where(CaseVersion.case_id == view.case.id)
            .options(defer(CaseVersion.vignette), defer(CaseVersion.vignette_html))  # type: ignore[arg-type]
            .order_by(col(CaseVersion.version).desc())
        )
    )


def _is_current_version() -> ColumnElement[bool]:
    return and_(
        col(CaseVersion.case_id) == col(EthicsCase.id),
        col(CaseVersion.version) == col(EthicsCase.current_version),
    )


def search_terms(q: str | None) -> list[str]:
    """The words of a query; punctuation and operators are never passed to the engine."""
    if not q:
        return []
    return re.findall(r"\w+", q.lower())[:MAX_SEARCH_TERMS]


def _json_list_contains(dialect: str, column: str, param: str) -> str:
    # `column` and `param` are fixed names from this module; the value is a bound parameter.
    if dialect == "sqlite":
        return (
            f"EXISTS (SELECT 1 FROM json_each(case_version.{column}) AS j "  # noqa: S608
            f"WHERE j.value = :{param})"
        )
    return f"(case_version.{column})::jsonb @> jsonb_build_array(CAST(:{param} AS text))"


def list_cases(
    session: Session,
    *,
    statuses: Collection[str] | None,
    q: str | None = None,
    framework: str | None = None,
    tag: str | None = None,
    status: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> CasePage:
    """A page of current case versions, best matches first when searching, else by title.

    `q` is full-text over title, summary, vignette and tags (every word must match, each as
    a prefix on SQLite). `statuses` limits to what the viewer may see.
    """
    dialect = session.get_bind().dialect.name
    current = _is_current_version()
    conditions: list[object] = []
    params: dict[str, object] = {}
    if statuses is not None:
        conditions.append(col(EthicsCase.status).in_(list(statuses)))
    if status:
        conditions.append(EthicsCase.status == status)
    if framework:
        conditions.append(text(_json_list_contains(dialect, "frameworks", "fw")))
        params["fw"] = framework
    if tag:
        conditions.append(text(_json_list_contains(dialect, "tags", "tg")))
        params["tg"] = tag

    terms = search_terms(q)
    rank = None
    if terms and dialect == "sqlite":
        params["match"] = " ".join(f'"{t}"*' for t in terms)
        conditions.append(
            text("ethics_case.id IN (SELECT rowid FROM case_search WHERE case_search MATCH :match)")
        )
        rank = text(
            "(SELECT bm25(case_search, 10.0, 4.0, 1.0, 6.0) FROM case_search "
            "WHERE case_search MATCH :match AND case_search.rowid = ethics_case.id)"
        )
    elif terms:
        params["tsq"] = " & ".join(f"{t}:*" for t in terms)
        # The same expression as the GIN index, so PostgreSQL can use it.
        conditions.append(
            text(
                "to_tsvector('english'::regconfig, case_version.title || ' ' || "
                "case_version.summary || ' ' || case_version.vignette || ' ' || "
                "case_version.tags_text) @@ to_tsquery('english'::regconfig, :tsq)"
            )
        )
        rank = text(
            "ts_rank(setweight(to_tsvector('english'::regconfig, case_version.title), 'A') || "
            "setweight(to_tsvector('english'::regconfig, case_version.tags_text), 'A') || "
            "setweight(to_tsvector('english'::regconfig, case_version.summary), 'B') || "
            "to_tsvector('english'::regconfig, case_version.vignette), "
            "to_tsquery('english'::regconfig, :tsq)) DESC"
        )

    total = session.exec(
        select(func.count()).select_from(EthicsCase).join(CaseVersion, current).where(*conditions),  # type: ignore[arg-type]
        params=params,
    ).one()
    query = (
        select(EthicsCase, CaseVersion)
        .join(CaseVersion, current)
        .where(*conditions)  # type: ignore[arg-type]
        .options(defer(CaseVersion.vignette), defer(CaseVersion.vignette_html))  # type: ignore[arg-type]
    )
    order: list[Any] = [rank] if rank is not None else []
    order += [func.lower(CaseVersion.title), EthicsCase.slug]
    rows = session.exec(
        query.order_by(*order).offset((page - 1) * per_page).limit(per_page), params=params
    ).all()
    return CasePage([CaseView(c, v) for c, v in rows], total, page, per_page)


def library_tags(session: Session, *, statuses: Collection[str] | None) -> list[str]:
    """Every tag used by a visible case's current version, for the filter list."""
    query = select(CaseVersion.tags).join(EthicsCase, _is_current_version())

    if statuses is not None:
        query = query.where(col(EthicsCase.status).in_(list(statuses)))
    tags: set[str] = set()
    for row in session.exec(query):
        tags.update(row)
    return sorted(tags)


def export_case(
    session: Session, *, slug: str, statuses: Collection[str] | None, version: int | None = None
) -> str:
    """The case file text of a case version, which imports back as an equal case."""
    return render_case_file(
        document_of(get_case(session, slug=slug, statuses=statuses, version=version))
    )


VISIBLE_TO_ALL = frozenset({CaseStatus.curated.value})


def check_frameworks(content: CaseContent, *, allowed: Sequence[str]) -> None:
    """Raise Invalid, naming each offending entry, if a framework is not configured."""
    problems = [
        {
            "loc": ["body", "frameworks", i],
            "type": "value_error",
            "input": name,
            "msg": f"framework {name!r} is not configured; expected one of " + ", ".join(allowed),
        }
        for i, name in enumerate(content.frameworks)
        if name not in allowed
    ]
    if problems:
        raise Invalid("unknown framework", problems)


def create_case(
    session: Session,
    *,
    slug: str,
    content: CaseContent,
    actor: Account,
    change_note: str = "Created",
) -> CaseView:
    """Start a case as a draft at version 1; Conflict if the slug is taken."""
    if session.exec(select(EthicsCase.id).where(EthicsCase.slug == slug)).first() is not None:
        raise CaseConflict(f"a case with the slug {slug!r} already exists")
    document = CaseDocument.model_validate(
        {**content.model_dump(), "slug": slug, "status": CaseStatus.draft, "version": 1}
    )
    now = utcnow()
    case = EthicsCase(
        slug=slug,
        status=CaseStatus.draft.value,
        current_version=1,
        created_at=now,
        updated_at=now,
        created_by_id=actor.id,
    )
    session.add(case)
    session.flush()
    version = _new_version(case.id or 0, document, actor_id=actor.id, change_note=change_note)
    version.created_at = now
    session.add(version)
    session.flush()
    _index_for_search(session, case, version)
    session.commit()
    return CaseView(case, version)


def revise_case(
    session: Session, *, slug: str, content: CaseContent, change_note: str, actor: Account
) -> CaseView:
    """Add a new version with this content; earlier versions stay as they were."""
    current = get_case(session, slug=slug, statuses=None)
    case = current.case
    document = CaseDocument.model_validate(
        {
            **content.model_dump(),
            "slug": slug,
            "status": case.status,
            "version": case.current_version + 1,
        }
    )
    now = utcnow()
    version = _new_version(
        case.id or 0, document, actor_id=actor.id, change_note=change_note.strip()
    )
    version.created_at = now
    case.current_version = document.version
    case.updated_at = now
    session.add(version)
    session.add(case)
    session.flush()
    _index_for_search(session, case, version)
    session.commit()
    return CaseView(case, version)
