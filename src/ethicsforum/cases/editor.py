"""The case editor's form: parsed into CaseCreate/CaseUpdate, and their problems by field.

The rules live in the case models (fileformat.CaseContent, schemas.CaseCreate/CaseUpdate);
this module only turns form fields into their input and pydantic's errors back into a
message beside each form field. What the page shows besides (de-identification warnings,
the error summary) is in cases/editor_page.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from ethicsforum.cases import service
from ethicsforum.cases.fileformat import SLUG_HINT, CaseContent, CaseOption
from ethicsforum.cases.schemas import CaseCreate, CaseUpdate
from ethicsforum.errors import DomainError

FOUR_BOX = (
    (
        "medical_indications",
        "Medical indications",
        "The clinical facts: diagnosis, prognosis, treatments and their chances.",
    ),
    (
        "patient_preferences",
        "Patient preferences",
        "What the patient wants, their capacity, and who decides if they cannot.",
    ),
    (
        "quality_of_life",
        "Quality of life",
        "Their life with and without treatment, and whose judgement that is.",
    ),
    (
        "contextual_features",
        "Contextual features",
        "Family, team, law, resources, faith and conflicts of interest.",
    ),
)
FOUR_BOX_KEYS = tuple(key for key, _, _ in FOUR_BOX)
TEXT_FIELDS = (
    "slug",
    "title",
    "summary",
    "question",
    "vignette",
    "tags",
    "references",
    "learning_objectives",
    "change_note",
    *(f"four_box-{key}" for key in FOUR_BOX_KEYS),
)
LABELS = {
    "form": "This form",
    "slug": "Slug",
    "title": "Title",
    "summary": "Summary",
    "question": "The question",
    "vignette": "Vignette",
    "options": "Options",
    "frameworks": "Frameworks",
    "tags": "Tags",
    "references": "References",
    "learning_objectives": "Learning objectives",
    "change_note": "Change note",
    **{f"four_box-{key}": f"Four-box: {label}" for key, label, _ in FOUR_BOX},
}
# What the live check may be asked about; also keeps the name safe to echo into an id.
FIELD_PATTERN = r"^(?:[a-z_]{1,32}|options-\d{1,4}-(?:key|label)|four_box-[a-z_]{1,32})$"
ROW_NAME = re.compile(r"^options-(\d{1,4})-(key|label)$")
MAX_ROWS = 50  # parsed at most; the models allow far fewer, and say so
_NOUNS = {
    "options": ("option", "options"),
    "frameworks": ("framework", "frameworks"),
    "tags": ("tag", "tags"),
    "references": ("reference", "references"),
    "learning_objectives": ("learning objective", "learning objectives"),
}

Model = TypeVar("Model", bound=BaseModel)


class EditingRefused(DomainError):
    """Someone who may read the case but not write the library asked for the editor."""

    status_code = 403
    title = "Not allowed"


def list_limits(name: str) -> tuple[int, int | None]:
    """The fewest and most entries the case models allow in a list field."""
    low, high = 0, None
    for item in CaseContent.model_fields[name].metadata:
        low = getattr(item, "min_length", None) or low
        high = getattr(item, "max_length", None) or high
    return low, high


@dataclass
class OptionRow:
    """One option as typed, under the index its form fields carry."""

    index: int
    key: str = ""
    label: str = ""

    @property
    def blank(self) -> bool:
        return not (self.key.strip() or self.label.strip())


@dataclass
class EditorForm:
    """Everything the editor shows, exactly as typed (nothing is dropped for display)."""

    values: dict[str, str]
    rows: list[OptionRow]
    frameworks: list[str] = field(default_factory=list)

    def renumbered(self) -> EditorForm:
        """The same rows numbered 0, 1, 2…, as a re-rendered page names them."""
        rows = [replace(row, index=n) for n, row in enumerate(self.rows)]
        return replace(self, rows=rows)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    # Browsers send line breaks as CRLF; the case file format (and its round trip) has LF.
    return value.replace("\r\n", "\n").replace("\r", "\n")


def blank_form() -> EditorForm:
    values = dict.fromkeys(TEXT_FIELDS, "")
    low, _ = list_limits("options")
    return EditorForm(values, [OptionRow(n) for n in range(low)])


def from_form(form: FormData) -> EditorForm:
    """The form as sent; option rows keep the indices their field names carry."""
    values = {name: _text(form, name) for name in TEXT_FIELDS}
    found: dict[int, OptionRow] = {}
    for name in form:
        match = ROW_NAME.match(name)
        if match:
            row = found.setdefault(int(match[1]), OptionRow(int(match[1])))
            setattr(row, match[2], _text(form, name))
    rows = [found[i] for i in sorted(found)][:MAX_ROWS]
    frameworks = [v for v in form.getlist("frameworks") if isinstance(v, str)][:50]
    return EditorForm(values, rows, frameworks)


def from_version(view: service.CaseView) -> EditorForm:
    """The form prefilled with one version of a case."""
    v = view.version
    four_box = v.four_box or {}
    values = dict.fromkeys(TEXT_FIELDS, "")
    values.update(
        slug=view.case.slug,
        title=v.title,
        summary=v.summary,
        question=v.question,
        vignette=v.vignette,
        tags=", ".join(v.tags),
        references="\n".join(v.references),
        learning_objectives="\n".join(v.learning_objectives),
    )
    for key in FOUR_BOX_KEYS:
        values[f"four_box-{key}"] = four_box.get(key) or ""
    rows = [OptionRow(n, str(o["key"]), str(o["label"])) for n, o in enumerate(v.options)]
    return EditorForm(values, rows, list(v.frameworks))


def number_in(form: FormData, name: str) -> int | None:
    value = form.get(name)
    # isdigit() alone admits "²", which int() refuses: ASCII digits only.
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 9:
        return int(value)
    return None


# ---- actions that re-render the form instead of saving (the page works without JS) -----


@dataclass(frozen=True)
class Rerender:
    """A form re-rendered for a button other than Save, with where to put the focus."""

    form: EditorForm
    focus: str | None = None
    notes: dict[str, str] = field(default_factory=dict)


def action_of(form: EditorForm, sent: FormData) -> Rerender | None:
    """Apply "Add an option", "Remove option N" or "Preview"; None for Save."""
    _, most = list_limits("options")
    if sent.get("add_option") is not None:
        if most is not None and len(form.rows) >= most:
            return Rerender(
                form.renumbered(),
                notes={"options": f"A case has at most {most} options; remove one first."},
            )
        grown = replace(form, rows=[*form.rows, OptionRow(-1)]).renumbered()
        return Rerender(grown, focus=f"options-{len(grown.rows) - 1}-key")
    removed = number_in(sent, "remove_option")
    if removed is not None:
        rows = [row for row in form.rows if row.index != removed]
        return Rerender(replace(form, rows=rows).renumbered(), focus="add-option")
    if sent.get("preview") is not None:
        return Rerender(form.renumbered(), focus="vignette-preview")
    return None


def next_row(form: EditorForm) -> OptionRow | None:
    """A new empty row after the highest index in use, or None when the case is full."""
    _, most = list_limits("options")
    if most is not None and len(form.rows) >= most:
        return None
    return OptionRow(max((row.index for row in form.rows), default=-1) + 1)


def without_row(form: EditorForm, index: int) -> EditorForm:
    return replace(form, rows=[row for row in form.rows if row.index != index])


# ---- validation through the case models -------------------------------------------------


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def _kept(form: EditorForm) -> list[OptionRow]:
    """Rows with something typed in them: wholly blank rows are not options."""
    return [row for row in form.rows if not row.blank]


def content_payload(form: EditorForm, *, derived_from: Mapping[str, Any] | None) -> dict[str, Any]:
    """The form as input for the case models (CaseContent and its subclasses)."""
    values = form.values
    four_box = {key: values[f"four_box-{key}"].strip() or None for key in FOUR_BOX_KEYS}
    return {
        "title": values["title"],
        "summary": values["summary"],
        "question": values["question"],
        "vignette": values["vignette"],
        "options": [{"key": row.key, "label": row.label} for row in _kept(form)],
        "frameworks": form.frameworks,
        "tags": [tag.strip() for tag in values["tags"].split(",") if tag.strip()],
        "references": lines_of(values["references"]),
        "learning_objectives": lines_of(values["learning_objectives"]),
        "four_box": four_box if any(four_box.values()) else None,
        "derived_from": dict(derived_from) if derived_from else None,
    }


def _field_of(loc: Sequence[Any], kept: list[OptionRow]) -> str:
    head = str(loc[0]) if loc else "form"
    if head == "options" and len(loc) >= 2 and isinstance(loc[1], int) and loc[1] < len(kept):
        part = loc[2] if len(loc) >= 3 and loc[2] in ("key", "label") else "key"
        return f"options-{kept[loc[1]].index}-{part}"
    if head == "four_box" and len(loc) >= 2 and loc[1] in FOUR_BOX_KEYS:
        return f"four_box-{loc[1]}"
    return head if head in LABELS else "form"


def _message(error: Mapping[str, Any], name: str) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return "This is required."
    if kind == "string_too_long":
        given = error.get("input")
        size = f" (this has {len(given):,})" if isinstance(given, str) else ""
        return f"Use at most {ctx['max_length']:,} characters{size}."
    if kind == "string_pattern_mismatch":
        return f"Use {SLUG_HINT}."
    if kind in {"too_short", "too_long"} and name in _NOUNS:
        one, many = _NOUNS[name]
        low, high = list_limits(name)
        actual = ctx.get("actual_length", 0)
        if kind == "too_short" and low == 1:
            return f"Choose at least one {one}."
        limit = f"at least {low}" if kind == "too_short" else f"at most {high}"
        return f"Give {limit} {many}; there {'is' if actual == 1 else 'are'} {actual}."
    text = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def errors_by_field(exc: ValidationError, form: EditorForm) -> dict[str, str]:
    """Every problem, keyed by the form field it belongs beside."""
    kept = _kept(form)
    collected: dict[str, list[str]] = {}
    for error in exc.errors():
        name = _field_of(error["loc"], kept)
        message = _message(error, name)
        if message not in collected.setdefault(name, []):
            collected[name].append(message)
    return {name: " ".join(messages) for name, messages in collected.items()}


def _validate(
    model: type[Model], payload: dict[str, Any], form: EditorForm, frameworks: Sequence[str]
) -> tuple[Model | None, dict[str, str]]:
    try:
        return model.model_validate(payload, context={"frameworks": list(frameworks)}), {}
    except ValidationError as exc:
        errors = errors_by_field(exc, form)
    # A list of the wrong length is refused before its rows are looked at; judge each row
    # by the same model anyway, so a bad key is reported now rather than after the count.
    kept = _kept(form)
    if "options" in errors and not any(name.startswith("options-") for name in errors):
        for position, option in enumerate(payload["options"]):
            try:
                CaseOption.model_validate(option)
            except ValidationError as exc:
                for error in exc.errors():
                    name = _field_of(("options", position, *error["loc"]), kept)
                    errors.setdefault(name, _message(error, name))
    return None, errors


def slug_in_use(session: Session, slug: str) -> bool:
    try:
        service.get_case(session, slug=slug, statuses=None, history=False)
    except service.CaseNotFound:
        return False
    return True


def taken_message(slug: str) -> str:
    return f"Another case already uses the slug “{slug}”; choose another."


def check_new(
    form: EditorForm, *, frameworks: Sequence[str], slug_taken: Callable[[str], bool]
) -> tuple[CaseCreate | None, dict[str, str]]:
    """A CaseCreate from the form, or every problem with it (a slug in use among them)."""
    payload = {**content_payload(form, derived_from=None), "slug": form.values["slug"].strip()}
    created, errors = _validate(CaseCreate, payload, form, frameworks)
    slug = payload["slug"]
    if "slug" not in errors and slug and slug_taken(slug):
        return None, {**errors, "slug": taken_message(slug)}
    return created, errors


def check_revision(
    form: EditorForm, *, frameworks: Sequence[str], derived_from: Mapping[str, Any] | None
) -> tuple[CaseUpdate | None, dict[str, str]]:
    """A CaseUpdate from the form (derived_from is kept from the case), or its problems."""
    payload = {
        **content_payload(form, derived_from=derived_from),
        "change_note": form.values["change_note"],
    }
    return _validate(CaseUpdate, payload, form, frameworks)


def content_of(model: BaseModel) -> CaseContent:
    """The content fields of a CaseCreate or CaseUpdate, as the service takes them."""
    return CaseContent.model_validate(model.model_dump(exclude={"slug", "change_note"}))


def check_field(
    form: EditorForm,
    name: str,
    *,
    creating: bool,
    frameworks: Sequence[str],
    slug_taken: Callable[[str], bool],
) -> str | None:
    """The problem with one field, judged by the same models as a save (for live checks)."""
    if creating:
        _, errors = check_new(
            form,
            frameworks=frameworks,
            slug_taken=slug_taken if name == "slug" else (lambda _: False),
        )
    else:
        _, errors = check_revision(form, frameworks=frameworks, derived_from=None)
    return errors.get(name)


def stale_message(base: int, current: int) -> str:
    return (
        f"Version {current} was saved while you were editing version {base}. What you typed "
        f"is kept below; compare it with the case page, then save again to make it version "
        f"{current + 1}."
    )
