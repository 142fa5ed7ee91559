"""What the case library's API sends and accepts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ethicsforum.cases.curation import MAX_COMMENT, ReviewEntry, ReviewVerdict
from ethicsforum.cases.deid import MAX_REASON, DeidWarning
from ethicsforum.cases.diff import CaseDiff, Segment
from ethicsforum.cases.fileformat import CaseContent, FourBox
from ethicsforum.cases.models import CaseStatus
from ethicsforum.cases.service import CaseView


class OptionPublic(BaseModel):
    key: str
    label: str


class CaseSummaryPublic(BaseModel):
    """A case in a list: enough to choose it."""

    slug: str
    title: str
    summary: str
    status: str
    frameworks: list[str]
    tags: list[str]
    version: int
    updated_at: datetime

    @classmethod
    def of(cls, view: CaseView) -> CaseSummaryPublic:
        v = view.version
        return cls(
            slug=view.case.slug,
            title=v.title,
            summary=v.summary,
            status=view.case.status,
            frameworks=v.frameworks,
            tags=v.tags,
            version=v.version,
            updated_at=v.created_at,
        )


class CaseList(BaseModel):
    """A page of the library."""

    items: list[CaseSummaryPublic]
    total: int
    page: int
    per_page: int


class Citation(BaseModel):
    """How to cite one version of a case."""

    title: str
    version: int
    date: str
    url: str
    text: str


class CasePublic(CaseSummaryPublic):
    """A whole case at one version."""

    vignette: str
    vignette_html: str
    question: str
    options: list[OptionPublic]
    references: list[str]
    learning_objectives: list[str]
    four_box: dict[str, Any] | None
    derived_from: dict[str, Any] | None
    current_version: int
    citation: Citation

    @classmethod
    def build(cls, view: CaseView, *, base_url: str) -> CasePublic:
        v = view.version
        summary = CaseSummaryPublic.of(view)
        return cls(
            **summary.model_dump(),
            vignette=v.vignette,
            vignette_html=v.vignette_html,
            question=v.question,
            options=[OptionPublic(**o) for o in v.options],
            references=v.references,
            learning_objectives=v.learning_objectives,
            four_box=v.four_box,
            derived_from=v.derived_from,
            current_version=view.case.current_version,
            citation=citation(view, base_url=base_url),
        )


def citation(view: CaseView, *, base_url: str) -> Citation:
    v = view.version
    date = v.created_at.date().isoformat()
    url = f"{base_url.rstrip('/')}/cases/{view.case.slug}?version={v.version}"
    return Citation(
        title=v.title,
        version=v.version,
        date=date,
        url=url,
        text=f"{v.title}. ethicsforum case library, version {v.version}, {date}. {url}",
    )


class CaseVersionInfo(BaseModel):
    """One entry of a case's history."""

    version: int
    updated_at: datetime
    updated_by: str | None
    change_note: str


class CaseCreate(CaseContent):
    """A new case from the API: it starts as a draft at version 1."""

    slug: str = Field(min_length=1, max_length=80, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

    @field_validator("slug")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_SLUGS:
            raise ValueError(f"{value!r} names a page of the library; choose another slug")
        return value


# Single-segment paths beside /cases/{slug} and /api/v1/cases/{slug}: a case with one of
# these slugs could never be opened.
RESERVED_SLUGS = frozenset(
    {"new", "preview", "option-row", "check", "export", "import", "import-bundle"}
)


class CaseUpdate(CaseContent):
    """Every content field of a revised case, and why it changed."""

    change_note: str = Field(min_length=1, max_length=500)


class StatusChange(BaseModel):
    """A move through draft, review, curated and retired; an admin may override the review."""

    status: CaseStatus
    reason: str | None = Field(default=None, max_length=500)
    override: bool = False


class ReviewCreate(BaseModel):
    """A library editor's review of a case's current version."""

    model_config = ConfigDict(str_strip_whitespace=True)

    verdict: ReviewVerdict
    comment: str = Field(min_length=1, max_length=MAX_COMMENT)


class ReviewerPublic(BaseModel):
    username: str
    display_name: str


class ReviewPublic(BaseModel):
    """One review of one version of a case, for those who look after the library."""

    id: int
    version: int
    verdict: str
    comment: str
    reviewer: ReviewerPublic
    created_at: datetime

    @classmethod
    def of(cls, entry: ReviewEntry) -> ReviewPublic:
        r = entry.review
        return cls(
            id=r.id or 0,
            version=r.version,
            verdict=r.verdict,
            comment=r.comment,
            reviewer=ReviewerPublic(username=entry.username, display_name=entry.display_name),
            created_at=r.created_at,
        )


class TextChangePublic(BaseModel):
    """A run of words the same in both versions, or only in the newer or the older one."""

    op: Literal["equal", "insert", "delete"]
    text: str


class ItemChangePublic(BaseModel):
    """A list item whose text changed (an option keeps its key)."""

    key: str | None = None
    before: str = Field(serialization_alias="from")
    after: str = Field(serialization_alias="to")
    changes: list[TextChangePublic]


class FieldDiffPublic(BaseModel):
    """What changed in one field: `changes` for text, `added`/`removed`/`changed` for lists."""

    field: str
    label: str
    kind: Literal["text", "list"]
    changes: list[TextChangePublic] | None = None
    added: list[OptionPublic | str] | None = None
    removed: list[OptionPublic | str] | None = None
    changed: list[ItemChangePublic] | None = None


class CaseDiffPublic(BaseModel):
    """The fields that differ between two versions of a case (unchanged ones are left out)."""

    slug: str
    before: int = Field(serialization_alias="from")
    after: int = Field(serialization_alias="to")
    fields: list[FieldDiffPublic]

    @classmethod
    def of(cls, found: CaseDiff) -> CaseDiffPublic:
        def segments(items: list[Segment]) -> list[TextChangePublic]:
            return [TextChangePublic(op=s.op, text=s.text) for s in items]

        fields = []
        for f in found.fields:
            if f.kind == "text":
                fields.append(
                    FieldDiffPublic(
                        field=f.field, label=f.label, kind=f.kind, changes=segments(f.changes)
                    )
                )
                continue
            fields.append(
                FieldDiffPublic(
                    field=f.field,
                    label=f.label,
                    kind=f.kind,
                    added=f.added,
                    removed=f.removed,
                    changed=[
                        ItemChangePublic(
                            key=c.key, before=c.before, after=c.after, changes=segments(c.changes)
                        )
                        for c in f.changed
                    ],
                )
            )
        return cls(
            slug=found.view.case.slug,
            before=found.before.version,
            after=found.after.version,
            fields=fields,
        )


class DeidWarningPublic(BaseModel):
    """Text that may identify a person: where it is (offsets within the field) and what kind."""

    field: str
    line: int | None = None
    start: int
    end: int
    kind: str
    text: str

    @classmethod
    def of(cls, warning: DeidWarning) -> DeidWarningPublic:
        return cls(
            field=warning.field,
            line=warning.line,
            start=warning.start,
            end=warning.end,
            kind=warning.kind,
            text=warning.text,
        )


class DeidCheckResult(BaseModel):
    """The answer to POST /cases/check."""

    warnings: list[DeidWarningPublic]


class CheckOption(BaseModel):
    """An option as the editor has it; only its label is checked."""

    model_config = ConfigDict(extra="ignore")

    key: str | None = Field(default=None, max_length=64)
    label: str = Field(default="", max_length=200)


class CaseCheckFields(BaseModel):
    """Some or all of a case's fields, in the shape of POST /cases, for the check.

    Every field is optional and unknown ones (slug, change_note, ...) are ignored;
    references are accepted but never checked.
    """

    model_config = ConfigDict(extra="ignore")

    title: str | None = Field(default=None, max_length=200)
    summary: str | None = Field(default=None, max_length=1000)
    question: str | None = Field(default=None, max_length=1000)
    vignette: str | None = Field(default=None, max_length=50_000)
    options: list[CheckOption] | None = Field(default=None, max_length=6)
    learning_objectives: list[Annotated[str, Field(max_length=1000)]] | None = Field(
        default=None, max_length=30
    )
    tags: list[Annotated[str, Field(max_length=40)]] | None = Field(default=None, max_length=20)
    four_box: FourBox | None = None
    references: list[Annotated[str, Field(max_length=1000)]] | None = Field(
        default=None, max_length=50
    )

    def text_fields(self) -> dict[str, str]:
        """The given text fields by the dotted names warnings use."""
        fields: dict[str, str] = {}
        for name in ("title", "summary", "question"):
            value = getattr(self, name)
            if value:
                fields[name] = value
        for i, option in enumerate(self.options or []):
            fields[f"options.{i}.label"] = option.label
        for i, objective in enumerate(self.learning_objectives or []):
            fields[f"learning_objectives.{i}"] = objective
        for i, tag in enumerate(self.tags or []):
            fields[f"tags.{i}"] = tag
        if self.four_box is not None:
            for box, text in self.four_box.model_dump().items():
                if text:
                    fields[f"four_box.{box}"] = text
        if self.vignette:
            fields["vignette"] = self.vignette
        return fields


class DeidAccepted(BaseModel):
    """Who accepted a warning, when and why."""

    reason: str
    by: str | None
    at: datetime


class DeidWarningState(DeidWarningPublic):
    """A warning of a case's current version, and its acceptance if it has one."""

    accepted: DeidAccepted | None


class DeidReport(BaseModel):
    """The warnings of a case's current version."""

    slug: str
    version: int
    warnings: list[DeidWarningState]
    unresolved: int


class DeidAcceptInput(BaseModel):
    """A committee member's acceptance of one warning of the current version."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(min_length=1, max_length=64)
    kind: str = Field(min_length=1, max_length=32)
    text: str = Field(min_length=1, max_length=500)
    reason: str = Field(min_length=1, max_length=MAX_REASON)


class DeidAcceptancePublic(BaseModel):
    """An accepted warning."""

    field: str
    kind: str
    text: str
    version: int
    reason: str
    by: str | None
    at: datetime
