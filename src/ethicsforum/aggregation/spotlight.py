"""The spotlight: one position or claim faculty put in front of the room.

It is stored on the discussion (so a screen opened later shows it too) and announced over
the discussion's event stream; each screen renders it for its own viewer, so what a student
sees of it follows the same visibility rules as everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from ethicsforum.db import utcnow
from ethicsforum.discussions import present
from ethicsforum.discussions import service as discussions
from ethicsforum.discussions.models import Claim, Position, Rebuttal
from ethicsforum.errors import Invalid


@dataclass(frozen=True)
class Shown:
    """The spotlight as one viewer may see it; no author, so the room sees no names.

    A student whom post-first keeps from peers' posts learns only that something of this
    type is in the spotlight: id, position, option, framework, direction and text are None
    (discussions.present.withheld). A post hidden since keeps its option, as in any list,
    but not its text.
    """

    type: str  # "position" or "claim"
    id: int | None
    position_id: int | None
    option: str | None
    option_label: str | None
    set_at: datetime
    # None when this viewer may not read it (hidden since, or post-first before posting).
    text: str | None
    framework: str | None = None
    direction: str | None = None

    def public(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "id": self.id,
            "position_id": self.position_id,
            "option": self.option,
            "text": self.text,
            "framework": self.framework,
            "direction": self.direction,
            "set_at": self.set_at.isoformat(),
        }


def _invalid(message: str, value: int) -> Invalid:
    return Invalid(
        message,
        [{"loc": ["body", "id"], "type": "value_error", "msg": message, "input": value}],
    )


def _post_of(session: Session, claim: Claim) -> Position | Rebuttal | None:
    """The position or rebuttal a claim belongs to."""
    if claim.position_id is not None:
        return session.get(Position, claim.position_id)
    return session.get(Rebuttal, claim.rebuttal_id)


def _target(session: Session, did: int, kind: str, target_id: int) -> Position | Claim:
    """The position or current claim, checked to belong to this discussion and be visible."""
    if kind == "position":
        position = session.get(Position, target_id)
        if position is None or position.discussion_id != did:
            raise _invalid("not a position of this discussion", target_id)
        if position.hidden_at is not None:
            raise _invalid("a hidden position cannot be put in the spotlight", target_id)
        return position
    claim = session.get(Claim, target_id)
    post = _post_of(session, claim) if claim else None
    if claim is None or post is None or post.discussion_id != did:
        raise _invalid("not a claim of this discussion", target_id)
    if claim.retired_at is not None:
        raise _invalid("this claim was replaced when its post was edited", target_id)
    if post.hidden_at is not None:
        raise _invalid("a claim of a hidden post cannot be put in the spotlight", target_id)
    return claim


def set_spotlight(
    session: Session, *, found: discussions.Access, kind: str, target_id: int
) -> None:
    """Put a position or a claim in front of the room."""
    discussions.require_faculty(found)
    d = found.discussion
    _target(session, d.id or 0, kind, target_id)
    d.spotlight_type, d.spotlight_id, d.spotlight_at = kind, target_id, utcnow()
    session.add(d)
    session.commit()


def clear_spotlight(session: Session, *, found: discussions.Access) -> None:
    discussions.require_faculty(found)
    d = found.discussion
    d.spotlight_type, d.spotlight_id, d.spotlight_at = None, None, None
    session.add(d)
    session.commit()


def current(session: Session, *, found: discussions.Access) -> Shown | None:
    """The spotlight as this viewer may see it, or None when there is none."""
    d = found.discussion
    if d.spotlight_type is None or d.spotlight_id is None or d.spotlight_at is None:
        return None
    claim: Claim | None = None
    post: Position | Rebuttal | None
    if d.spotlight_type == "position":
        post = session.get(Position, d.spotlight_id)
    else:
        claim = session.get(Claim, d.spotlight_id)
        post = _post_of(session, claim) if claim else None
    if post is None:
        return None
    position = post if isinstance(post, Position) else session.get(Position, post.position_id)
    if position is None:
        return None
    if present.withheld(session, found, post):
        return Shown(
            type=d.spotlight_type,
            id=None,
            position_id=None,
            option=None,
            option_label=None,
            set_at=d.spotlight_at,
            text=None,
        )
    concealed = post.hidden_at is not None and not found.is_faculty
    text = claim.text if claim is not None else position.summary
    return Shown(
        type=d.spotlight_type,
        id=d.spotlight_id,
        position_id=position.id or 0,
        option=position.option_key,
        option_label=next(
            (str(o["label"]) for o in found.version.options if o["key"] == position.option_key),
            position.option_key,
        ),
        set_at=d.spotlight_at,
        text=None if concealed else text,
        framework=claim.framework if claim else None,
        direction=claim.direction if claim else None,
    )
