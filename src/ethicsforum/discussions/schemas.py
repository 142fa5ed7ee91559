"""What the discussions API sends."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from ethicsforum.cases.schemas import CasePublic
from ethicsforum.discussions.models import Discussion
from ethicsforum.discussions.service import Access


class DiscussionPublic(BaseModel):
    """A discussion: one case version run for one cohort."""

    id: int
    case_slug: str
    case_version: int
    cohort_id: int
    title: str
    phase: str
    anonymity: str
    post_first: bool
    early_rebuttals: bool
    created_at: datetime

    @classmethod
    def of(cls, discussion: Discussion, case_slug: str) -> DiscussionPublic:
        return cls(
            id=discussion.id or 0,
            case_slug=case_slug,
            case_version=discussion.case_version,
            cohort_id=discussion.cohort_id,
            title=discussion.title,
            phase=discussion.phase,
            anonymity=discussion.anonymity,
            post_first=discussion.post_first,
            early_rebuttals=discussion.early_rebuttals,
            created_at=discussion.created_at,
        )


class DiscussionWithCase(DiscussionPublic):
    case: CasePublic

    @classmethod
    def build(cls, found: Access, *, base_url: str) -> DiscussionWithCase:
        from ethicsforum.cases.service import CaseView

        public = DiscussionPublic.of(found.discussion, found.case.slug)
        case = CasePublic.build(CaseView(found.case, found.version), base_url=base_url)
        return cls(**public.model_dump(), case=case)


class StancePublic(BaseModel):
    moment: str
    option: str
    recorded_at: datetime


class RevisionPublic(BaseModel):
    edited_at: datetime
    option: str | None
    summary: str | None
    body: str
    claims: list[dict[str, object]]
