"""Case bundles: several case files and a manifest in one zip, exported and imported whole.

A bundle holds `manifest.json` and one `<slug>.md` per case, each byte for byte what the
single-case export gives. Import checks everything before writing anything: a bad bundle
changes nothing, and every problem is reported with its file (and line, inside a case file).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ethicsforum.cases import importing, service
from ethicsforum.cases.fileformat import (
    SLUG_RE,
    CaseDocument,
    CaseFileInvalid,
    parse_case_file,
    render_case_file,
)
from ethicsforum.cases.models import EthicsCase
from ethicsforum.db import utcnow
from ethicsforum.errors import Conflict, Invalid
from ethicsforum.params import BodyVersion

MANIFEST = "manifest.json"
FORMAT = 1
MAX_CASES = 200
MAX_FILES = MAX_CASES + 1
# A bundle unpacks to at most this much: a zip bomb is refused before it is inflated.
MAX_UNCOMPRESSED_BYTES = 10 * 1024 * 1024
MAX_BUNDLE_BYTES = 10 * 1024 * 1024
MEDIA_TYPE = "application/zip"


class ManifestEntry(BaseModel):
    """One case in a bundle's manifest."""

    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=SLUG_RE.pattern, max_length=80)
    version: BodyVersion
    file: str = Field(min_length=1, max_length=200)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Manifest(BaseModel):
    """manifest.json: the format, when it was made, and each case with its checksum."""

    model_config = ConfigDict(extra="forbid")

    format: Literal[1]
    exported_at: str = Field(min_length=1, max_length=64)
    cases: list[ManifestEntry] = Field(min_length=1, max_length=MAX_CASES)


class BundleConflict(Conflict):
    """Cases in the bundle exist here with different content; every one is listed."""

    def __init__(self, message: str, problems: list[dict[str, Any]]):
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True)
class BundleImport:
    imported: list[str]
    unchanged: list[str]


class BundleImportPublic(BaseModel):
    """What the bundle import answers: the slugs added and those already here unchanged."""

    imported: list[str]
    unchanged: list[str]


def bundle_slugs(raw: str | Sequence[str]) -> list[str]:
    """The slugs asked for, comma-separated or listed, without blanks or repeats, in order."""
    parts = raw.split(",") if isinstance(raw, str) else [p for r in raw for p in r.split(",")]
    return list(dict.fromkeys(p.strip() for p in parts if p.strip()))


def library_slugs(session: Session) -> list[str]:
    """Every case's slug, in order: what a bundle of the whole library holds."""
    return list(session.exec(select(EthicsCase.slug).order_by(col(EthicsCase.slug))))


def describe(problem: dict[str, Any]) -> str:
    """One problem as a line: `file:line: message`, as `cases validate` prints them."""
    where, message = problem.get("file") or "bundle", problem["msg"]
    if problem.get("line") is not None:
        where += f":{problem['line']}"
        field = ".".join(str(p) for p in problem["loc"][2:])
        message = f"{field}: {message}" if field else message
    return f"{where}: {message}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def export_bundle(
    session: Session,
    *,
    slugs: Sequence[str],
    statuses: Collection[str] | None,
    now: datetime | None = None,
) -> bytes:
    """A zip of the current version of each case, with a manifest of their checksums.

    Raises Invalid when no case or too many are asked for, and CaseNotFound naming every
    slug that is absent or not visible.
    """
    if not slugs:
        raise Invalid(
            "name at least one case",
            [{"loc": ["query", "slugs"], "type": "missing", "msg": "name at least one case"}],
        )
    if len(slugs) > MAX_CASES:
        message = f"a bundle holds at most {MAX_CASES} cases; {len(slugs)} were asked for"
        raise Invalid(message, [{"loc": ["query", "slugs"], "type": "too_long", "msg": message}])
    views, missing = [], []
    for slug in slugs:
        try:
            views.append(service.get_case(session, slug=slug, statuses=statuses))
        except service.CaseNotFound:
            missing.append(slug)
    if missing:
        raise service.CaseNotFound("no case " + ", ".join(repr(s) for s in missing))
    stamp = (now or utcnow()).astimezone(UTC).replace(microsecond=0)
    files = [
        (f"{v.case.slug}.md", v, render_case_file(service.document_of(v)).encode("utf-8"))
        for v in views
    ]
    manifest = {
        "format": FORMAT,
        "exported_at": stamp.isoformat().replace("+00:00", "Z"),
        "cases": [
            {
                "slug": v.case.slug,
                "version": v.version.version,
                "file": name,
                "sha256": _sha256(data),
            }
            for name, v, data in files
        ],
    }
    manifest_bytes = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    if len(manifest_bytes) + sum(len(d) for _, _, d in files) > MAX_UNCOMPRESSED_BYTES:
        message = "these cases together are too large for one bundle; export fewer at a time"
        raise Invalid(message, [{"loc": ["query", "slugs"], "type": "too_long", "msg": message}])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in [(MANIFEST, manifest_bytes)] + [(n, d) for n, _, d in files]:
            info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out.getvalue()


def _problem(file: str, msg: str, *, line: int | None = None, field: str = "") -> dict[str, Any]:
    if not file:  # the bundle as a whole
        return {"loc": ["body"], "type": "bundle", "msg": msg}
    loc: list[Any] = ["body", file, *[p for p in field.split(".") if p]]
    problem: dict[str, Any] = {"loc": loc, "type": "bundle", "file": file, "msg": msg}
    if line is not None:
        problem["line"] = line
        problem["type"] = "case_file"
    return problem


def _plain_name(name: str) -> bool:
    return bool(name) and not any(bad in name for bad in ("/", "\\", "..", "\x00", ":"))


def _unpack(raw: bytes, problems: list[dict[str, Any]]) -> dict[str, bytes] | None:
    """Each plain-named file of the zip, read within the size limits; problems noted.

    None when the bundle as a whole cannot be read (not a zip, or over a limit).
    """
    if len(raw) > MAX_BUNDLE_BYTES:
        problems.append(_problem("", f"a bundle may be at most {MAX_BUNDLE_BYTES} bytes"))
        return None
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        problems.append(_problem("", "expected a zip file (application/zip) of case files"))
        return None
    if len(infos) > MAX_FILES:
        problems.append(
            _problem("", f"a bundle holds at most {MAX_FILES} files; this one has {len(infos)}")
        )
        return None
    if sum(i.file_size for i in infos) > MAX_UNCOMPRESSED_BYTES:
        problems.append(
            _problem("", f"a bundle may unpack to at most {MAX_UNCOMPRESSED_BYTES} bytes")
        )
        return None
    files: dict[str, bytes] = {}
    budget = MAX_UNCOMPRESSED_BYTES
    for info in infos:
        name = info.filename
        if not _plain_name(name):
            problems.append(
                _problem(name, "expected a plain file name, with no folder, '/', '\\' or '..'")
            )
            continue
        if name in files:
            problems.append(_problem(name, "appears more than once in the bundle"))
            continue
        if name != MANIFEST and not name.endswith(".md"):
            problems.append(_problem(name, f"expected only {MANIFEST} and <slug>.md case files"))
            continue
        if info.flag_bits & 0x1:
            problems.append(_problem(name, "is encrypted; expected a plain zip"))
            continue
        try:
            with archive.open(info) as member:
                # Read no more than the budget allows, whatever the header claims.
                data = member.read(min(info.file_size, budget) + 1)
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, RuntimeError) as exc:
            problems.append(_problem(name, f"cannot be unpacked: {exc}"))
            continue
        if len(data) > info.file_size or len(data) > budget:
            problems.append(_problem(name, "unpacks to more than the bundle's size limit"))
            return None
        budget -= len(data)
        files[name] = data
    return files


def _read_manifest(data: bytes, problems: list[dict[str, Any]]) -> Manifest | None:
    try:
        raw = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        problems.append(_problem(MANIFEST, "expected UTF-8 text", line=1))
        return None
    except json.JSONDecodeError as exc:
        problems.append(_problem(MANIFEST, f"is not valid JSON: {exc.msg}", line=exc.lineno))
        return None
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            text = f"{field}: {message}" if field else message
            problems.append(_problem(MANIFEST, text, field=field))
        return None


def _parse(
    name: str, data: bytes, frameworks: Sequence[str], problems: list[dict[str, Any]]
) -> CaseDocument | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(_problem(name, f"expected UTF-8 text ({exc.reason})", line=1))
        return None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        problems.append(_problem(name, "text may not contain the NUL character", line=line))
        return None
    try:
        return parse_case_file(
            text, frameworks=frameworks, source=name, expected_slug=name.removesuffix(".md")
        )
    except CaseFileInvalid as exc:
        problems.extend(_problem(name, p.message, line=p.line, field=p.field) for p in exc.problems)
        return None


def read_bundle(raw: bytes, *, frameworks: Sequence[str]) -> list[CaseDocument]:
    """Every case of a bundle, in manifest order, once the whole bundle has been checked.

    Raises Invalid listing every problem: not a zip, unsafe or unexpected names, sizes over
    the limits, the manifest missing or malformed, a listed file missing, a checksum or
    version that does not match, an unlisted file, and each case file's own problems.
    """
    problems: list[dict[str, Any]] = []
    files = _unpack(raw, problems)
    if files is None:
        raise Invalid("the bundle cannot be imported; nothing was changed", problems)
    manifest = None
    if MANIFEST in files:
        manifest = _read_manifest(files[MANIFEST], problems)
    else:
        problems.append(_problem(MANIFEST, "is missing; a bundle lists its cases in it"))
    documents = {
        name: _parse(name, data, frameworks, problems)
        for name, data in files.items()
        if name != MANIFEST
    }
    ordered: list[CaseDocument] = []
    if manifest is not None:
        listed: set[str] = set()
        for i, entry in enumerate(manifest.cases):
            where = f"cases.{i}"
            if entry.file != f"{entry.slug}.md":
                problems.append(
                    _problem(MANIFEST, f"{where}.file: expected {entry.slug}.md", field=where)
                )
                continue
            if entry.file in listed:
                problems.append(
                    _problem(MANIFEST, f"{where}: {entry.file} is listed twice", field=where)
                )
                continue
            listed.add(entry.file)
            if entry.file not in files:
                problems.append(_problem(entry.file, "is listed in manifest.json but missing"))
                continue
            actual = _sha256(files[entry.file])
            if actual != entry.sha256:
                problems.append(
                    _problem(
                        entry.file,
                        f"its sha256 is {actual}, not {entry.sha256} as manifest.json says: "
                        "the file was changed after export",
                    )
                )
            document = documents.get(entry.file)
            if document is not None and document.version != entry.version:
                problems.append(
                    _problem(
                        entry.file,
                        f"is version {document.version}, not {entry.version} as manifest.json says",
                    )
                )
            if document is not None:
                ordered.append(document)
        for name in documents:
            if name not in listed:
                problems.append(_problem(name, "is not listed in manifest.json"))
    if problems:
        raise Invalid("the bundle cannot be imported; nothing was changed", problems)
    return ordered


def import_bundle(
    session: Session,
    *,
    raw: bytes,
    frameworks: Sequence[str],
    actor_id: int | None,
    override: importing.Override | None = None,
    via: str = "api",
) -> BundleImport:
    """Import every case of a bundle, or none of them.

    Each case follows the single import's rules (cases/importing.py): new slugs arrive as
    drafts, or with the status their file states under an override that passes the
    de-identification gate; the same content is left unchanged, different content is a
    conflict. Raises Invalid (see read_bundle), BundleConflict listing every conflicting
    case or deid.DeidUnresolved listing every warning; either way nothing is written.
    """
    documents = read_bundle(raw, frameworks=frameworks)
    conflicts = []
    for document in documents:
        try:
            existing = service.get_case(session, slug=document.slug, statuses=None)
        except service.CaseNotFound:
            continue
        if not service.same_content(existing, document):
            conflicts.append(
                _problem(
                    f"{document.slug}.md",
                    f"a case with the slug {document.slug!r} already exists with different content",
                )
                | {"type": "conflict"}
            )
    if conflicts:
        raise BundleConflict(
            f"{len(conflicts)} case(s) already exist with different content; nothing was changed",
            conflicts,
        )
    importing.check(session, documents, override)
    imported: list[str] = []
    unchanged: list[str] = []
    try:
        for document in documents:
            result = importing.stage(
                session, document=document, actor_id=actor_id, override=override, via=via
            )
            (imported if result.created else unchanged).append(document.slug)
        session.commit()
    except (IntegrityError, service.CaseConflict):
        # Someone added one of these slugs while we were importing.
        session.rollback()
        raise Conflict("a case of this bundle was added meanwhile; nothing was changed") from None
    return BundleImport(imported, unchanged)
