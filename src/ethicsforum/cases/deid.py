"""The de-identification check: warnings for case text that may identify a person.

The kinds follow the textual identifiers of HIPAA's Safe Harbor list (deid_rules.py finds
them). A warning is advice, not a verdict: a committee member may accept one with a reason
(kept as a DeidAcceptance, keyed by the flagged text so it holds in later versions), and a
case moves to curated only when none is left unaccepted. References are never checked:
citations of guidance legitimately carry names, dates and addresses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ethicsforum.accounts.models import Account
from ethicsforum.cases import deid_rules
from ethicsforum.cases.fileformat import (
    CaseContent,
    CaseDocument,
    load_front_matter,
    parse_case_file,
)
from ethicsforum.cases.models import CaseVersion, DeidAcceptance
from ethicsforum.errors import Conflict, Invalid, NotFound
from ethicsforum.moderation.models import AuditEntry

KINDS = deid_rules.KINDS
KIND_LABELS = {
    "name": "a name",
    "location": "a place or address",
    "date": "a date",
    "age": "an age over 89",
    "phone": "a phone number",
    "fax": "a fax number",
    "email": "an e-mail address",
    "id_number": "a record or identifying number",
    "url": "a web address",
    "ip": "an IP address",
}
MAX_REASON = 500


def kind_name(kind: str) -> str:
    """A kind in a word or two for a sentence: "phone number", "record or identifying number"."""
    label = KIND_LABELS.get(kind, kind.replace("_", " "))
    return label.removeprefix("an ").removeprefix("a ")


@dataclass(frozen=True)
class DeidWarning:
    """One span of one field that may identify a person.

    `start` and `end` are character offsets within the field's text; `line` is the 1-based
    line within that text or, for a Markdown case file, within the file.
    """

    field: str
    line: int | None
    start: int
    end: int
    kind: str
    text: str


def _is_reference(field: str) -> bool:
    return field == "references" or field.startswith("references.")


def check_text(text: str, *, field: str) -> list[DeidWarning]:
    """The warnings for one field's text."""
    return [
        DeidWarning(
            field=field,
            line=text.count("\n", 0, f.start) + 1,
            start=f.start,
            end=f.end,
            kind=f.kind,
            text=text[f.start : f.end],
        )
        for f in deid_rules.find(text)
    ]


def check_fields(fields: Mapping[str, str]) -> list[DeidWarning]:
    """The warnings for each named text field, in the order given; references are skipped."""
    warnings: list[DeidWarning] = []
    for field, text in fields.items():
        if text and not _is_reference(field):
            warnings.extend(check_text(text, field=field))
    return warnings


def content_fields(content: CaseContent) -> dict[str, str]:
    """A case's text fields by dotted name, as warnings name them (references left out)."""
    fields: dict[str, str] = {
        "title": content.title,
        "summary": content.summary,
        "question": content.question,
    }
    for i, option in enumerate(content.options):
        fields[f"options.{i}.label"] = option.label
    for i, objective in enumerate(content.learning_objectives):
        fields[f"learning_objectives.{i}"] = objective
    for i, tag in enumerate(content.tags):
        fields[f"tags.{i}"] = tag
    if content.four_box is not None:
        for box, text in content.four_box.model_dump().items():
            if text:
                fields[f"four_box.{box}"] = text
    fields["vignette"] = content.vignette
    return fields


def check_content(content: CaseContent) -> list[DeidWarning]:
    """The warnings for every text field of a case except its references."""
    return check_fields(content_fields(content))


def _field_lines(text: str) -> dict[str, int]:
    """The file line each front-matter field's value starts on, and the vignette's."""
    lines = text.replace("\r\n", "\n").removeprefix("\ufeff").split("\n")
    close = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    # The file has already parsed, so the bounded loader accepts it again.
    node, _ = load_front_matter("\n".join(lines[1:close]))
    # The vignette starts after the closing line, less the blank lines the parser strips.
    body = "\n".join(lines[close + 1 :])
    found: dict[str, int] = {
        "vignette": close + 2 + body[: len(body) - len(body.lstrip())].count("\n")
    }

    def walk(n: yaml.Node, path: str) -> None:
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                walk(value, f"{path}.{key.value}" if path else str(key.value))
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, f"{path}.{i}")
        else:
            # The opening line of a `|` block holds no text; the value starts on the next.
            block = isinstance(n, yaml.ScalarNode) and n.style in {"|", ">"}
            found[path] = n.start_mark.line + 2 + (1 if block else 0)

    if node is not None:
        walk(node, "")
    return found


def _file_line(lines: list[str], first: int, warning: DeidWarning) -> int:
    """The file line holding the flagged text, searching from the field's first line.

    Plain YAML scalars fold their line breaks into spaces, so the offset alone cannot say
    on which line of a long front-matter value the text sits.
    """
    probe = warning.text.split()[0] if warning.text.split() else warning.text
    for needle in (warning.text, probe):
        for number in range(first, min(len(lines), first + 200) + 1):
            if needle in lines[number - 1]:
                return number
    return first


def check_case_file(text: str, *, frameworks: Iterable[str] | None = None) -> list[DeidWarning]:
    """The warnings for a Markdown case file, each with its line within the file.

    Raises CaseFileInvalid, listing every problem, for a file that does not parse.
    """
    document: CaseDocument = parse_case_file(
        text, frameworks=list(frameworks) if frameworks else None, source="body"
    )
    starts = _field_lines(text)
    lines = text.replace("\r\n", "\n").removeprefix("\ufeff").split("\n")
    out: list[DeidWarning] = []
    for w in check_content(document):
        if w.field == "vignette":
            line = starts["vignette"] + (w.line or 1) - 1
        else:
            line = _file_line(lines, starts.get(w.field, 1), w)
        out.append(
            DeidWarning(
                field=w.field, line=line, start=w.start, end=w.end, kind=w.kind, text=w.text
            )
        )
    return out


def _key(field: str, kind: str, text: str) -> tuple[str, str, str]:
    return (field, kind, text)


def acceptances(session: Session, *, case_id: int) -> dict[tuple[str, str, str], DeidAcceptance]:
    """A case's accepted warnings, keyed by (field, kind, text)."""
    rows = session.exec(select(DeidAcceptance).where(DeidAcceptance.case_id == case_id))
    return {_key(a.field, a.kind, a.text): a for a in rows}


def unresolved(session: Session, *, case_id: int, content: CaseContent) -> list[DeidWarning]:
    """The warnings for this content that nobody has accepted for this case."""
    accepted = acceptances(session, case_id=case_id)
    return [w for w in check_content(content) if _key(w.field, w.kind, w.text) not in accepted]


class DeidUnresolved(Conflict):
    """Warnings nobody has accepted stand in the way; every one is listed."""

    def __init__(self, message: str, problems: list[dict[str, Any]]):
        super().__init__(message)
        self.problems = problems


def describe(warning: DeidWarning) -> str:
    """One warning in words, for error lists and pages."""
    where = f"{warning.field}, line {warning.line}" if warning.line else warning.field
    return f"{KIND_LABELS.get(warning.kind, warning.kind)} in {where}: {warning.text!r}"


def require_deidentified(session: Session, *, case_id: int, content: CaseContent) -> None:
    """Raise DeidUnresolved, listing each warning, unless every warning has been accepted."""
    left = unresolved(session, case_id=case_id, content=content)
    if left:
        count = f"{len(left)} warning{'' if len(left) == 1 else 's'}"
        raise DeidUnresolved(
            f"the case may identify a person: accept or remove {count} first",
            [
                {
                    "loc": ["body", "status"],
                    "type": "deid_unresolved",
                    "msg": "may identify a person: " + describe(w),
                    "field": w.field,
                    "line": w.line,
                    "start": w.start,
                    "end": w.end,
                    "kind": w.kind,
                    "text": w.text,
                }
                for w in left
            ],
        )


def content_of(version: CaseVersion) -> CaseContent:
    """The checkable content of a stored case version."""
    data: dict[str, Any] = {
        name: getattr(version, name)
        for name in (
            "title",
            "summary",
            "question",
            "options",
            "frameworks",
            "tags",
            "references",
            "learning_objectives",
            "four_box",
            "derived_from",
            "vignette",
        )
    }
    return CaseContent.model_validate(data)


def accept(
    session: Session,
    *,
    case_id: int,
    version: int,
    field: str,
    kind: str,
    text: str,
    reason: str,
    actor: Account,
) -> DeidAcceptance:
    """Accept one warning of a case version, with the reason it is not identifying.

    The warning must be one the check raises for that version (Invalid otherwise, as for
    an unknown kind or a reason outside 1 to 500 characters); accepting the same text of
    the same field and kind twice is a Conflict. The acceptance is audited.
    """
    reason = reason.strip()
    problems: list[dict[str, Any]] = []
    if not reason or len(reason) > MAX_REASON:
        problems.append(
            {
                "loc": ["body", "reason"],
                "type": "value_error",
                "msg": f"give a reason of 1 to {MAX_REASON} characters",
            }
        )
    if kind not in KINDS:
        problems.append(
            {
                "loc": ["body", "kind"],
                "type": "value_error",
                "msg": "expected one of " + ", ".join(KINDS),
            }
        )
    stored = session.exec(
        select(CaseVersion).where(CaseVersion.case_id == case_id, CaseVersion.version == version)
    ).first()
    if stored is None:
        raise NotFound(f"no version {version} of this case")
    current = check_content(content_of(stored))
    if not problems and not any((w.field, w.kind, w.text) == (field, kind, text) for w in current):
        problems.append(
            {
                "loc": ["body", "text"],
                "type": "value_error",
                "msg": f"version {version} has no {kind} warning for {text!r} in {field}",
            }
        )
    if problems:
        raise Invalid("that warning cannot be accepted", problems)
    if _key(field, kind, text) in acceptances(session, case_id=case_id):
        raise Conflict(f"the {kind} warning for {text!r} in {field} is already accepted")
    acceptance = DeidAcceptance(
        case_id=case_id,
        version=version,
        field=field,
        kind=kind,
        text=text,
        reason=reason,
        accepted_by_id=actor.id or 0,
    )
    session.add(acceptance)
    session.add(
        AuditEntry(
            actor_id=actor.id,
            action="deid_accept",
            target_type="case",
            target_id=case_id,
            reason=reason,
            detail={"version": version, "field": field, "kind": kind, "text": text},
        )
    )
    try:
        session.commit()
    except IntegrityError:
        # Someone accepted the same warning in the moment since we looked.
        session.rollback()
        raise Conflict(f"the {kind} warning for {text!r} in {field} is already accepted") from None
    session.refresh(acceptance)
    return acceptance
