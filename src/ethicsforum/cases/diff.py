"""A case's history and the changes between two of its versions, field by field."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any, Literal

from sqlmodel import Session, col, select

from ethicsforum.accounts.models import Account
from ethicsforum.cases import service
from ethicsforum.cases.models import CaseVersion

Op = Literal["equal", "insert", "delete"]
Kind = Literal["text", "list"]

# Words, runs of whitespace and runs of punctuation, so "consent." against "consent;" marks
# only the stop, and rejoining the tokens gives back the text exactly.
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]+")
# Above this many token pairs, difflib's junk heuristic keeps a rewrite of a long vignette
# fast (it ignores very common tokens such as single spaces when looking for anchors).
_EXACT_LIMIT = 1_000_000

FOUR_BOX = (
    ("medical_indications", "Four-box: medical indications"),
    ("patient_preferences", "Four-box: patient preferences"),
    ("quality_of_life", "Four-box: quality of life"),
    ("contextual_features", "Four-box: contextual features"),
)


@dataclass(frozen=True)
class Segment:
    """A run of text that is the same in both versions, or only in the newer or older one."""

    op: Op
    text: str


@dataclass(frozen=True)
class ItemChange:
    """A list item whose text changed: an option's label (with its key) or an edited entry."""

    before: str
    after: str
    changes: list[Segment]
    key: str | None = None


@dataclass(frozen=True)
class FieldDiff:
    """What changed in one field: word changes for text, items for lists."""

    field: str
    label: str
    kind: Kind
    changes: list[Segment] = _field(default_factory=list)
    added: list[Any] = _field(default_factory=list)
    removed: list[Any] = _field(default_factory=list)
    changed: list[ItemChange] = _field(default_factory=list)


@dataclass(frozen=True)
class CaseDiff:
    """Two versions of one case and the fields that differ between them (only those)."""

    view: service.CaseView
    before: CaseVersion
    after: CaseVersion
    fields: list[FieldDiff]


@dataclass(frozen=True)
class HistoryEntry:
    version: CaseVersion
    author: str | None


@dataclass(frozen=True)
class History:
    """A case at its current version, and every version newest first."""

    view: service.CaseView
    entries: list[HistoryEntry]


# ---- text -------------------------------------------------------------------------------


def _push(out: list[Segment], op: Op, text: str) -> None:
    if not text:
        return
    if out and out[-1].op == op:
        out[-1] = Segment(op, out[-1].text + text)
    else:
        out.append(Segment(op, text))


def _matcher(a: Sequence[str], b: Sequence[str]) -> difflib.SequenceMatcher[str]:
    return difflib.SequenceMatcher(None, a, b, autojunk=len(a) * len(b) > _EXACT_LIMIT)


def _word_changes(out: list[Segment], before: str, after: str) -> None:
    a, b = _TOKEN.findall(before), _TOKEN.findall(after)
    # (deleted, inserted) for a change, (text, text) for what stayed the same.
    chunks: list[tuple[str, str, bool]] = []
    for tag, i1, i2, j1, j2 in _matcher(a, b).get_opcodes():
        old, new = "".join(a[i1:i2]), "".join(b[j1:j2])
        if tag != "equal" and len(chunks) >= 2 and _foldable(chunks[-2], chunks[-1], old, new):
            # Whitespace alone between two replacements joins them, so "big red" -> "small
            # blue" reads as one change rather than two.
            space = chunks.pop()[0]
            deleted, inserted, _ = chunks.pop()
            chunks.append((deleted + space + old, inserted + space + new, False))
        else:
            chunks.append((old, new, tag == "equal"))
    for old, new, same in chunks:
        if same:
            _push(out, "equal", old)
        else:
            _push(out, "delete", old)
            _push(out, "insert", new)


def _foldable(
    change: tuple[str, str, bool], between: tuple[str, str, bool], old: str, new: str
) -> bool:
    return (
        not change[2]
        and between[2]
        and between[0].isspace()
        and all((change[0], change[1], old, new))
    )


def word_diff(before: str, after: str) -> list[Segment]:
    """The changes from one text to another, word by word; the segments rebuild both texts.

    Lines are matched first, so a long vignette with one edited paragraph is compared word
    by word only where it changed.
    """
    out: list[Segment] = []
    if before == after:
        _push(out, "equal", before)
        return out
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    for tag, i1, i2, j1, j2 in _matcher(a, b).get_opcodes():
        if tag == "equal":
            _push(out, "equal", "".join(a[i1:i2]))
        else:
            _word_changes(out, "".join(a[i1:i2]), "".join(b[j1:j2]))
    return out


def _text_field(name: str, label: str, before: str, after: str) -> FieldDiff | None:
    if before == after:
        return None
    return FieldDiff(name, label, "text", changes=word_diff(before, after))


# ---- lists ------------------------------------------------------------------------------


def _string_list(name: str, label: str, before: list[str], after: list[str]) -> FieldDiff | None:
    """Entries added and removed; an entry replaced in place counts as changed."""
    if before == after:
        return None
    added: list[Any] = []
    removed: list[Any] = []
    changed: list[ItemChange] = []
    for tag, i1, i2, j1, j2 in _matcher(before, after).get_opcodes():
        old, new = before[i1:i2], after[j1:j2]
        if tag == "replace":
            paired = min(len(old), len(new))
            changed += [ItemChange(o, n, word_diff(o, n)) for o, n in zip(old, new, strict=False)]
            removed += old[paired:]
            added += new[paired:]
        elif tag != "equal":
            removed += old
            added += new
    return FieldDiff(name, label, "list", added=added, removed=removed, changed=changed)


def _string_set(name: str, label: str, before: list[str], after: list[str]) -> FieldDiff | None:
    """Names added and removed; their order carries no meaning."""
    added = [x for x in after if x not in before]
    removed = [x for x in before if x not in after]
    if not (added or removed):
        return None
    return FieldDiff(name, label, "list", added=added, removed=removed)


def _options(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> FieldDiff | None:
    """Options matched by key: new keys, dropped keys, and relabelled ones."""
    old = {str(o["key"]): str(o["label"]) for o in before}
    new = {str(o["key"]): str(o["label"]) for o in after}
    added = [{"key": k, "label": v} for k, v in new.items() if k not in old]
    removed = [{"key": k, "label": v} for k, v in old.items() if k not in new]
    changed = [
        ItemChange(old[k], v, word_diff(old[k], v), key=k)
        for k, v in new.items()
        if k in old and old[k] != v
    ]
    if not (added or removed or changed):
        return None
    return FieldDiff("options", "Options", "list", added=added, removed=removed, changed=changed)


def _derived(value: dict[str, Any] | None) -> str:
    return f"{value['slug']}, version {value['version']}" if value else ""


def diff_versions(before: CaseVersion, after: CaseVersion) -> list[FieldDiff]:
    """The fields that differ between two versions, in the order the case page shows them."""
    old_box, new_box = before.four_box or {}, after.four_box or {}
    found = [
        _text_field("title", "Title", before.title, after.title),
        _text_field("summary", "Summary", before.summary, after.summary),
        _text_field("vignette", "Vignette", before.vignette, after.vignette),
        _text_field("question", "Question", before.question, after.question),
        _options(before.options, after.options),
        _string_set("frameworks", "Frameworks", before.frameworks, after.frameworks),
        _string_set("tags", "Tags", before.tags, after.tags),
        *(
            _text_field(f"four_box.{key}", label, old_box.get(key) or "", new_box.get(key) or "")
            for key, label in FOUR_BOX
        ),
        _string_list(
            "learning_objectives",
            "Learning objectives",
            before.learning_objectives,
            after.learning_objectives,
        ),
        _string_list("references", "References", before.references, after.references),
        _text_field(
            "derived_from",
            "Derived from",
            _derived(before.derived_from),
            _derived(after.derived_from),
        ),
    ]
    return [f for f in found if f is not None]


# ---- reading ----------------------------------------------------------------------------


def compare_versions(
    session: Session, *, slug: str, statuses: Collection[str] | None, before: int, after: int
) -> CaseDiff:
    """The changes from version `before` to version `after` of a case.

    Raises CaseNotFound for a case the viewer may not see or a version that does not exist.
    """
    old = service.get_case(session, slug=slug, statuses=statuses, version=before)
    new = service.get_case(session, slug=slug, statuses=statuses, version=after)
    current = service.CaseView(new.case, new.version)
    return CaseDiff(current, old.version, new.version, diff_versions(old.version, new.version))


def version_history(session: Session, *, slug: str, statuses: Collection[str] | None) -> History:
    """Every version of a case, newest first, each with its author's display name."""
    view = service.get_case(session, slug=slug, statuses=statuses)
    versions = service.list_versions(session, slug=slug, statuses=statuses)
    names = display_names(session, {v.created_by_id for v in versions})
    return History(view, [HistoryEntry(v, names.get(v.created_by_id)) for v in versions])


def display_names(session: Session, ids: Collection[int | None]) -> dict[int | None, str]:
    """Display names by account id, in one query."""
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = session.exec(
        select(Account.id, Account.display_name).where(col(Account.id).in_(wanted))
    ).all()
    return dict(rows)
