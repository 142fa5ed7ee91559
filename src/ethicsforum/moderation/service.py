"""Moderation: flags, hiding and restoring, exemplary marks, and the audit log.

Nothing here deletes what a student wrote: hiding is a timestamp and a reason, a removed
mark stays as a row, and every action leaves exactly one audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, field_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ethicsforum.accounts.models import Account, Cohort, MemberRole, Membership, Role
from ethicsforum.db import utcnow
from ethicsforum.discussions import service as discussions
from ethicsforum.discussions.models import Discussion, Position, Rebuttal
from ethicsforum.errors import Conflict, NotFound
from ethicsforum.moderation.models import AuditEntry, ExemplaryMark, Feedback, Flag
from ethicsforum.notifications.models import Notification


class Criterion(StrEnum):
    """The short rubric faculty may tick when marking reasoning exemplary."""

    principles = "identifies the principles at stake"
    weighs = "weighs competing principles"
    facts = "uses the facts of the case"
    objection = "answers the strongest objection"
    action = "proposes a workable course of action"


class ReasonInput(BaseModel):
    """Why: a flag, a hide or a dismissal."""

    reason: str = Field(min_length=1, max_length=500)

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("give a reason")
        return value.strip()


class ExemplaryInput(BaseModel):
    """Faculty's note on why a post is worth learning from, and rubric criteria met."""

    note: str = Field(min_length=1, max_length=2000)
    criteria: list[Criterion] = Field(default_factory=list, max_length=5)

    @field_validator("note")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("say why this reasoning is exemplary")
        return value.strip()


Post = Position | Rebuttal


@dataclass(frozen=True)
class Target:
    """A post and the discussion it is in, as one account reaches it."""

    post: Post
    kind: str  # "position" or "rebuttal"
    found: discussions.Access


def target(session: Session, *, kind: str, post_id: int, account: Account) -> Target:
    """A post this account may see; PostNotFound otherwise."""
    if kind == "position":
        position, found = discussions.get_position(session, position_id=post_id, account=account)
        return Target(position, kind, found)
    rebuttal, _, found = discussions.get_rebuttal(session, rebuttal_id=post_id, account=account)
    return Target(rebuttal, kind, found)


# The audit's reason and a notification's text are 500-character columns, which PostgreSQL
# enforces; what goes in may be longer (a 500-character reason after "A moderator hid your
# position: ", a 2000-character exemplary note).
TEXT_COLUMN = 500


def _fit(text: str, limit: int = TEXT_COLUMN) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _audit(
    session: Session, t: Target, action: str, reason: str | None = None, **detail: object
) -> None:
    session.add(
        AuditEntry(
            actor_id=t.found.account.id,
            action=action,
            cohort_id=t.found.discussion.cohort_id,
            discussion_id=t.found.discussion.id,
            target_type=t.kind,
            target_id=t.post.id,
            reason=_fit(reason) if reason is not None else None,
            detail=dict(detail),
        )
    )


def _notify(session: Session, account_id: int, kind: str, t: Target, text: str) -> None:
    session.add(
        Notification(
            account_id=account_id,
            kind=kind,
            discussion_id=t.found.discussion.id,
            target_type=t.kind,
            target_id=t.post.id,
            text=_fit(text),
        )
    )


def _post_ref(t: Target) -> tuple[int | None, int | None]:
    """(position_id, rebuttal_id) of the target: exactly one is set."""
    return (
        t.post.id if t.kind == "position" else None,
        t.post.id if t.kind == "rebuttal" else None,
    )


def flag(session: Session, *, t: Target, data: ReasonInput) -> Flag:
    """Report a post; one flag per member per post. Faculty of the cohort are notified."""
    if t.found.membership is None:
        raise discussions.NotAllowed("only members of the cohort flag its posts")
    position_id, rebuttal_id = _post_ref(t)
    row = Flag(
        discussion_id=t.found.discussion.id or 0,
        flagged_by_id=t.found.account.id or 0,
        reason=data.reason,
        position_id=position_id,
        rebuttal_id=rebuttal_id,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("you have already flagged this post") from None
    faculty = session.exec(
        select(Membership.account_id).where(
            Membership.cohort_id == t.found.discussion.cohort_id,
            Membership.role == MemberRole.faculty.value,
            col(Membership.removed_at).is_(None),
        )
    )
    for account_id in faculty:
        _notify(session, account_id, "flag", t, "A post was flagged and awaits you.")
    _audit(session, t, "flagged", data.reason, flag_id=row.id)
    session.commit()
    return row


def _resolve_flags(session: Session, t: Target, resolution: str, reason: str) -> None:
    column = Flag.position_id if t.kind == "position" else Flag.rebuttal_id
    for open_flag in session.exec(
        select(Flag).where(column == t.post.id, col(Flag.resolved_at).is_(None))
    ):
        open_flag.resolved_at = utcnow()
        open_flag.resolved_by_id = t.found.account.id
        open_flag.resolution = resolution
        open_flag.resolution_reason = reason
        session.add(open_flag)


def hide(session: Session, *, t: Target, data: ReasonInput) -> Post:
    """Hide a post from students with a reason; its replies stay; open flags are resolved."""
    discussions.require_faculty(t.found)
    if t.post.hidden_at is not None:
        raise Conflict("this post is already hidden")
    t.post.hidden_at = utcnow()
    t.post.hidden_reason = data.reason
    t.post.hidden_by_id = t.found.account.id
    session.add(t.post)
    _resolve_flags(session, t, "hidden", data.reason)
    _notify(session, t.post.author_id, "hidden", t, f"A moderator hid your {t.kind}: {data.reason}")
    _audit(session, t, "hidden", data.reason)
    session.commit()
    return t.post


def restore(session: Session, *, t: Target) -> Post:
    """Show a hidden post again."""
    discussions.require_faculty(t.found)
    if t.post.hidden_at is None:
        raise Conflict("this post is not hidden")
    t.post.hidden_at = None
    t.post.hidden_reason = None
    t.post.hidden_by_id = None
    session.add(t.post)
    _audit(session, t, "restored")
    session.commit()
    return t.post


def _standing_mark(session: Session, t: Target) -> ExemplaryMark | None:
    column = ExemplaryMark.position_id if t.kind == "position" else ExemplaryMark.rebuttal_id
    return session.exec(
        select(ExemplaryMark).where(column == t.post.id, col(ExemplaryMark.removed_at).is_(None))
    ).first()


def mark_exemplary(session: Session, *, t: Target, data: ExemplaryInput) -> ExemplaryMark:
    """Mark a post exemplary with a note (a new note replaces the standing mark)."""
    discussions.require_faculty(t.found)
    previous = _standing_mark(session, t)
    if previous is not None:
        previous.removed_at = utcnow()
        previous.removed_by_id = t.found.account.id
        session.add(previous)
        session.flush()
    position_id, rebuttal_id = _post_ref(t)
    mark = ExemplaryMark(
        discussion_id=t.found.discussion.id or 0,
        marked_by_id=t.found.account.id or 0,
        note=data.note,
        criteria=[c.value for c in data.criteria],
        position_id=position_id,
        rebuttal_id=rebuttal_id,
    )
    session.add(mark)
    _notify(
        session,
        t.post.author_id,
        "exemplary",
        t,
        f"Your {t.kind} was marked exemplary: {data.note}",
    )
    _audit(session, t, "marked_exemplary", data.note, criteria=[c.value for c in data.criteria])
    session.commit()
    return mark


def unmark_exemplary(session: Session, *, t: Target) -> None:
    """Take the exemplary mark off a post; the mark is kept as removed."""
    discussions.require_faculty(t.found)
    mark = _standing_mark(session, t)
    if mark is None:
        raise NotFound("this post is not marked exemplary")
    mark.removed_at = utcnow()
    mark.removed_by_id = t.found.account.id
    session.add(mark)
    _audit(session, t, "unmarked_exemplary")
    session.commit()


# ---- the queue and the log -------------------------------------------------------------


def _cohort_ids_run_by(session: Session, account: Account) -> list[int] | None:
    """The cohorts whose moderation this account sees; None for an admin (all of them)."""
    if account.role == Role.admin.value:
        return None
    return list(
        session.exec(
            select(Membership.cohort_id).where(
                Membership.account_id == account.id,
                Membership.role == MemberRole.faculty.value,
                col(Membership.removed_at).is_(None),
            )
        )
    )


def open_flags(session: Session, *, account: Account) -> list[tuple[Flag, Discussion, Cohort]]:
    """Unresolved flags in the account's cohorts, oldest first."""
    query = (
        select(Flag, Discussion, Cohort)
        .join(Discussion, col(Discussion.id) == col(Flag.discussion_id))
        .join(Cohort, col(Cohort.id) == col(Discussion.cohort_id))
        .where(col(Flag.resolved_at).is_(None))
        .order_by(col(Flag.created_at), col(Flag.id))
    )
    cohort_ids = _cohort_ids_run_by(session, account)
    if cohort_ids is not None:
        query = query.where(col(Discussion.cohort_id).in_(cohort_ids))
    return list(session.exec(query).all())


def get_flag(session: Session, *, flag_id: int, account: Account) -> tuple[Flag, Target]:
    row = session.get(Flag, flag_id)
    if row is None:
        raise NotFound(f"no flag {flag_id}")
    kind = "position" if row.position_id is not None else "rebuttal"
    t = target(session, kind=kind, post_id=row.position_id or row.rebuttal_id or 0, account=account)
    if not t.found.is_faculty:
        raise NotFound(f"no flag {flag_id}")
    return row, t


def dismiss(session: Session, *, flag_row: Flag, t: Target, data: ReasonInput) -> Flag:
    """Close a flag without hiding the post."""
    discussions.require_faculty(t.found)
    if flag_row.resolved_at is not None:
        raise Conflict("this flag is already resolved")
    flag_row.resolved_at = utcnow()
    flag_row.resolved_by_id = t.found.account.id
    flag_row.resolution = "dismissed"
    flag_row.resolution_reason = data.reason
    session.add(flag_row)
    _audit(session, t, "flag_dismissed", data.reason, flag_id=flag_row.id)
    session.commit()
    return flag_row


def audit_entries(
    session: Session,
    *,
    account: Account,
    discussion_id: int | None,
    limit: int = 200,
    offset: int = 0,
) -> list[tuple[AuditEntry, Account | None]]:
    """Audit entries of the account's cohorts (all for admins), newest first."""
    query = (
        select(AuditEntry, Account)
        .outerjoin(Account, col(Account.id) == col(AuditEntry.actor_id))
        .order_by(col(AuditEntry.created_at).desc(), col(AuditEntry.id).desc())
    )
    cohort_ids = _cohort_ids_run_by(session, account)
    if cohort_ids is not None:
        query = query.where(col(AuditEntry.cohort_id).in_(cohort_ids))
    if discussion_id is not None:
        query = query.where(AuditEntry.discussion_id == discussion_id)
    return list(session.exec(query.offset(offset).limit(limit)).all())


class FeedbackInput(BaseModel):
    """A private comment from faculty to a post's author."""

    body: str = Field(min_length=1, max_length=5000)

    @field_validator("body")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("write some feedback")
        return value


def _feedback_query(t: Target) -> Any:
    column = Feedback.position_id if t.kind == "position" else Feedback.rebuttal_id
    return (
        select(Feedback, Account)
        .join(Account, col(Account.id) == col(Feedback.author_id))
        .where(column == t.post.id)
        .order_by(col(Feedback.id))
    )


def give_feedback(session: Session, *, t: Target, data: FeedbackInput) -> Feedback:
    """Leave private feedback on a post: only its author and faculty ever see it."""
    discussions.require_faculty(t.found)
    position_id, rebuttal_id = _post_ref(t)
    row = Feedback(
        discussion_id=t.found.discussion.id or 0,
        author_id=t.found.account.id or 0,
        body=data.body,
        position_id=position_id,
        rebuttal_id=rebuttal_id,
    )
    session.add(row)
    _notify(
        session,
        t.post.author_id,
        "feedback",
        t,
        f"{t.found.account.display_name} left you private feedback on your {t.kind}.",
    )
    session.commit()
    return row


def feedback_for(session: Session, *, t: Target) -> list[tuple[Feedback, Account]]:
    """Private feedback on a post, for its author and faculty; NotAllowed for anyone else."""
    if t.post.author_id != t.found.account.id and not t.found.is_faculty:
        raise discussions.NotAllowed("private feedback is for the author and faculty")
    return list(session.exec(_feedback_query(t)).all())


@dataclass(frozen=True)
class ExemplaryReasoning:
    """A marked post from a closed discussion of a case, with no author attached."""

    kind: str
    option_label: str | None
    summary: str | None
    body_html: str
    claims: list[tuple[str, str, str]]
    note: str
    criteria: list[str]
    body: str = ""  # the Markdown as written, for the case dossier


def exemplary_for_case(session: Session, *, case_id: int) -> list[ExemplaryReasoning]:
    """Standing marks on visible posts in closed discussions of a case; anonymised."""
    from ethicsforum.cases.models import CaseVersion
    from ethicsforum.discussions.models import Phase

    closed = select(Discussion.id).where(
        Discussion.case_id == case_id, Discussion.phase == Phase.closed.value
    )
    marks = list(
        session.exec(
            select(ExemplaryMark)
            .where(
                col(ExemplaryMark.discussion_id).in_(closed),
                col(ExemplaryMark.removed_at).is_(None),
            )
            .order_by(col(ExemplaryMark.created_at))
        )
    )
    position_ids = [m.position_id for m in marks if m.position_id]
    rebuttal_ids = [m.rebuttal_id for m in marks if m.rebuttal_id]
    positions = (
        {p.id: p for p in session.exec(select(Position).where(col(Position.id).in_(position_ids)))}
        if position_ids
        else {}
    )
    rebuttals = (
        {r.id: r for r in session.exec(select(Rebuttal).where(col(Rebuttal.id).in_(rebuttal_ids)))}
        if rebuttal_ids
        else {}
    )
    claims = discussions.active_claims(
        session, position_ids=position_ids, rebuttal_ids=rebuttal_ids
    )
    labels: dict[tuple[int, str], str] = {}
    for version in session.exec(select(CaseVersion).where(CaseVersion.case_id == case_id)):
        for option in version.options:
            labels[(version.version, str(option["key"]))] = str(option["label"])
    versions = dict(
        session.exec(
            select(Discussion.id, Discussion.case_version).where(col(Discussion.id).in_(closed))
        ).all()
    )
    out = []
    for mark in marks:
        post: Post | None = (
            positions.get(mark.position_id) if mark.position_id else rebuttals.get(mark.rebuttal_id)
        )
        if post is None or post.hidden_at is not None:
            continue
        mine = [
            (c.framework, c.direction, c.text)
            for c in claims
            if (
                c.position_id == post.id if isinstance(post, Position) else c.rebuttal_id == post.id
            )
        ]
        option_label = (
            labels.get((versions.get(mark.discussion_id, 0), post.option_key))
            if isinstance(post, Position)
            else None
        )
        out.append(
            ExemplaryReasoning(
                kind="position" if isinstance(post, Position) else "rebuttal",
                option_label=option_label,
                summary=post.summary if isinstance(post, Position) else None,
                body_html=post.body_html,
                claims=mine,
                note=mark.note,
                criteria=mark.criteria,
                body=post.body,
            )
        )
    return out
