"""Every change that can move a discussion's summary bumps its summary_generation.

The hook runs before each flush, so the bump is part of the same transaction as the change:
a summary cached under an older generation can never be served as current, in this process
or any other. Only ORM writes are seen; the product makes no other kind.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, literal_column, select, union, update
from sqlalchemy.orm import Session

from ethicsforum.discussions.models import Claim, Discussion, Position, Rebuttal, Stance
from ethicsforum.moderation.models import ExemplaryMark

_CARRY_DISCUSSION = (Position, Rebuttal, Stance, ExemplaryMark)


@event.listens_for(Session, "before_flush")
def _bump_summary_generation(session: Session, _context: Any, _instances: Any) -> None:
    discussion_ids: set[int] = set()
    position_ids: set[int] = set()
    rebuttal_ids: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, _CARRY_DISCUSSION):
            if obj.discussion_id:
                discussion_ids.add(obj.discussion_id)
        elif isinstance(obj, Claim):
            if obj.position_id:
                position_ids.add(obj.position_id)
            elif obj.rebuttal_id:
                rebuttal_ids.add(obj.rebuttal_id)
    if not (discussion_ids or position_ids or rebuttal_ids):
        return
    table = Discussion.__table__  # type: ignore[attr-defined]
    parts = []
    if discussion_ids:
        parts.append(select(table.c.id).where(table.c.id.in_(discussion_ids)))
    if position_ids:
        t = Position.__table__  # type: ignore[attr-defined]
        parts.append(select(t.c.discussion_id).where(t.c.id.in_(position_ids)))
    if rebuttal_ids:
        t = Rebuttal.__table__  # type: ignore[attr-defined]
        parts.append(select(t.c.discussion_id).where(t.c.id.in_(rebuttal_ids)))
    targets = parts[0] if len(parts) == 1 else union(*parts)
    session.connection().execute(
        update(table)
        .where(table.c.id.in_(targets))
        .values(summary_generation=table.c.summary_generation + literal_column("1"))
    )
