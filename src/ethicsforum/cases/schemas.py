"""What the case library's API sends and accepts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from ethicsforum.cases.fileformat import CaseContent
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


class CaseUpdate(CaseContent):
    """Every content field of a revised case, and why it changed."""

    change_note: str = Field(min_length=1, max_length=500)


class StatusChange(BaseModel):
    """A move through draft, review, curated and retired."""

    status: CaseStatus
    reason: str | None = Field(default=None, max_length=500)
