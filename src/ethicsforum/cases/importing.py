"""Which status an imported case arrives with, and the audit entry every import leaves.

A case file states a status, but curation is this library's own decision: a file from
elsewhere (the import API, a bundle, `ethicsforum cases import`) arrives as a draft, whatever
it says, and goes through review and the de-identification gate like any new case. The stated
status is kept only through an override with a reason: an admin's (`keep_status` on the API)
or the operator's (`--keep-status --reason` on the command line). Even then a case stating
`curated` must pass the de-identification gate, which a new case can only pass with no
warnings at all (nobody has accepted any yet); otherwise the import is refused with each
warning listed.

The first-run import of the configured case folder (the project's own reviewed library)
keeps the stated status through the same gate: a file whose text raises warnings arrives
as a draft instead, and the audit entry and the command's output say why.

An import never changes an existing case: the same content under the same slug is left as
it is (whatever status either side states), different content is a conflict.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session

from ethicsforum.accounts.models import Account, Role
from ethicsforum.cases import deid, service
from ethicsforum.cases.fileformat import CaseDocument, CaseFileInvalid
from ethicsforum.cases.models import CaseStatus
from ethicsforum.errors import Invalid, NotAllowed
from ethicsforum.moderation.models import AuditEntry

MAX_REASON = 500


@dataclass(frozen=True)
class Override:
    """Keep the status the file states, for this reason (an admin's or the operator's)."""

    reason: str


def override_of(actor: Account | None, *, keep_status: bool, reason: str | None) -> Override | None:
    """The override asked for, checked: only an admin (or the operator, actor None) may.

    Raises NotAllowed (403) for anyone else asking, Invalid (422) for a reason that is
    missing or longer than MAX_REASON, or a reason given without keep_status.
    """
    text = (reason or "").strip()
    if not keep_status:
        if text:
            raise Invalid(
                "a reason goes with keep_status",
                [
                    {
                        "loc": ["query", "reason"],
                        "type": "value_error",
                        "msg": "a reason is only kept with keep_status=true",
                    }
                ],
            )
        return None
    if actor is not None and actor.role != Role.admin:
        raise NotAllowed(
            "only an admin may keep the status a case file states; "
            "imported cases arrive as drafts and go through review"
        )
    if not text or len(text) > MAX_REASON:
        raise Invalid(
            "keeping the stated status needs a reason",
            [
                {
                    "loc": ["query", "reason"],
                    "type": "missing" if not text else "value_error",
                    "msg": f"give a reason of 1 to {MAX_REASON} characters; it is kept in the "
                    "audit log",
                }
            ],
        )
    return Override(text)


def _gate(document: CaseDocument) -> list[deid.DeidWarning]:
    """The warnings standing between this document and the status curated."""
    if document.status != CaseStatus.curated:
        return []
    return deid.check_content(document)


def _refuse(document: CaseDocument, warnings: list[deid.DeidWarning]) -> deid.DeidUnresolved:
    count = f"{len(warnings)} warning{'' if len(warnings) == 1 else 's'}"
    return deid.DeidUnresolved(
        f"the case {document.slug!r} may identify a person ({count}), so it cannot arrive "
        "curated; import it as a draft, then accept or remove each warning and curate it",
        [
            {
                "loc": ["body", "vignette" if w.field == "vignette" else w.field],
                "type": "deid_unresolved",
                "msg": "may identify a person: " + deid.describe(w),
                "file": f"{document.slug}.md",
                "field": w.field,
                "kind": w.kind,
                "text": w.text,
            }
            for w in warnings
        ],
    )


def check(session: Session, documents: Iterable[CaseDocument], override: Override | None) -> None:
    """Raise DeidUnresolved (409), listing every warning of every case, if the override
    would make a new case curated that the de-identification gate holds back.

    A slug already in the library is left out: its import changes nothing.
    """
    problems: list[dict[str, Any]] = []
    refused: list[str] = []
    if override is None:
        return
    for document in documents:
        warnings = _gate(document)
        if warnings and service.slug_exists(session, document.slug):
            continue
        if warnings:
            refused.append(document.slug)
            problems.extend(_refuse(document, warnings).problems)
    if problems:
        raise deid.DeidUnresolved(
            "may identify a person, so cannot arrive curated: "
            + ", ".join(refused)
            + "; import without keep_status, then accept or remove each warning and curate",
            problems,
        )


def stage(
    session: Session,
    *,
    document: CaseDocument,
    actor_id: int | None,
    override: Override | None,
    via: str,
    first_run: bool = False,
) -> service.ImportResult:
    """Add one case with the status the rules above give it, and audit it; no commit.

    Call `check` first when there is an override: this function does not raise for the
    de-identification gate, it falls back to draft (the first-run import's rule).
    """
    stated = document.status
    keeps = override is not None or first_run
    held_back = keeps and bool(_gate(document))
    status = stated if keeps and not held_back else CaseStatus.draft
    result = service.stage_import(session, document=document, actor_id=actor_id, status=status)
    if result.created:
        detail: dict[str, Any] = {
            "slug": document.slug,
            "version": document.version,
            "stated_status": stated.value,
            "status": status.value,
            "via": via,
        }
        if held_back:
            detail["held_back"] = "the de-identification check raised warnings"
        session.add(
            AuditEntry(
                actor_id=actor_id,
                action="case_import",
                target_type="case",
                target_id=result.case.id,
                reason=override.reason if override else None,
                detail=detail,
            )
        )
    return result


def import_case(
    session: Session,
    *,
    document: CaseDocument,
    actor: Account | None,
    keep_status: bool = False,
    reason: str | None = None,
    via: str = "api",
) -> service.ImportResult:
    """Import one case file document under the rules above (see override_of and check)."""
    override = override_of(actor, keep_status=keep_status, reason=reason)
    check(session, [document], override)
    result = stage(
        session,
        document=document,
        actor_id=actor.id if actor else None,
        override=override,
        via=via,
    )
    if result.created:
        session.commit()
    return result


@dataclass(frozen=True)
class DirectoryImport:
    created: list[str]
    unchanged: list[str]
    problems: list[str]
    # Cases that stated curated but arrived as drafts, each with why.
    held_back: list[str]


def import_directory(
    session: Session,
    *,
    paths: Iterable[Path],
    frameworks: Sequence[str],
    override: Override | None = None,
    first_run: bool = False,
) -> DirectoryImport:
    """Import case files as the operator; each file is its own unit of work.

    Without an override every case arrives as a draft. With one (or on the first run) a
    case keeps its stated status; a curated one the de-identification gate holds back is a
    problem with an override, a draft with its reason on the first run.
    """
    created: list[str] = []
    unchanged: list[str] = []
    problems: list[str] = []
    held_back: list[str] = []
    for path in paths:
        try:
            document = service.read_case_file(path, frameworks=frameworks)
            check(session, [document], override)
            result = stage(
                session,
                document=document,
                actor_id=None,
                override=override,
                via="first run" if first_run else "command line",
                first_run=first_run,
            )
            if result.created:
                session.commit()
        except CaseFileInvalid as exc:
            problems.extend(str(p) for p in exc.problems)
            continue
        except deid.DeidUnresolved as exc:
            problems.append(f"{path}: {exc.message}")
            problems.extend(f"{path}: {p['msg']}" for p in exc.problems)
            continue
        except service.CaseConflict as exc:
            session.rollback()
            problems.append(f"{path}: {exc.message}")
            continue
        if first_run and result.created and result.case.status != document.status:
            held_back.append(f"{path}: may identify a person, so it arrived as a draft")
        (created if result.created else unchanged).append(document.slug)
    return DirectoryImport(created, unchanged, problems, held_back)
