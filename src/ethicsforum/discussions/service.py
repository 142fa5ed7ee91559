"""Discussions: open and move them, post and edit positions and rebuttals, record stances.

Every public function is one user action, decides permission through accounts.policy-style
helpers here, and commits once. Reads return plain rows; discussions.present turns them
into what one viewer may see (names, pseudonyms, hidden posts).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel, Field, field_validator
from sqlmodel import Session, col, func, select

from ethicsforum.accounts.models import Account, Cohort, MemberRole, Membership, Role
from ethicsforum.cases import service as cases_service
from ethicsforum.cases.models import CaseVersion, EthicsCase
from ethicsforum.db import as_utc, utcnow
from ethicsforum.discussions.models import (
    Anonymity,
    Claim,
    Direction,
    Discussion,
    LiveEvent,
    Phase,
    Position,
    Rebuttal,
    RebuttalKind,
    Revision,
    Stance,
    StanceMoment,
)
from ethicsforum.errors import Conflict, DomainError, Invalid, NotFound

# The one NotAllowed (403), re-exported: callers name it through this module.
from ethicsforum.errors import NotAllowed as NotAllowed
from ethicsforum.markdown import render_markdown
from ethicsforum.moderation.models import AuditEntry
from ethicsforum.notifications.models import Notification
from ethicsforum.params import BodyId, OptionalBodyId

POSTS_PER_MINUTE = 20
MAX_BODY = 20_000


class DiscussionNotFound(NotFound):
    """No such discussion, or one this account may not know about."""


class PostNotFound(NotFound):
    """No such position or rebuttal, or one this account may not see."""


class PhaseClosed(Conflict):
    """The discussion's phase does not allow this."""


class PostingTooFast(DomainError):
    status_code = 429
    title = "Slow down"

    def __init__(self, retry_after: int):
        super().__init__(f"at most {POSTS_PER_MINUTE} posts a minute; try again shortly")
        self.retry_after = retry_after


# ---- input -----------------------------------------------------------------------------


class ClaimInput(BaseModel):
    """One framework-tagged reason."""

    id: OptionalBodyId = None
    framework: str = Field(min_length=1, max_length=40)
    direction: Direction
    text: str = Field(min_length=1, max_length=1000)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a claim needs some text")
        return value


class PositionInput(BaseModel):
    """A new position."""

    option: str = Field(min_length=1, max_length=64)
    summary: str = Field(min_length=1, max_length=280)
    body: str = Field(default="", max_length=MAX_BODY)
    claims: list[ClaimInput] = Field(min_length=1, max_length=8)

    @field_validator("summary")
    @classmethod
    def _summary_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a summary needs some text")
        return value


class PositionEdit(BaseModel):
    """Changed fields of a position; claims given replace the list (ids keep anchors)."""

    option: str | None = Field(default=None, min_length=1, max_length=64)
    summary: str | None = Field(default=None, min_length=1, max_length=280)
    body: str | None = Field(default=None, max_length=MAX_BODY)
    claims: list[ClaimInput] | None = Field(default=None, min_length=1, max_length=8)

    @field_validator("summary")
    @classmethod
    def _summary_not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("a summary needs some text")
        return value


class RebuttalInput(BaseModel):
    """A reply to a position, one of its claims, or another rebuttal."""

    kind: RebuttalKind
    body: str = Field(min_length=1, max_length=MAX_BODY)
    parent_id: OptionalBodyId = None
    claim_id: OptionalBodyId = None
    claims: list[ClaimInput] = Field(default_factory=list, max_length=8)

    @field_validator("body")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a rebuttal needs some text")
        return value


class RebuttalEdit(BaseModel):
    kind: RebuttalKind | None = None
    body: str | None = Field(default=None, min_length=1, max_length=MAX_BODY)
    claims: list[ClaimInput] | None = Field(default=None, max_length=8)


class DiscussionInput(BaseModel):
    """Faculty opening a discussion of a case for a cohort."""

    case_slug: str = Field(min_length=1, max_length=80)
    cohort_id: BodyId
    title: str | None = Field(default=None, max_length=200)
    anonymity: Anonymity = Anonymity.anonymous_to_peers
    post_first: bool = False
    early_rebuttals: bool = False


class DiscussionEdit(BaseModel):
    phase: Phase | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)


class StanceInput(BaseModel):
    moment: StanceMoment
    option: str = Field(min_length=1, max_length=64)


# ---- access ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """A discussion as one account reaches it."""

    discussion: Discussion
    case: EthicsCase
    version: CaseVersion
    cohort: Cohort
    account: Account
    membership: Membership | None
    # The viewer's own position, looked up at most once per request (see own_position_of).
    _own: list[Position | None] = field(default_factory=list, compare=False, repr=False)

    @property
    def is_admin(self) -> bool:
        return self.account.role == Role.admin.value

    @property
    def is_faculty(self) -> bool:
        """Runs this discussion: the cohort's faculty or an admin; sees real names."""
        return self.is_admin or (
            self.membership is not None and self.membership.role == MemberRole.faculty.value
        )

    @property
    def is_student(self) -> bool:
        """Takes part: a current student member of the cohort."""
        return self.membership is not None and self.membership.role == MemberRole.student.value

    @property
    def option_keys(self) -> list[str]:
        return [str(o["key"]) for o in self.version.options]

    @property
    def frameworks(self) -> list[str]:
        return list(self.version.frameworks)


def access(session: Session, *, discussion_id: int, account: Account) -> Access:
    """The discussion as this account may reach it; DiscussionNotFound otherwise."""
    # One statement: every page and API call of a discussion starts here. (SQLAlchemy's
    # select, as sqlmodel's is typed for at most four entities.)
    from sqlalchemy import and_
    from sqlalchemy import select as sa_select

    row = session.execute(
        sa_select(Discussion, Cohort, EthicsCase, CaseVersion, Membership)
        .join(Cohort, col(Cohort.id) == col(Discussion.cohort_id))
        .join(EthicsCase, col(EthicsCase.id) == col(Discussion.case_id))
        .join(
            CaseVersion,
            and_(
                col(CaseVersion.case_id) == col(EthicsCase.id),
                col(CaseVersion.version) == col(Discussion.case_version),
            ),
        )
        .outerjoin(
            Membership,
            and_(
                col(Membership.cohort_id) == col(Cohort.id),
                col(Membership.account_id) == account.id,
                col(Membership.removed_at).is_(None),
            ),
        )
        .where(col(Discussion.id) == discussion_id)
    ).first()
    if row is None:
        raise DiscussionNotFound(f"no discussion {discussion_id}")
    discussion, cohort, case, version, membership = row
    if membership is None and account.role != Role.admin.value:
        raise DiscussionNotFound(f"no discussion {discussion_id}")
    return Access(discussion, case, version, cohort, account, membership)


def require_faculty(found: Access) -> None:
    if not found.is_faculty:
        raise NotAllowed("only the cohort's faculty and admins may do this")


def require_open(found: Access) -> None:
    """A closed discussion refuses posts and edits."""
    if found.discussion.phase == Phase.closed.value:
        raise PhaseClosed("this discussion is closed; nothing more can be posted or edited")


def require_student(found: Access) -> None:
    if not found.is_student:
        raise NotAllowed("only the cohort's students post in a discussion")


def own_position(session: Session, *, discussion_id: int, account_id: int) -> Position | None:
    return session.exec(
        select(Position).where(
            Position.discussion_id == discussion_id, Position.author_id == account_id
        )
    ).first()


def own_position_of(session: Session, found: Access) -> Position | None:
    """The viewer's position in this discussion, remembered on the Access for the request."""
    if not found._own:
        found._own.append(
            own_position(
                session, discussion_id=found.discussion.id or 0, account_id=found.account.id or 0
            )
        )
    return found._own[0]


def sees_peers(session: Session, found: Access) -> bool:
    """With post_first, a student sees no peer positions until they have posted their own."""
    if not found.discussion.post_first or not found.is_student:
        return True
    return own_position_of(session, found) is not None


# ---- discussions -----------------------------------------------------------------------


def open_discussion(session: Session, *, data: DiscussionInput, account: Account) -> Discussion:
    """Open a discussion of a case's current version for a cohort the account runs."""
    from ethicsforum.accounts import cohorts

    found = cohorts.access(session, cohort_id=data.cohort_id, account=account)
    if not found.manages:
        raise NotAllowed("only the cohort's faculty and admins open discussions")
    view = cases_service.get_case(session, slug=data.case_slug, statuses=None)
    discussion = Discussion(
        case_id=view.case.id or 0,
        case_version=view.case.current_version,
        cohort_id=found.cohort.id or 0,
        title=(data.title or view.version.title).strip()[:200],
        anonymity=data.anonymity.value,
        post_first=data.post_first,
        early_rebuttals=data.early_rebuttals,
        pseudonym_key=secrets.token_hex(32),
        created_by_id=account.id or 0,
    )
    session.add(discussion)
    session.flush()
    session.add(
        AuditEntry(
            actor_id=account.id,
            action="discussion_opened",
            cohort_id=discussion.cohort_id,
            discussion_id=discussion.id,
            target_type="discussion",
            target_id=discussion.id,
        )
    )
    session.commit()
    return discussion


def edit_discussion(session: Session, *, found: Access, data: DiscussionEdit) -> Discussion:
    """Rename a discussion or move it between phases (either way); phase moves are audited."""
    require_faculty(found)
    discussion = found.discussion
    if data.title is not None:
        discussion.title = data.title.strip()
    if data.phase is not None and data.phase.value != discussion.phase:
        session.add(
            AuditEntry(
                actor_id=found.account.id,
                action="phase_changed",
                cohort_id=discussion.cohort_id,
                discussion_id=discussion.id,
                target_type="discussion",
                target_id=discussion.id,
                detail={"from": discussion.phase, "to": data.phase.value},
            )
        )
        discussion.phase = data.phase.value
        discussion.phase_changed_at = utcnow()
        students = session.exec(
            select(Membership.account_id).where(
                Membership.cohort_id == discussion.cohort_id,
                Membership.role == MemberRole.student.value,
                col(Membership.removed_at).is_(None),
            )
        )
        session.add_all(
            [
                Notification(
                    account_id=account_id,
                    kind="phase",
                    discussion_id=discussion.id,
                    target_type="discussion",
                    target_id=discussion.id,
                    text=f"“{discussion.title}” moved to the {discussion.phase} phase.",
                )
                for account_id in students
            ]
        )

    session.add(discussion)
    session.commit()
    return discussion


def discussions_of(session: Session, *, account: Account) -> list[tuple[Discussion, Cohort]]:
    """Discussions in the account's current cohorts, newest first."""
    rows = session.exec(
        select(Discussion, Cohort)
        .join(Cohort, col(Cohort.id) == col(Discussion.cohort_id))
        .join(Membership, col(Membership.cohort_id) == col(Cohort.id))
        .where(Membership.account_id == account.id, col(Membership.removed_at).is_(None))
        .order_by(col(Discussion.created_at).desc(), col(Discussion.id).desc())
    ).all()
    return list(rows)


def cohort_discussions(session: Session, *, cohort_id: int) -> list[Discussion]:
    return list(
        session.exec(
            select(Discussion)
            .where(Discussion.cohort_id == cohort_id)
            .order_by(col(Discussion.created_at).desc(), col(Discussion.id).desc())
        )
    )


# ---- posting ---------------------------------------------------------------------------


def _check_posting(session: Session, found: Access, *, rate_limited: bool) -> None:
    require_student(found)
    require_open(found)
    if not rate_limited:
        return
    since = utcnow() - timedelta(minutes=1)
    author = found.account.id
    recent = (
        session.exec(
            select(func.count())
            .select_from(Position)
            .where(Position.author_id == author, col(Position.created_at) > since)
        ).one()
        + session.exec(
            select(func.count())
            .select_from(Rebuttal)
            .where(Rebuttal.author_id == author, col(Rebuttal.created_at) > since)
        ).one()
    )
    if recent >= POSTS_PER_MINUTE:
        raise PostingTooFast(retry_after=60)


def _check_claims(found: Access, claims: Sequence[ClaimInput], *, field: str = "claims") -> None:
    problems = [
        {
            "loc": ["body", field, i, "framework"],
            "type": "value_error",
            "input": c.framework,
            "msg": f"framework {c.framework!r} is not one of this case's: "
            + ", ".join(found.frameworks),
        }
        for i, c in enumerate(claims)
        if c.framework not in found.frameworks
    ]
    if problems:
        raise Invalid("a claim names a framework this case does not use", problems)


def _check_option(found: Access, option: str, field: str = "option") -> None:
    if option not in found.option_keys:
        raise Invalid(
            f"option {option!r} is not one of the case's",
            [
                {
                    "loc": ["body", field],
                    "type": "value_error",
                    "input": option,
                    "msg": "option must be one of " + ", ".join(found.option_keys),
                }
            ],
        )


def _add_claims(
    session: Session,
    claims: Sequence[ClaimInput],
    *,
    position_id: int | None = None,
    rebuttal_id: int | None = None,
) -> None:
    for ordinal, claim in enumerate(claims):
        session.add(
            Claim(
                position_id=position_id,
                rebuttal_id=rebuttal_id,
                framework=claim.framework,
                direction=claim.direction.value,
                text=claim.text,
                ordinal=ordinal,
            )
        )


def active_claims(
    session: Session, *, position_ids: Sequence[int] = (), rebuttal_ids: Sequence[int] = ()
) -> list[Claim]:
    """Current claims of these posts in their order (retired ones left out)."""
    conditions = []
    if position_ids:
        conditions.append(col(Claim.position_id).in_(list(position_ids)))
    if rebuttal_ids:
        conditions.append(col(Claim.rebuttal_id).in_(list(rebuttal_ids)))
    if not conditions:
        return []
    from sqlalchemy import or_

    return list(
        session.exec(
            select(Claim)
            .where(or_(*conditions), col(Claim.retired_at).is_(None))
            .order_by(col(Claim.ordinal), col(Claim.id))
        )
    )


def post_position(
    session: Session, *, found: Access, data: PositionInput, rate_limited: bool
) -> Position:
    """Post the student's one position in this discussion.

    Raises NotAllowed for non-students, PhaseClosed when closed, Conflict for a second
    position, Invalid for an option or framework the case does not have.
    """
    _check_posting(session, found, rate_limited=rate_limited)
    _check_option(found, data.option)
    _check_claims(found, data.claims)
    discussion_id = found.discussion.id or 0
    if own_position(session, discussion_id=discussion_id, account_id=found.account.id or 0):
        raise Conflict("you have already posted a position here; edit it instead")
    position = Position(
        discussion_id=discussion_id,
        author_id=found.account.id or 0,
        option_key=data.option,
        summary=data.summary,
        body=data.body,
        body_html=render_markdown(data.body),
    )
    session.add(position)
    session.flush()
    _add_claims(session, data.claims, position_id=position.id)
    from sqlalchemy.exc import IntegrityError

    try:
        session.commit()
    except IntegrityError:  # the same student posting twice at once
        session.rollback()
        raise Conflict("you have already posted a position here; edit it instead") from None
    found._own[:] = [position]
    return position


def _snapshot(claims: Sequence[Claim]) -> list[dict[str, object]]:
    return [
        {"id": c.id, "framework": c.framework, "direction": c.direction, "text": c.text}
        for c in claims
    ]


def _replace_claims(
    session: Session,
    current: Sequence[Claim],
    new: Sequence[ClaimInput],
    *,
    position_id: int | None = None,
    rebuttal_id: int | None = None,
) -> None:
    """Update claims named by id in place (keeping rebuttals' anchors); retire the rest."""
    by_id = {c.id: c for c in current}
    kept: set[int] = set()
    now = utcnow()
    for ordinal, item in enumerate(new):
        existing = by_id.get(item.id) if item.id is not None else None
        if existing is not None:
            existing.framework, existing.direction = item.framework, item.direction.value
            existing.text, existing.ordinal = item.text, ordinal
            session.add(existing)
            kept.add(existing.id or 0)
        else:
            session.add(
                Claim(
                    position_id=position_id,
                    rebuttal_id=rebuttal_id,
                    framework=item.framework,
                    direction=item.direction.value,
                    text=item.text,
                    ordinal=ordinal,
                )
            )
    for claim in current:
        if claim.id not in kept:
            claim.retired_at = now
            session.add(claim)


def get_position(
    session: Session, *, position_id: int, account: Account
) -> tuple[Position, Access]:
    """A position and its discussion, if this account may see it."""
    position = session.get(Position, position_id)
    if position is None:
        raise PostNotFound(f"no position {position_id}")
    try:
        found = access(session, discussion_id=position.discussion_id, account=account)
    except DiscussionNotFound:
        raise PostNotFound(f"no position {position_id}") from None
    if position.author_id != account.id and not sees_peers(session, found):
        raise PostNotFound(f"no position {position_id}")
    return position, found


def edit_position(
    session: Session, *, position: Position, found: Access, data: PositionEdit
) -> Position:
    """Change a position; the previous text is kept as a revision."""
    if position.author_id != found.account.id:
        raise NotAllowed("only its author may edit a position")
    require_open(found)
    if data.option is not None:
        _check_option(found, data.option)
    if data.claims is not None:
        _check_claims(found, data.claims)
    current = active_claims(session, position_ids=[position.id or 0])
    session.add(
        Revision(
            position_id=position.id,
            option_key=position.option_key,
            summary=position.summary,
            body=position.body,
            claims=_snapshot(current),
            written_at=position.edited_at or position.created_at,
        )
    )
    if data.option is not None:
        position.option_key = data.option
    if data.summary is not None:
        position.summary = data.summary
    if data.body is not None:
        position.body = data.body
        position.body_html = render_markdown(data.body)
    if data.claims is not None:
        _replace_claims(session, current, data.claims, position_id=position.id)
    position.edited_at = utcnow()
    session.add(position)
    session.commit()
    return position


def revisions(session: Session, *, position: Position, found: Access) -> list[Revision]:
    if position.author_id != found.account.id and not found.is_faculty:
        raise NotAllowed("only its author and faculty see a position's earlier versions")
    return list(
        session.exec(
            select(Revision)
            .where(Revision.position_id == position.id)
            .order_by(col(Revision.id).desc())
        )
    )


def rebuttals_open(found: Access) -> bool:
    phase = found.discussion.phase
    return phase == Phase.rebuttals.value or (
        phase == Phase.positions.value and found.discussion.early_rebuttals
    )


def post_rebuttal(
    session: Session, *, position: Position, found: Access, data: RebuttalInput, rate_limited: bool
) -> Rebuttal:
    """Reply to a position, to one of its claims, or to another rebuttal of it."""
    _check_posting(session, found, rate_limited=rate_limited)
    if not rebuttals_open(found):
        raise PhaseClosed("rebuttals open when the discussion reaches the rebuttal phase")
    _check_claims(found, data.claims)
    depth = 0
    claim_id = data.claim_id
    parent: Rebuttal | None = None
    if data.parent_id is not None:
        parent = session.get(Rebuttal, data.parent_id)
        if parent is None or parent.position_id != position.id:
            raise Invalid(
                "parent_id is not a rebuttal of this position",
                [
                    {
                        "loc": ["body", "parent_id"],
                        "type": "value_error",
                        "msg": "not a rebuttal of this position",
                        "input": data.parent_id,
                    }
                ],
            )
        depth = parent.depth + 1
    if claim_id is not None:
        claim = session.get(Claim, claim_id)
        if claim is None or (
            claim.position_id != position.id
            and (data.parent_id is None or claim.rebuttal_id != data.parent_id)
        ):
            raise Invalid(
                "claim_id is not a claim of the post replied to",
                [
                    {
                        "loc": ["body", "claim_id"],
                        "type": "value_error",
                        "msg": "not a claim of the post replied to",
                        "input": claim_id,
                    }
                ],
            )
    rebuttal = Rebuttal(
        discussion_id=found.discussion.id or 0,
        position_id=position.id or 0,
        parent_id=data.parent_id,
        claim_id=claim_id,
        author_id=found.account.id or 0,
        kind=data.kind.value,
        body=data.body,
        body_html=render_markdown(data.body),
        depth=depth,
    )
    session.add(rebuttal)
    session.flush()
    _add_claims(session, data.claims, rebuttal_id=rebuttal.id)
    position.rebuttal_count += 1
    session.add(position)
    # Tell whoever was answered; the text names no one, so anonymity holds.
    answered = {position.author_id: "position"}
    if parent is not None and parent.author_id not in answered:
        answered[parent.author_id] = "rebuttal"
    for account_id, what in answered.items():
        if account_id != found.account.id:
            session.add(
                Notification(
                    account_id=account_id,
                    kind="rebuttal",
                    discussion_id=found.discussion.id,
                    target_type="position",
                    target_id=position.id,
                    text=f"Someone answered your {what} with a {data.kind.value}.",
                )
            )
    session.commit()
    return rebuttal


def get_rebuttal(
    session: Session, *, rebuttal_id: int, account: Account
) -> tuple[Rebuttal, Position, Access]:
    rebuttal = session.get(Rebuttal, rebuttal_id)
    if rebuttal is None:
        raise PostNotFound(f"no rebuttal {rebuttal_id}")
    try:
        position, found = get_position(session, position_id=rebuttal.position_id, account=account)
    except PostNotFound:
        raise PostNotFound(f"no rebuttal {rebuttal_id}") from None
    return rebuttal, position, found


def edit_rebuttal(
    session: Session, *, rebuttal: Rebuttal, found: Access, data: RebuttalEdit
) -> Rebuttal:
    """Change a rebuttal; the previous text is kept as a revision."""
    if rebuttal.author_id != found.account.id:
        raise NotAllowed("only its author may edit a rebuttal")
    require_open(found)
    if data.claims is not None:
        _check_claims(found, data.claims)
    current = active_claims(session, rebuttal_ids=[rebuttal.id or 0])
    session.add(
        Revision(
            rebuttal_id=rebuttal.id,
            body=rebuttal.body,
            claims=_snapshot(current),
            written_at=rebuttal.edited_at or rebuttal.created_at,
        )
    )
    if data.kind is not None:
        rebuttal.kind = data.kind.value
    if data.body is not None:
        rebuttal.body = data.body
        rebuttal.body_html = render_markdown(data.body)
    if data.claims is not None:
        _replace_claims(session, current, data.claims, rebuttal_id=rebuttal.id)
    rebuttal.edited_at = utcnow()
    session.add(rebuttal)
    session.commit()
    return rebuttal


# ---- stances ---------------------------------------------------------------------------


def record_stance(session: Session, *, found: Access, data: StanceInput) -> Stance:
    """Record an initial (before posting) or final (any time) option; all are kept."""
    require_student(found)
    _check_option(found, data.option)
    if data.moment == StanceMoment.initial and own_position(
        session, discussion_id=found.discussion.id or 0, account_id=found.account.id or 0
    ):
        raise Conflict("the initial stance is recorded before posting a position")
    stance = Stance(
        discussion_id=found.discussion.id or 0,
        account_id=found.account.id or 0,
        moment=data.moment.value,
        option_key=data.option,
    )
    session.add(stance)
    session.commit()
    return stance


def last_event_id(session: Session, *, discussion_id: int) -> int:
    """The discussion's latest live event (0: none yet), read before a page's content so
    its stream resumes from there and misses nothing committed while the page was made."""
    latest = session.exec(
        select(func.max(LiveEvent.id)).where(LiveEvent.discussion_id == discussion_id)
    ).one()
    return int(latest or 0)


def stances_of(session: Session, *, found: Access) -> dict[str, Stance]:
    """The student's latest stance at each moment."""
    rows = session.exec(
        select(Stance)
        .where(Stance.discussion_id == found.discussion.id, Stance.account_id == found.account.id)
        .order_by(col(Stance.id))
    ).all()
    return {s.moment: s for s in rows}


# ---- reading ---------------------------------------------------------------------------


def positions_of(
    session: Session, *, found: Access, limit: int | None = None, offset: int = 0
) -> list[Position]:
    """Positions in posting order, as far as this viewer may see them."""
    query = select(Position).where(Position.discussion_id == found.discussion.id)
    if not sees_peers(session, found):
        query = query.where(Position.author_id == found.account.id)
    query = query.order_by(col(Position.created_at), col(Position.id)).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


def position_on_page(
    session: Session, *, found: Access, position: Position, limit: int, offset: int
) -> bool:
    """Whether a position falls on the page positions_of(limit, offset) gives a viewer who
    sees their peers: its place in posting order, counted in one statement."""
    from sqlalchemy import and_, or_

    before = session.exec(
        select(func.count())
        .select_from(Position)
        .where(
            Position.discussion_id == found.discussion.id,
            or_(
                col(Position.created_at) < position.created_at,
                and_(
                    col(Position.created_at) == position.created_at,
                    col(Position.id) < (position.id or 0),
                ),
            ),
        )
    ).one()
    return offset <= before < offset + limit


def count_positions(session: Session, *, found: Access) -> int:
    if not sees_peers(session, found):
        return 1 if own_position_of(session, found) else 0

    return session.exec(
        select(func.count())
        .select_from(Position)
        .where(Position.discussion_id == found.discussion.id)
    ).one()


def rebuttals_of(session: Session, *, position_id: int) -> list[Rebuttal]:
    return list(
        session.exec(
            select(Rebuttal)
            .where(Rebuttal.position_id == position_id)
            .order_by(col(Rebuttal.created_at), col(Rebuttal.id))
        )
    )


def has_rebutted(session: Session, *, position_id: int, account_id: int) -> bool:
    """Whether this account wrote any rebuttal under the position (its page shows them as
    theirs, so that page's tree is theirs alone)."""
    found = session.exec(
        select(Rebuttal.id)
        .where(Rebuttal.position_id == position_id, Rebuttal.author_id == account_id)
        .limit(1)
    ).first()
    return found is not None


@dataclass(frozen=True)
class Activity:
    positions: int
    rebuttals: int
    last_post_at: datetime | None


def new_since_own_post(
    session: Session, *, discussion_ids: Sequence[int], account_id: int
) -> dict[int, int]:
    """Posts by others since the account's own latest post, per discussion it posted in."""
    from sqlalchemy import and_, union_all
    from sqlalchemy import select as sa_select

    if not discussion_ids:
        return {}
    ids = list(discussion_ids)
    mine = union_all(
        sa_select(
            col(Position.discussion_id).label("d"), col(Position.created_at).label("t")
        ).where(col(Position.author_id) == account_id, col(Position.discussion_id).in_(ids)),
        sa_select(
            col(Rebuttal.discussion_id).label("d"), col(Rebuttal.created_at).label("t")
        ).where(col(Rebuttal.author_id) == account_id, col(Rebuttal.discussion_id).in_(ids)),
    ).subquery()
    last = (sa_select(mine.c.d, func.max(mine.c.t).label("t")).group_by(mine.c.d)).subquery()
    out: dict[int, int] = dict.fromkeys(session.execute(sa_select(last.c.d)).scalars(), 0)
    for model in (Position, Rebuttal):
        rows = session.execute(
            sa_select(col(model.discussion_id), func.count())
            .join(
                last, and_(last.c.d == col(model.discussion_id), col(model.created_at) > last.c.t)
            )
            .where(col(model.author_id) != account_id)
            .group_by(col(model.discussion_id))
        ).all()
        for discussion_id, count in rows:
            out[discussion_id] = out.get(discussion_id, 0) + count
    return out


def activity(session: Session, *, discussion_ids: Sequence[int]) -> dict[int, Activity]:
    """Posts and the latest post time per discussion, in two grouped queries."""
    if not discussion_ids:
        return {}
    ids = list(discussion_ids)

    positions = {
        row[0]: (row[1], row[2])
        for row in session.exec(
            select(Position.discussion_id, func.count(), func.max(Position.created_at))
            .where(col(Position.discussion_id).in_(ids))
            .group_by(col(Position.discussion_id))
        )
    }
    rebuttals = {
        row[0]: (row[1], row[2])
        for row in session.exec(
            select(Rebuttal.discussion_id, func.count(), func.max(Rebuttal.created_at))
            .where(col(Rebuttal.discussion_id).in_(ids))
            .group_by(col(Rebuttal.discussion_id))
        )
    }
    out = {}
    for discussion_id in ids:
        p_count, p_last = positions.get(discussion_id, (0, None))
        r_count, r_last = rebuttals.get(discussion_id, (0, None))
        times = [as_utc(t) for t in (p_last, r_last) if t is not None]
        out[discussion_id] = Activity(p_count, r_count, max(times) if times else None)
    return out
