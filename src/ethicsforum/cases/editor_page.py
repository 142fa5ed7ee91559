"""What the case editor's page shows around its form: de-identification warnings beside
their fields, the error summary at the top, and the case page's confirmation after a save."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from ethicsforum.cases import deid, service
from ethicsforum.cases.editor import (
    FOUR_BOX,
    FOUR_BOX_KEYS,
    LABELS,
    ROW_NAME,
    EditorForm,
    lines_of,
    list_limits,
)
from ethicsforum.cases.fileformat import MAX_VIGNETTE, SLUG_HINT
from ethicsforum.markdown import render_markdown

# ---- de-identification warnings (cases/deid.py) -----------------------------------------


def _entry_lines(text: str) -> list[int]:
    """The line of the form field each one-per-line entry was typed on (blank lines skipped)."""
    return [n + 1 for n, line in enumerate(text.split("\n")) if line.strip()]


def deid_fields(form: EditorForm) -> dict[str, str]:
    """The form's texts under the names cases.deid gives them (options.0.label, tags.1…).

    The names match deid.content_fields, so an accepted warning is recognised here too.
    References are left out, as cases.deid leaves them: citations carry names and dates.
    The check runs as the editor is typed in, so what it reads is bounded like the case:
    lists at their most entries and each text at the vignette's length (a longer field is
    refused by validation anyway).
    """
    values = form.values
    fields = {
        name: values[name]
        for name in ("title", "summary", "question", "vignette", "change_note")
        if values[name].strip()
    }
    for row in form.rows:
        if row.label.strip():
            fields[f"options.{row.index}.label"] = row.label
    objectives = lines_of(values["learning_objectives"])
    for n, objective in enumerate(objectives[: list_limits("learning_objectives")[1]]):
        fields[f"learning_objectives.{n}"] = objective
    tags = [t.strip() for t in values["tags"].split(",") if t.strip()]
    for n, tag in enumerate(tags[: list_limits("tags")[1]]):
        fields[f"tags.{n}"] = tag
    for key in FOUR_BOX_KEYS:
        if values[f"four_box-{key}"].strip():
            fields[f"four_box.{key}"] = values[f"four_box-{key}"]
    return {name: text[:MAX_VIGNETTE] for name, text in fields.items()}


def form_name(deid_field: str) -> str:
    """The form field a warning about `options.2.label` or `tags.1` belongs beside."""
    parts = deid_field.split(".")
    if parts[0] == "options" and len(parts) == 3 and parts[1].isdigit():
        return f"options-{parts[1]}-{parts[2]}"
    if parts[0] == "four_box" and len(parts) == 2:
        return f"four_box-{parts[1]}"
    return parts[0] if parts[0] in LABELS else "form"


@dataclass(frozen=True)
class DeidNote:
    """A warning beside a field; `accepted` when a committee member already accepted it."""

    text: str
    accepted: bool = False


def _line_in_form(warning: deid.DeidWarning, form: EditorForm) -> int | None:
    parts = warning.field.split(".")
    if parts[0] == "learning_objectives" and len(parts) == 2 and parts[1].isdigit():
        lines = _entry_lines(form.values["learning_objectives"])
        return lines[int(parts[1])] if int(parts[1]) < len(lines) else None
    if parts[0] in ("vignette", "four_box"):
        return warning.line
    return None  # one-line fields


def warning_text(warning: deid.DeidWarning, form: EditorForm) -> str:
    """May identify a person (name): “John Smith” (line 3)."""
    label = deid.KIND_LABELS.get(warning.kind, warning.kind.replace("_", " "))
    kind = re.sub(r"^(?:an?|the) ", "", label)  # "a name" reads "(name)"
    line = _line_in_form(warning, form)
    where = f" (line {line})" if line is not None else ""
    return f"May identify a person ({kind}): “{warning.text}”{where}"


def deid_warnings(
    form: EditorForm, accepted: Collection[tuple[str, str, str]] = ()
) -> dict[str, list[DeidNote]]:
    """Text that may identify a person, by the form field it is in (never blocks a save).

    `accepted` holds the (field, kind, text) of warnings already accepted for this case.
    """
    out: dict[str, list[DeidNote]] = {}
    for warning in deid.check_fields(deid_fields(form)):
        is_accepted = (warning.field, warning.kind, warning.text) in accepted
        text = warning_text(warning, form) + (" — accepted" if is_accepted else "")
        notes = out.setdefault(form_name(warning.field), [])
        if all(note.text != text for note in notes):
            notes.append(DeidNote(text, is_accepted))
    return out


def accepted_warnings(session: Session, view: service.CaseView) -> set[tuple[str, str, str]]:
    """The (field, kind, text) of every warning accepted for this case."""
    return set(deid.acceptances(session, case_id=view.case.id or 0))


@dataclass(frozen=True)
class SavedNotice:
    """The case page's confirmation after a save, with what is left to de-identify."""

    version: int
    warnings: int


def saved_notice(session: Session, view: service.CaseView, saved: int | None) -> SavedNotice | None:
    """The confirmation for `?saved=N`, shown only on the version that was saved."""
    if saved is None or saved != view.version.version:
        return None
    content = service.document_of(view)
    left = deid.unresolved(session, case_id=view.case.id or 0, content=content)
    return SavedNotice(saved, len(left))


# ---- the error summary at the top of the page -------------------------------------------

_ORDER = (
    "form",
    "slug",
    "title",
    "summary",
    "vignette",
    *(f"four_box-{key}" for key in FOUR_BOX_KEYS),
    "question",
    "options",
    "frameworks",
    "tags",
    "learning_objectives",
    "references",
    "change_note",
)


@dataclass(frozen=True)
class SummaryItem:
    """One line of the error summary: a message and the element it links to ("" for none)."""

    name: str
    target: str
    label: str
    message: str


def _rank(name: str) -> tuple[int, int, int]:
    match = ROW_NAME.match(name)
    if match:
        return (_ORDER.index("options"), int(match[1]) + 1, 0 if match[2] == "key" else 1)
    return (_ORDER.index(name) if name in _ORDER else 0, 0, 0)


def summary_of(
    errors: Mapping[str, str], form: EditorForm, framework_choices: Sequence[str]
) -> list[SummaryItem]:
    """The problems in the order of the form, each linking to its field."""
    items = []
    for name in sorted(errors, key=_rank):
        match = ROW_NAME.match(name)
        target = name
        label = LABELS.get(name, "This form")
        if match:
            label = f"Option {int(match[1]) + 1} {match[2]}"
        elif name == "options":
            target = f"options-{form.rows[0].index}-key" if form.rows else "add-option"
        elif name == "frameworks":
            target = f"frameworks-{framework_choices[0]}" if framework_choices else ""
        elif name == "form":
            target = ""
        items.append(SummaryItem(name, target, label, errors[name]))
    return items


def _warning_summary(warnings: Mapping[str, list[DeidNote]]) -> list[SummaryItem]:
    items = []
    for name in sorted(warnings, key=_rank):
        match = ROW_NAME.match(name)
        label = f"Option {int(match[1]) + 1} {match[2]}" if match else LABELS.get(name, name)
        count = sum(1 for note in warnings[name] if not note.accepted)
        if not count:
            continue
        message = f"{count} passage{'' if count == 1 else 's'}"
        items.append(SummaryItem(name, name, label, message))
    return items


_FRAMEWORK_NAME = re.compile(r"^[a-z0-9-]{1,40}$")


def page_context(
    form: EditorForm,
    *,
    mode: str,
    framework_choices: Sequence[str],
    errors: Mapping[str, str] | None = None,
    notes: Mapping[str, str] | None = None,
    focus: str | None = None,
    accepted: Collection[tuple[str, str, str]] = (),
    **extra: Any,
) -> dict[str, Any]:
    """What cases/edit.html needs to show this form, its problems and its warnings.

    `errors` are a failed save's problems (listed in the summary too); `notes` are messages
    beside a field after another button, such as "at most 6 options".
    """
    errors = dict(errors or {})
    # The case's own frameworks first, in its order (the form sends ticked boxes in page
    # order, so a save keeps the order); then the other configured ones. A framework no
    # longer configured stays visible (and is reported) rather than vanish.
    choices = [
        name for name in form.frameworks if name in framework_choices or _FRAMEWORK_NAME.match(name)
    ] + [name for name in framework_choices if name not in form.frameworks]
    warnings = deid_warnings(form, accepted)
    vignette = form.values["vignette"]
    return {
        "mode": mode,
        "form": form,
        "errors": {**(notes or {}), **errors},
        "warnings": warnings,
        "summary": summary_of(errors, form, choices),
        "warning_summary": _warning_summary(warnings),
        "framework_choices": choices,
        "four_box": FOUR_BOX,
        "option_limits": list_limits("options"),
        "slug_hint": SLUG_HINT,
        "preview_html": render_markdown(vignette) if vignette.strip() else "",
        "focus": focus,
        **extra,
    }
