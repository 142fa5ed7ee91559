"""Exemplary marks are announced on the discussion's stream as a change to the marked post."""

from __future__ import annotations

from collections.abc import Iterable

from ethicsforum.discussions.announce import Change, changed, derive
from ethicsforum.moderation.models import ExemplaryMark


@derive(ExemplaryMark)
def _mark(obj: ExemplaryMark, new: bool) -> Iterable[Change]:
    if new or changed(obj, "removed_at"):
        if obj.position_id is not None:
            yield Change(obj.discussion_id, "position_changed", obj.position_id)
        elif obj.rebuttal_id is not None:
            yield Change(obj.discussion_id, "rebuttal_changed", obj.rebuttal_id)
