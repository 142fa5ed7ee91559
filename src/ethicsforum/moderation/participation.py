"""Participation for grading: what each student of a discussion contributed, for faculty."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import Executable, func, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from ethicsforum.accounts.models import Account, MemberRole, Membership
from ethicsforum.discussions import service as discussions
from ethicsforum.discussions.models import Claim, Position, Rebuttal, Stance
from ethicsforum.moderation.models import ExemplaryMark, Flag

SORTABLE = ("name", "positions", "rebuttals", "claims", "exemplary", "flags")


@dataclass
class Row:
    """One student's participation in one discussion."""

    account: Account
    positions: int = 0
    rebuttals: int = 0
    claims_by_framework: dict[str, int] = field(default_factory=dict)
    exemplary: int = 0
    flags_received: int = 0
    initial: str | None = None
    final: str | None = None

    @property
    def claims(self) -> int:
        return sum(self.claims_by_framework.values())


def _grouped(session: Session, statement: Executable) -> dict[int, int]:
    return {row[0]: row[1] for row in session.execute(statement)}


def participation(
    session: Session, *, found: discussions.Access, sort: str = "name", descending: bool = False
) -> list[Row]:
    """Every current student of the cohort, with their contribution; a fixed number of queries."""
    discussions.require_faculty(found)
    discussion_id = found.discussion.id
    students = session.exec(
        select(Account)
        .join(Membership, col(Membership.account_id) == col(Account.id))
        .where(
            Membership.cohort_id == found.discussion.cohort_id,
            Membership.role == MemberRole.student.value,
            col(Membership.removed_at).is_(None),
        )
    ).all()
    rows = {a.id or 0: Row(a) for a in students}

    for author, count in _grouped(
        session,
        sa_select(col(Position.author_id), func.count())
        .where(col(Position.discussion_id) == discussion_id)
        .group_by(col(Position.author_id)),
    ).items():
        if author in rows:
            rows[author].positions = count
    for author, count in _grouped(
        session,
        sa_select(col(Rebuttal.author_id), func.count())
        .where(col(Rebuttal.discussion_id) == discussion_id)
        .group_by(col(Rebuttal.author_id)),
    ).items():
        if author in rows:
            rows[author].rebuttals = count

    claim_authors = union_all(
        sa_select(col(Position.author_id).label("author"), col(Claim.framework).label("fw"))
        .join(Position, col(Position.id) == col(Claim.position_id))
        .where(col(Position.discussion_id) == discussion_id, col(Claim.retired_at).is_(None)),
        sa_select(col(Rebuttal.author_id).label("author"), col(Claim.framework).label("fw"))
        .join(Rebuttal, col(Rebuttal.id) == col(Claim.rebuttal_id))
        .where(col(Rebuttal.discussion_id) == discussion_id, col(Claim.retired_at).is_(None)),
    ).subquery()
    for author, framework, count in session.execute(
        sa_select(claim_authors.c.author, claim_authors.c.fw, func.count()).group_by(
            claim_authors.c.author, claim_authors.c.fw
        )
    ):
        if author in rows:
            rows[author].claims_by_framework[framework] = count

    marked = union_all(
        sa_select(col(Position.author_id).label("author"))
        .join(ExemplaryMark, col(ExemplaryMark.position_id) == col(Position.id))
        .where(
            col(ExemplaryMark.discussion_id) == discussion_id,
            col(ExemplaryMark.removed_at).is_(None),
        ),
        sa_select(col(Rebuttal.author_id).label("author"))
        .join(ExemplaryMark, col(ExemplaryMark.rebuttal_id) == col(Rebuttal.id))
        .where(
            col(ExemplaryMark.discussion_id) == discussion_id,
            col(ExemplaryMark.removed_at).is_(None),
        ),
    ).subquery()
    for author, count in session.execute(
        sa_select(marked.c.author, func.count()).group_by(marked.c.author)
    ):
        if author in rows:
            rows[author].exemplary = count

    flagged = union_all(
        sa_select(col(Position.author_id).label("author"))
        .join(Flag, col(Flag.position_id) == col(Position.id))
        .where(col(Flag.discussion_id) == discussion_id),
        sa_select(col(Rebuttal.author_id).label("author"))
        .join(Flag, col(Flag.rebuttal_id) == col(Rebuttal.id))
        .where(col(Flag.discussion_id) == discussion_id),
    ).subquery()
    for author, count in session.execute(
        sa_select(flagged.c.author, func.count()).group_by(flagged.c.author)
    ):
        if author in rows:
            rows[author].flags_received = count

    for stance in session.exec(
        select(Stance).where(Stance.discussion_id == discussion_id).order_by(col(Stance.id))
    ):
        row = rows.get(stance.account_id)
        if row is not None:  # the latest of each moment counts
            if stance.moment == "initial":
                row.initial = stance.option_key
            else:
                row.final = stance.option_key

    def key(row: Row) -> tuple[object, str]:
        name = row.account.display_name.lower()
        value: object = name if sort == "name" else getattr(row, sort, 0)
        return value, name

    return sorted(rows.values(), key=key, reverse=descending)


def _cell(value: object) -> object:
    # A spreadsheet runs a cell that starts with = + - or @ as a formula.
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + value
    return value


def to_csv(rows: list[Row], *, frameworks: list[str]) -> str:
    """Participation as CSV, names included: for faculty only."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "username",
            "display_name",
            "profession",
            "positions",
            "rebuttals",
            *[f"claims_{f}" for f in frameworks],
            "claims_total",
            "exemplary_marks",
            "initial_stance",
            "final_stance",
            "flags_received",
        ]
    )
    for row in rows:
        writer.writerow(
            [
                _cell(v)
                for v in (
                    row.account.username,
                    row.account.display_name,
                    row.account.profession or "",
                    row.positions,
                    row.rebuttals,
                    *[row.claims_by_framework.get(f, 0) for f in frameworks],
                    row.claims,
                    row.exemplary,
                    row.initial or "",
                    row.final or "",
                    row.flags_received,
                )
            ]
        )
    return out.getvalue()
