"""What one viewer may see of positions and rebuttals: names or pseudonyms, hidden posts.

Everything a page, fragment, stream or API answer shows of a post goes through here, so the
anonymity and visibility rules live in one place. Each function runs a fixed number of
queries whatever the number of posts.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Request
from pydantic import BaseModel, model_serializer
from sqlmodel import Session, col, select

from ethicsforum import keys
from ethicsforum.accounts.models import Account
from ethicsforum.discussions.models import Anonymity, Claim, Position, Rebuttal
from ethicsforum.discussions.service import Access, active_claims, sees_peers
from ethicsforum.moderation.models import ExemplaryMark

# 64 x 64 x 100 labels; derived from a per-discussion key, so the same student has the same
# label throughout one discussion and unrelated labels in any other.
ADJECTIVES = [
    "Amber",
    "Azure",
    "Bold",
    "Brave",
    "Bright",
    "Calm",
    "Clear",
    "Coral",
    "Crisp",
    "Dawn",
    "Deep",
    "Eager",
    "Early",
    "Even",
    "Fair",
    "Fern",
    "Fleet",
    "Frank",
    "Gentle",
    "Glad",
    "Golden",
    "Grand",
    "Green",
    "Hazel",
    "Honest",
    "Ivory",
    "Jade",
    "Keen",
    "Kind",
    "Lively",
    "Lucid",
    "Lunar",
    "Mellow",
    "Mild",
    "Misty",
    "Noble",
    "North",
    "Oak",
    "Olive",
    "Opal",
    "Pale",
    "Pearl",
    "Plain",
    "Prompt",
    "Quiet",
    "Rapid",
    "Ready",
    "Rose",
    "Ruby",
    "Sage",
    "Silver",
    "Sky",
    "Slate",
    "Solar",
    "Steady",
    "Still",
    "Stone",
    "Swift",
    "Teal",
    "Tidal",
    "True",
    "Vivid",
    "Warm",
    "Wise",
]
ANIMALS = [
    "Badger",
    "Bear",
    "Beaver",
    "Bison",
    "Crane",
    "Cricket",
    "Curlew",
    "Deer",
    "Dolphin",
    "Dove",
    "Eagle",
    "Egret",
    "Elk",
    "Falcon",
    "Finch",
    "Fox",
    "Gannet",
    "Gecko",
    "Goose",
    "Hare",
    "Hawk",
    "Heron",
    "Ibis",
    "Jay",
    "Kestrel",
    "Kite",
    "Koala",
    "Lark",
    "Lemur",
    "Linnet",
    "Lynx",
    "Magpie",
    "Marten",
    "Mole",
    "Moth",
    "Newt",
    "Otter",
    "Owl",
    "Panda",
    "Petrel",
    "Pika",
    "Plover",
    "Puffin",
    "Quail",
    "Raven",
    "Robin",
    "Seal",
    "Shrike",
    "Sparrow",
    "Stoat",
    "Swan",
    "Swift",
    "Tern",
    "Thrush",
    "Toad",
    "Trout",
    "Turtle",
    "Vole",
    "Wagtail",
    "Whale",
    "Wolf",
    "Wombat",
    "Wren",
    "Yak",
]


def pseudonym(salt: str, account_id: int) -> str:
    """A stable label for one account in one discussion, unlinkable across discussions.

    The discussion's stored `pseudonym_key` is only a salt: the key is HMAC(secret key,
    salt), so the database alone cannot tell who is behind a pseudonym (see keys.py).
    """
    key = keys.derive("pseudonym", bytes.fromhex(salt))
    digest = hmac.new(key, str(account_id).encode(), hashlib.sha256).digest()
    n = int.from_bytes(digest[:8], "big")
    return f"{ADJECTIVES[n % 64]} {ANIMALS[(n >> 6) % 64]} {(n >> 12) % 100:02d}"


class AuthorPublic(BaseModel):
    """Who wrote a post, as the viewer may know it; `username` for faculty and admins only."""

    label: str
    username: str | None = None
    is_you: bool = False

    @model_serializer
    def _serialise(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label, "is_you": self.is_you}
        if self.username is not None:
            out["username"] = self.username
        return out


class ClaimPublic(BaseModel):
    id: int
    framework: str
    direction: str
    text: str | None


class ExemplaryPublic(BaseModel):
    note: str
    by: str
    criteria: list[str] = []


class PostFields(BaseModel):
    id: int
    author: AuthorPublic
    body: str | None
    body_html: str | None
    claims: list[ClaimPublic]
    exemplary: ExemplaryPublic | None
    hidden: bool
    hidden_reason: str | None = None
    created_at: datetime
    edited_at: datetime | None


class PositionPublic(PostFields):
    """A position as one viewer may see it."""

    discussion_id: int
    option: str
    summary: str | None
    rebuttal_count: int


class RebuttalPublic(PostFields):
    """A rebuttal as one viewer may see it, with its replies when shown as a tree."""

    position_id: int
    parent_id: int | None
    claim_id: int | None
    kind: str
    depth: int
    replies: list[RebuttalPublic] = []


class PositionWithRebuttals(PositionPublic):
    rebuttals: list[RebuttalPublic]


@dataclass
class Lookups:
    """Authors, claims and standing marks of a set of posts, loaded in one query each."""

    authors: dict[int, Account] = field(default_factory=dict)
    position_claims: dict[int, list[Claim]] = field(default_factory=dict)
    rebuttal_claims: dict[int, list[Claim]] = field(default_factory=dict)
    position_marks: dict[int, ExemplaryPublic] = field(default_factory=dict)
    rebuttal_marks: dict[int, ExemplaryPublic] = field(default_factory=dict)


def lookups(
    session: Session, *, positions: Sequence[Position] = (), rebuttals: Sequence[Rebuttal] = ()
) -> Lookups:
    found = Lookups()
    position_ids = [p.id or 0 for p in positions]
    rebuttal_ids = [r.id or 0 for r in rebuttals]
    author_ids = {p.author_id for p in positions} | {r.author_id for r in rebuttals}
    if author_ids:
        found.authors = {
            a.id or 0: a
            for a in session.exec(select(Account).where(col(Account.id).in_(author_ids)))
        }
    for claim in active_claims(session, position_ids=position_ids, rebuttal_ids=rebuttal_ids):
        if claim.position_id is not None:
            found.position_claims.setdefault(claim.position_id, []).append(claim)
        else:
            found.rebuttal_claims.setdefault(claim.rebuttal_id or 0, []).append(claim)
    if position_ids or rebuttal_ids:
        from sqlalchemy import or_

        conditions = []
        if position_ids:
            conditions.append(col(ExemplaryMark.position_id).in_(position_ids))
        if rebuttal_ids:
            conditions.append(col(ExemplaryMark.rebuttal_id).in_(rebuttal_ids))
        rows = session.exec(
            select(ExemplaryMark, Account)
            .join(Account, col(Account.id) == col(ExemplaryMark.marked_by_id))
            .where(or_(*conditions), col(ExemplaryMark.removed_at).is_(None))
        ).all()
        for mark, marker in rows:
            public = ExemplaryPublic(
                note=mark.note, by=marker.display_name, criteria=list(mark.criteria)
            )
            if mark.position_id is not None:
                found.position_marks[mark.position_id] = public
            else:
                found.rebuttal_marks[mark.rebuttal_id or 0] = public
    return found


def author_of(found: Access, author: Account | None, author_id: int) -> AuthorPublic:
    is_you = author_id == found.account.id
    if author is None:  # cannot happen with foreign keys; never leak an id if it does
        return AuthorPublic(label="Unknown", is_you=is_you)
    if found.is_faculty:
        return AuthorPublic(label=author.display_name, username=author.username, is_you=is_you)
    if is_you or found.discussion.anonymity == Anonymity.named.value:
        return AuthorPublic(label=author.display_name, is_you=is_you)
    return AuthorPublic(label=pseudonym(found.discussion.pseudonym_key, author_id))


def _claims(claims: Sequence[Claim], concealed: bool) -> list[ClaimPublic]:
    return [
        ClaimPublic(
            id=c.id or 0,
            framework=c.framework,
            direction=c.direction,
            text=None if concealed else c.text,
        )
        for c in claims
    ]


def withheld(session: Session, found: Access, post: Position | Rebuttal) -> bool:
    """Whether post-first withholds this post from this viewer altogether.

    A student who has not posted in a post-first discussion sees no peer's post: not its
    text, not its option, framework or direction, not even its id (service.sees_peers, the
    rule positions_of and get_position apply). Their own post stays theirs.
    """
    return post.author_id != found.account.id and not sees_peers(session, found)


def _concealed(found: Access, post: Position | Rebuttal) -> bool:
    # Hidden posts keep their place; only faculty and admins still read them.
    return post.hidden_at is not None and not found.is_faculty


def position_public(found: Access, position: Position, looked: Lookups) -> PositionPublic:
    concealed = _concealed(found, position)
    return PositionPublic(
        id=position.id or 0,
        discussion_id=position.discussion_id,
        author=author_of(found, looked.authors.get(position.author_id), position.author_id),
        option=position.option_key,
        summary=None if concealed else position.summary,
        body=None if concealed else position.body,
        body_html=None if concealed else position.body_html,
        claims=_claims(looked.position_claims.get(position.id or 0, []), concealed),
        rebuttal_count=position.rebuttal_count,
        exemplary=looked.position_marks.get(position.id or 0),
        hidden=position.hidden_at is not None,
        hidden_reason=position.hidden_reason if position.hidden_at else None,
        created_at=position.created_at,
        edited_at=position.edited_at,
    )


def rebuttal_public(found: Access, rebuttal: Rebuttal, looked: Lookups) -> RebuttalPublic:
    concealed = _concealed(found, rebuttal)
    return RebuttalPublic(
        id=rebuttal.id or 0,
        position_id=rebuttal.position_id,
        parent_id=rebuttal.parent_id,
        claim_id=rebuttal.claim_id,
        author=author_of(found, looked.authors.get(rebuttal.author_id), rebuttal.author_id),
        kind=rebuttal.kind,
        depth=rebuttal.depth,
        body=None if concealed else rebuttal.body,
        body_html=None if concealed else rebuttal.body_html,
        claims=_claims(looked.rebuttal_claims.get(rebuttal.id or 0, []), concealed),
        exemplary=looked.rebuttal_marks.get(rebuttal.id or 0),
        hidden=rebuttal.hidden_at is not None,
        hidden_reason=rebuttal.hidden_reason if rebuttal.hidden_at else None,
        created_at=rebuttal.created_at,
        edited_at=rebuttal.edited_at,
    )


def positions_public(
    session: Session, found: Access, positions: Sequence[Position]
) -> list[PositionPublic]:
    looked = lookups(session, positions=positions)
    return [position_public(found, p, looked) for p in positions]


def tree(rebuttals: Sequence[RebuttalPublic]) -> list[RebuttalPublic]:
    """Nest rebuttals under their parents, keeping posting order at each level."""
    children: dict[int | None, list[RebuttalPublic]] = {}
    for item in rebuttals:
        children.setdefault(item.parent_id, []).append(item)
    for item in rebuttals:
        item.replies = children.get(item.id, [])
    return children.get(None, [])


def position_with_rebuttals(
    session: Session, found: Access, position: Position, rebuttals: Sequence[Rebuttal]
) -> PositionWithRebuttals:
    looked = lookups(session, positions=[position], rebuttals=rebuttals)
    flat = [rebuttal_public(found, r, looked) for r in rebuttals]
    base = position_public(found, position, looked)
    return PositionWithRebuttals(**base.__dict__, rebuttals=tree(flat))


def answer_key(request: Request, found: Access, *parts: Any) -> tuple[Any, ...]:
    """A fragments.answer key for a discussion's page or API answer: what access() read (the
    discussion, its generation and phase; cohort, case, version, membership), the viewer and
    their sign-in (forms carry its token), and the address and htmx headers asked with."""
    from ethicsforum.accounts.identity import snapshot

    signed = getattr(request.state, "signed_in", None)
    return (
        *parts,
        request.url.path,
        request.url.query,
        request.headers.get("HX-Request"),
        request.headers.get("HX-Target"),
        snapshot(found.discussion),
        snapshot(found.cohort),
        snapshot(found.case),
        found.version.id,
        snapshot(found.membership) if found.membership is not None else None,
        snapshot(found.account),
        signed.browser_session.id if signed is not None else None,
    )
