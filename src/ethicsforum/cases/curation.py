"""The curation workflow: draft -> review -> curated -> retired, and the reviews it rests on.

A case becomes curated only when someone other than the last editor of its current version
has approved that version, or an admin overrides with a reason. Every move and every review
leaves an audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session, col, select

from ethicsforum.accounts.models import Account, Role
from ethicsforum.cases import deid, service
from ethicsforum.cases.models import (
    CaseReview,
    CaseStatus,
    CaseVersion,
    DeidAcceptance,
    EthicsCase,
)
from ethicsforum.db import utcnow
from ethicsforum.errors import Conflict, Invalid, NotAllowed
from ethicsforum.moderation.models import AuditEntry

MAX_COMMENT = 2000
NEEDS_OTHER_REVIEWER = "needs a review by someone other than its last editor"

# The moves a case may make, with the words the case page puts on each button.
NEXT_STEPS: dict[str, tuple[tuple[str, str], ...]] = {
    CaseStatus.draft: ((CaseStatus.review, "Send for review"),),
    CaseStatus.review: ((CaseStatus.curated, "Mark curated"), (CaseStatus.draft, "Back to draft")),
    CaseStatus.curated: (
        (CaseStatus.review, "Send back for review"),
        (CaseStatus.retired, "Retire"),
    ),
    CaseStatus.retired: ((CaseStatus.draft, "Back to draft"),),
}


class ReviewVerdict(StrEnum):
    approve = "approve"
    changes = "changes"


class TransitionRefused(Conflict):
    """The case may not move from its status to the one asked for."""


class ReviewRefused(Conflict):
    """The review conflicts with the case's state or with who made its current version."""


@dataclass(frozen=True)
class ReviewEntry:
    review: CaseReview
    username: str
    display_name: str


@dataclass(frozen=True)
class CurationPanel:
    """What the case page's curation panel shows an editor about the current version."""

    status: str
    version: int
    next_steps: tuple[tuple[str, str], ...]
    reviews: list[ReviewEntry]
    approved: bool
    unreviewed: bool
    # The version that was current when the case became curated, when later ones are not.
    curated_at: int | None
    viewer_is_last_editor: bool
    may_override: bool
    # What the de-identification check raises for the current version, each with its
    # acceptance (reason, who, when) or None while it still blocks curation.
    deid_warnings: tuple[tuple[deid.DeidWarning, DeidAcceptance | None, str | None], ...] = ()

    @property
    def deid_unresolved(self) -> int:
        return sum(1 for _, accepted, _ in self.deid_warnings if accepted is None)

    @property
    def curate_blocked(self) -> bool:
        """In review, but nobody other than the last editor has approved this version."""
        return self.status == CaseStatus.review and not self.approved


def allowed_next(status: str) -> list[str]:
    """The statuses a case in `status` may move to."""
    return [str(to) for to, _ in NEXT_STEPS.get(status, ())]


def _steps_text(status: str) -> str:
    steps = allowed_next(status)
    return " or ".join(steps) if steps else "nowhere"


def list_reviews(
    session: Session, *, case: EthicsCase, version: int | None = None
) -> list[ReviewEntry]:
    """The reviews of a case (of one version when given), newest first, with who wrote them."""
    query = (
        select(CaseReview, Account.username, Account.display_name)
        .join(Account, col(Account.id) == col(CaseReview.reviewer_id))
        .where(CaseReview.case_id == case.id)
    )
    if version is not None:
        query = query.where(CaseReview.version == version)
    rows = session.exec(
        query.order_by(col(CaseReview.created_at).desc(), col(CaseReview.id).desc())
    ).all()
    return [ReviewEntry(review, username, name) for review, username, name in rows]


def _approved(reviews: list[ReviewEntry], version: CaseVersion) -> bool:
    """Whether a reviewer other than the version's last editor stands by an approval of it.

    Each reviewer's latest verdict on the version counts, so asking for changes after
    approving withdraws the approval.
    """
    latest: dict[int, str] = {}
    for entry in reviews:  # newest first
        if entry.review.version == version.version:
            latest.setdefault(entry.review.reviewer_id, entry.review.verdict)
    return any(
        verdict == ReviewVerdict.approve and reviewer != version.created_by_id
        for reviewer, verdict in latest.items()
    )


def _curated_at(session: Session, case: EthicsCase) -> int:
    """The version that was current when the case last became curated.

    A case imported as curated (no move recorded) counts from its first stored version.
    """
    entries = session.exec(
        select(AuditEntry.detail)
        .where(
            AuditEntry.action == "case_status",
            AuditEntry.target_type == "case",
            AuditEntry.target_id == case.id,
        )
        .order_by(col(AuditEntry.created_at).desc(), col(AuditEntry.id).desc())
    ).all()
    for detail in entries:
        if detail.get("to") == CaseStatus.curated and isinstance(detail.get("version"), int):
            return int(detail["version"])
    first = session.exec(
        select(CaseVersion.version)
        .where(CaseVersion.case_id == case.id)
        .order_by(col(CaseVersion.version))
        .limit(1)
    ).first()
    return first or case.current_version


def panel(session: Session, *, view: service.CaseView, viewer: Account) -> CurationPanel:
    """The curation state of a case's current version, as `viewer` may act on it."""
    case = view.case
    current = view.version
    if current.version != case.current_version:
        current = service.get_case(session, slug=case.slug, statuses=None).version
    reviews = list_reviews(session, case=case, version=current.version)
    approved = _approved(reviews, current)
    curated_at = (
        _curated_at(session, case) if case.status == CaseStatus.curated and not approved else None
    )
    unreviewed = curated_at is not None and curated_at != current.version
    return CurationPanel(
        status=case.status,
        version=current.version,
        next_steps=NEXT_STEPS.get(case.status, ()),
        reviews=reviews,
        approved=approved,
        unreviewed=unreviewed,
        curated_at=curated_at if unreviewed else None,
        viewer_is_last_editor=current.created_by_id is not None
        and current.created_by_id == viewer.id,
        may_override=viewer.role == Role.admin and case.status == CaseStatus.review,
        deid_warnings=_deid_warnings(session, case=case, version=current),
    )


def _deid_warnings(
    session: Session, *, case: EthicsCase, version: CaseVersion
) -> tuple[tuple[deid.DeidWarning, DeidAcceptance | None, str | None], ...]:
    accepted = deid.acceptances(session, case_id=case.id or 0)
    warnings = deid.check_content(deid.content_of(version))
    by_ids = {a.accepted_by_id for a in accepted.values()}
    names = (
        {
            a.id: a.display_name
            for a in session.exec(select(Account).where(col(Account.id).in_(by_ids)))
        }
        if by_ids
        else {}
    )
    out = []
    for w in warnings:
        found = accepted.get((w.field, w.kind, w.text))
        out.append((w, found, names.get(found.accepted_by_id) if found else None))
    return tuple(out)


def add_review(
    session: Session, *, slug: str, verdict: ReviewVerdict, comment: str, actor: Account
) -> ReviewEntry:
    """Record a review of the case's current version; the review is audited.

    Raises CaseNotFound, Invalid for an empty or overlong comment, ReviewRefused (409) for a
    retired case or when the last editor of the current version approves it.
    """
    view = service.get_case(session, slug=slug, statuses=None)
    text = comment.strip()
    if not text or len(text) > MAX_COMMENT:
        raise Invalid(
            "the comment is required",
            [
                {
                    "loc": ["body", "comment"],
                    "type": "value_error",
                    "msg": f"write a comment of 1 to {MAX_COMMENT} characters",
                }
            ],
        )
    if view.case.status == CaseStatus.retired:
        raise ReviewRefused("a retired case is not reviewed; move it back to draft first")
    if verdict == ReviewVerdict.approve and view.version.created_by_id == actor.id:
        raise ReviewRefused(
            f"you made version {view.version.version}, so you may not approve it; "
            "someone other than its last editor must"
        )
    review = CaseReview(
        case_id=view.case.id or 0,
        version=view.version.version,
        reviewer_id=actor.id or 0,
        verdict=verdict.value,
        comment=text,
    )
    session.add(review)
    session.flush()
    session.add(
        AuditEntry(
            actor_id=actor.id,
            action="case_review",
            target_type="case",
            target_id=view.case.id,
            detail={
                "slug": view.case.slug,
                "version": review.version,
                "verdict": review.verdict,
                "review_id": review.id,
            },
        )
    )
    session.commit()
    return ReviewEntry(review, actor.username, actor.display_name)


def _check_deidentified(session: Session, view: service.CaseView) -> None:
    """The de-identification gate on the move to curated; raises to refuse the move.

    Every warning the check raises for the current version must have been accepted with a
    reason; otherwise deid.DeidUnresolved (409) lists those left. An admin's override of
    the review requirement does not lift this gate.
    """
    deid.require_deidentified(session, case_id=view.case.id or 0, content=service.document_of(view))


def set_status(
    session: Session,
    *,
    slug: str,
    status: CaseStatus,
    actor: Account,
    override: bool = False,
    reason: str | None = None,
) -> service.CaseView:
    """Move a case along the workflow; the move is audited.

    Allowed: draft->review, review->draft, review->curated, curated->review,
    curated->retired, retired->draft; anything else raises TransitionRefused (409) naming
    the allowed next steps. review->curated needs an approval of the current version by
    someone other than its last editor (Conflict otherwise), unless an admin overrides with
    a reason: NotAllowed (403) for a non-admin asking to, Invalid (422) without a reason.
    """
    view = service.get_case(session, slug=slug, statuses=None)
    case = view.case
    reason = (reason or "").strip() or None
    if override:
        if actor.role != Role.admin:
            raise NotAllowed("only an admin may override the review requirement")
        problems = []
        if status != CaseStatus.curated:
            problems.append(
                {
                    "loc": ["body", "override"],
                    "type": "value_error",
                    "msg": "an override applies only to the move to curated",
                }
            )
        if reason is None:
            problems.append(
                {
                    "loc": ["body", "reason"],
                    "type": "missing",
                    "msg": "an override needs a reason, kept in the audit log",
                }
            )
        if problems:
            raise Invalid("the override is incomplete", problems)
    if status not in allowed_next(case.status):
        if status == case.status:
            raise TransitionRefused(
                f"the case is already {case.status}; from {case.status} it may move to "
                f"{_steps_text(case.status)}"
            )
        raise TransitionRefused(
            f"a {case.status} case cannot move to {status.value}; from {case.status} it may "
            f"move to {_steps_text(case.status)}"
        )
    overridden = False
    if status == CaseStatus.curated:
        _check_deidentified(session, view)
        reviews = list_reviews(session, case=case, version=view.version.version)
        if not _approved(reviews, view.version):
            if not override:
                raise TransitionRefused(
                    f"the case {NEEDS_OTHER_REVIEWER}: nobody else has approved version "
                    f"{view.version.version} yet"
                )
            overridden = True
    session.add(
        AuditEntry(
            actor_id=actor.id,
            action="case_status",
            target_type="case",
            target_id=case.id,
            reason=reason,
            detail={
                "from": case.status,
                "to": status.value,
                "slug": case.slug,
                "version": view.version.version,
                "override": overridden,
            },
        )
    )
    case.status = status.value
    case.updated_at = utcnow()
    session.add(case)
    session.commit()
    return view
