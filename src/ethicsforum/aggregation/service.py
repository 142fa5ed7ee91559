"""The summary of a discussion, computed in SQL in a fixed number of statements.

What counts (the same rules the property test checks against the stored rows):

- A post counts when it is not hidden; faculty may ask to count hidden posts too.
- `participants`: distinct authors of counted positions and rebuttals.
- `options`: counted positions per option key, every option of the case listed.
- `frameworks`: current (not retired) claims of counted posts, by framework, option and
  direction. A position's claims stand for its own option; a rebuttal's claims are about the
  option of the position it answers (they support or challenge that option).
- `unanswered`: counted positions with no counted rebuttal anywhere in their thread.
- `most_contested`: counted positions with counted rebuttals, most first (ties: oldest).
- `exemplary`: standing marks on counted posts, with the frameworks of the post's claims.
- `stance_shift`: per student, the latest initial stance (or, without one, the option of
  their position) against the latest final stance (or their position's option); students
  missing either end are left out.
- `tensions`: a framework is in tension when its claims argue for options that cannot both
  win: two claims support different options, one supports and one challenges the same
  option, or (with two options) one challenges each. Each side lists its strongest claims:
  on exemplary posts first, then those that drew the most counted rebuttals.

The result is cached per process under the discussion's summary_generation, which every
write to its posts, claims, stances and marks bumps in the same transaction (freshness.py);
reading a cached summary costs no statement beyond the access check.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.sql import FromClause
from sqlmodel import Session, col

from ethicsforum.accounts.models import Account
from ethicsforum.discussions import service as discussions
from ethicsforum.discussions.models import Claim, Position, Rebuttal, Stance
from ethicsforum.errors import Conflict
from ethicsforum.moderation.models import ExemplaryMark

STRONGEST_PER_SIDE = 3
LATEST_CLAIMS = 12
MOST_CONTESTED = 5
UNANSWERED_SHOWN = 20

_P: FromClause = Position.__table__  # type: ignore[attr-defined]
_R: FromClause = Rebuttal.__table__  # type: ignore[attr-defined]
_C: FromClause = Claim.__table__  # type: ignore[attr-defined]
_S: FromClause = Stance.__table__  # type: ignore[attr-defined]
_M: FromClause = ExemplaryMark.__table__  # type: ignore[attr-defined]
_A: FromClause = Account.__table__  # type: ignore[attr-defined]


class PeersNotYetVisible(Conflict):
    """A post-first discussion shows a student nothing of the class until they post."""

    title = "Post your position first"


# ---- the result ------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimRef:
    """A claim as the summary quotes it; no author, so it is the same for every viewer."""

    id: int
    framework: str
    direction: str
    option: str
    text: str
    post_type: str  # "position" or "rebuttal"
    post_id: int
    position_id: int
    exemplary: bool
    rebuttals: int

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "framework": self.framework,
            "direction": self.direction,
            "option": self.option,
            "text": self.text,
            "post": {"type": self.post_type, "id": self.post_id},
            "position_id": self.position_id,
            "exemplary": self.exemplary,
            "rebuttals": self.rebuttals,
        }


@dataclass(frozen=True)
class Side:
    option: str
    direction: str
    claims: int
    strongest: list[ClaimRef]

    def argues_for(self, options: list[str]) -> frozenset[str]:
        if self.direction == "supports":
            return frozenset({self.option})
        return frozenset(o for o in options if o != self.option)


@dataclass(frozen=True)
class Tension:
    framework: str
    sides: list[Side]

    def public(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "sides": [
                {
                    "option": s.option,
                    "direction": s.direction,
                    "claims": s.claims,
                    "strongest": [c.public() for c in s.strongest],
                }
                for s in self.sides
            ],
        }


@dataclass(frozen=True)
class ExemplaryItem:
    type: str  # "position" or "rebuttal"
    id: int
    position_id: int
    option: str
    text: str  # a position's summary or a rebuttal's body
    frameworks: list[str]
    note: str
    by: str
    criteria: list[str]

    def public(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "id": self.id,
            "frameworks": self.frameworks,
            "note": self.note,
            "by": self.by,
            "criteria": self.criteria,
        }


@dataclass(frozen=True)
class PositionRef:
    id: int
    option: str
    summary: str
    rebuttals: int


@dataclass
class Summary:
    discussion_id: int
    include_hidden: bool
    generation: int
    option_keys: list[str]
    frameworks_used: list[str]
    participants: int = 0
    positions: int = 0
    rebuttals: int = 0
    options: dict[str, int] = field(default_factory=dict)
    frameworks: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    unanswered: list[int] = field(default_factory=list)
    most_contested: list[int] = field(default_factory=list)
    exemplary: list[ExemplaryItem] = field(default_factory=list)
    stance_shift: dict[str, dict[str, int]] = field(default_factory=dict)
    tensions: list[Tension] = field(default_factory=list)
    latest_claims: list[ClaimRef] = field(default_factory=list)
    # Summaries of the positions the page names: the most contested and the first unanswered.
    position_refs: dict[int, PositionRef] = field(default_factory=dict)
    _json: bytes | None = field(default=None, repr=False)

    def public(self) -> dict[str, Any]:
        """The contract's summary, plus the tensions."""
        return {
            "discussion_id": self.discussion_id,
            "include_hidden": self.include_hidden,
            "participants": self.participants,
            "positions": self.positions,
            "rebuttals": self.rebuttals,
            "options": self.options,
            "frameworks": self.frameworks,
            "unanswered": self.unanswered,
            "most_contested": self.most_contested,
            "exemplary": [e.public() for e in self.exemplary],
            "stance_shift": self.stance_shift,
            "tensions": [t.public() for t in self.tensions],
        }

    def json_bytes(self) -> bytes:
        """The public summary serialised once per generation (it is read far more than it
        changes)."""
        if self._json is None:
            self._json = json.dumps(self.public(), separators=(",", ":")).encode()
        return self._json

    @property
    def exemplary_by_framework(self) -> dict[str, list[ExemplaryItem]]:
        grouped: dict[str, list[ExemplaryItem]] = {f: [] for f in self.frameworks_used}
        for item in self.exemplary:
            for framework in item.frameworks:
                grouped.setdefault(framework, []).append(item)
        return {f: items for f, items in grouped.items() if items}

    @property
    def recorded(self) -> int:
        """Students counted in the stance shift (an initial and a final option)."""
        return sum(n for row in self.stance_shift.values() for n in row.values())

    @property
    def shifted(self) -> int:
        """Students whose final option differs from their initial one."""
        return sum(n for a, row in self.stance_shift.items() for b, n in row.items() if a != b)


# ---- the cache -------------------------------------------------------------------------


class SummaryCache:
    """The latest summary per discussion and visibility, valid for one generation."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[tuple[int, str, bool], Summary] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, str, bool], generation: int) -> Summary | None:
        with self._lock:
            found = self._items.get(key)
            if found is None or found.generation != generation:
                return None
            self._items.move_to_end(key)
            return found

    def put(self, key: tuple[int, str, bool], summary: Summary) -> None:
        with self._lock:
            self._items[key] = summary
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def summarize(
    session: Session,
    *,
    found: discussions.Access,
    include_hidden: bool = False,
    cache: SummaryCache | None = None,
) -> Summary:
    """The discussion's summary as this viewer may see it."""
    if include_hidden:
        discussions.require_faculty(found)
    if not discussions.sees_peers(session, found):
        raise PeersNotYetVisible(
            "this discussion shows the class's reasoning once you have posted your position"
        )
    d = found.discussion
    # The pseudonym key is random per discussion, so two databases never share a key.
    key = (d.id or 0, d.pseudonym_key, include_hidden)
    if cache is not None and (hit := cache.get(key, d.summary_generation)) is not None:
        return hit
    summary = compute(session, found=found, include_hidden=include_hidden)
    if cache is not None:
        cache.put(key, summary)
    return summary


# ---- the statements --------------------------------------------------------------------


def _counted(table: FromClause, include_hidden: bool) -> ColumnElement[bool]:
    return true() if include_hidden else table.c.hidden_at.is_(None)


def compute(session: Session, *, found: discussions.Access, include_hidden: bool) -> Summary:
    """Compute the summary afresh: five statements whatever the size of the discussion."""
    d = found.discussion
    did = d.id or 0
    options = found.option_keys
    summary = Summary(
        discussion_id=did,
        include_hidden=include_hidden,
        generation=d.summary_generation,
        option_keys=options,
        frameworks_used=found.frameworks,
        options=dict.fromkeys(options, 0),
        frameworks={
            f: {o: {"supports": 0, "challenges": 0} for o in options} for f in found.frameworks
        },
    )
    positions = (
        select(_P.c.id, _P.c.author_id, _P.c.option_key, _P.c.summary, _P.c.created_at)
        .where(_P.c.discussion_id == did, _counted(_P, include_hidden))
        .subquery("counted_positions")
    )
    rebuttals = (
        select(_R.c.id, _R.c.author_id, _R.c.position_id, _R.c.claim_id)
        .where(_R.c.discussion_id == did, _counted(_R, include_hidden))
        .subquery("counted_rebuttals")
    )
    claims = _counted_claims(did, positions, rebuttals)

    _counts(session, summary, positions, rebuttals, claims)
    _threads(session, summary, positions, rebuttals)
    _exemplary(session, summary, did, include_hidden)
    _stance_shift(session, summary, did)
    _claims(session, summary, did, claims, rebuttals, include_hidden)
    return summary


def _counted_claims(did: int, positions: Any, rebuttals: Any) -> Any:
    """Current claims of counted posts, each with the option it argues about."""
    of_positions = select(
        _C.c.id,
        _C.c.framework,
        _C.c.direction,
        positions.c.option_key.label("option"),
        literal("position").label("post_type"),
        positions.c.id.label("post_id"),
        positions.c.id.label("position_id"),
    ).join(positions, positions.c.id == _C.c.position_id)
    answered = _P.alias("answered")
    of_rebuttals = (
        select(
            _C.c.id,
            _C.c.framework,
            _C.c.direction,
            answered.c.option_key.label("option"),
            literal("rebuttal").label("post_type"),
            rebuttals.c.id.label("post_id"),
            rebuttals.c.position_id.label("position_id"),
        )
        .join(rebuttals, rebuttals.c.id == _C.c.rebuttal_id)
        .join(answered, answered.c.id == rebuttals.c.position_id)
    )
    return union_all(
        of_positions.where(_C.c.retired_at.is_(None)),
        of_rebuttals.where(_C.c.retired_at.is_(None)),
    ).subquery("counted_claims")


def _counts(
    session: Session, summary: Summary, positions: Any, rebuttals: Any, claims: Any
) -> None:
    """Totals, positions per option and the framework x option matrix, in one statement."""

    def row(tag: str, a: Any, b: Any, c: Any, n: Any) -> Select[Any]:
        return select(
            literal(tag).label("tag"), a.label("a"), b.label("b"), c.label("c"), n.label("n")
        )

    authors = union(select(positions.c.author_id), select(rebuttals.c.author_id)).subquery(
        "authors"
    )
    none = null()
    statement = union_all(
        row("option", positions.c.option_key, none, none, func.count()).group_by(
            positions.c.option_key
        ),
        row("rebuttals", none, none, none, func.count()).select_from(rebuttals),
        row("participants", none, none, none, func.count()).select_from(authors),
        row(
            "claims", claims.c.framework, claims.c.option, claims.c.direction, func.count()
        ).group_by(claims.c.framework, claims.c.option, claims.c.direction),
    )
    for tag, a, b, c, n in session.execute(statement):
        if tag == "option":
            summary.options[a] = n
            summary.positions += n
        elif tag == "rebuttals":
            summary.rebuttals = n
        elif tag == "participants":
            summary.participants = n
        else:
            cell = summary.frameworks.setdefault(a, {}).setdefault(
                b, {"supports": 0, "challenges": 0}
            )
            cell[c] = n


def _threads(session: Session, summary: Summary, positions: Any, rebuttals: Any) -> None:
    """Unanswered and most contested positions, with the texts the page shows."""
    per_position = (
        select(rebuttals.c.position_id, func.count().label("n"))
        .group_by(rebuttals.c.position_id)
        .subquery("per_position")
    )
    n = func.coalesce(per_position.c.n, 0)
    ranked = (
        select(
            positions.c.id,
            positions.c.option_key,
            positions.c.summary,
            n.label("n"),
            func.row_number().over(order_by=(n.desc(), positions.c.id)).label("contested"),
            func.row_number().over(partition_by=n == 0, order_by=positions.c.id).label("in_group"),
        )
        .outerjoin(per_position, per_position.c.position_id == positions.c.id)
        .subquery("ranked")
    )
    named = or_(
        and_(ranked.c.n == 0, ranked.c.in_group <= UNANSWERED_SHOWN),
        and_(ranked.c.n > 0, ranked.c.contested <= MOST_CONTESTED),
    )
    statement = select(
        ranked.c.id,
        ranked.c.n,
        ranked.c.contested,
        case((named, ranked.c.option_key)),
        case((named, ranked.c.summary)),
    ).order_by(ranked.c.id)
    contested: list[tuple[int, int]] = []
    for pid, count, rank, option, text in session.execute(statement):
        if count == 0:
            summary.unanswered.append(pid)
        elif rank <= MOST_CONTESTED:
            contested.append((rank, pid))
        if option is not None:
            summary.position_refs[pid] = PositionRef(pid, option, text, count)
    summary.most_contested = [pid for _, pid in sorted(contested)]


def _exemplary(session: Session, summary: Summary, did: int, include_hidden: bool) -> None:
    """Standing marks on counted posts, with the frameworks of each post's claims."""
    marked_position = _P.alias("marked_position")
    marked_rebuttal = _R.alias("marked_rebuttal")
    answered = _P.alias("answered")
    statement = (
        select(
            _M.c.id,
            _M.c.position_id,
            _M.c.rebuttal_id,
            _M.c.note,
            _M.c.criteria,
            _A.c.display_name,
            func.coalesce(marked_position.c.option_key, answered.c.option_key),
            func.coalesce(marked_position.c.summary, marked_rebuttal.c.body),
            marked_rebuttal.c.position_id,
            _C.c.framework,
        )
        .join(_A, _A.c.id == _M.c.marked_by_id)
        .outerjoin(marked_position, marked_position.c.id == _M.c.position_id)
        .outerjoin(marked_rebuttal, marked_rebuttal.c.id == _M.c.rebuttal_id)
        .outerjoin(answered, answered.c.id == marked_rebuttal.c.position_id)
        .outerjoin(
            _C,
            and_(
                or_(
                    _C.c.position_id == _M.c.position_id,
                    _C.c.rebuttal_id == _M.c.rebuttal_id,
                ),
                _C.c.retired_at.is_(None),
            ),
        )
        .where(
            _M.c.discussion_id == did,
            _M.c.removed_at.is_(None),
            or_(
                and_(marked_position.c.id.is_not(None), _counted(marked_position, include_hidden)),
                and_(marked_rebuttal.c.id.is_not(None), _counted(marked_rebuttal, include_hidden)),
            ),
        )
        .order_by(_M.c.id)
    )
    items: dict[int, dict[str, Any]] = {}
    for mid, pid, rid, note, criteria, by, option, text, rpid, framework in session.execute(
        statement
    ):
        item = items.setdefault(
            mid,
            {
                "type": "position" if pid is not None else "rebuttal",
                "id": pid if pid is not None else rid,
                "position_id": pid if pid is not None else rpid,
                "option": option,
                "text": text,
                "frameworks": set(),
                "note": note,
                "by": by,
                "criteria": list(criteria or []),
            },
        )
        if framework is not None:
            item["frameworks"].add(framework)
    order = {f: i for i, f in enumerate(summary.frameworks_used)}
    summary.exemplary = [
        ExemplaryItem(
            **{
                **item,
                "frameworks": sorted(item["frameworks"], key=lambda f: (order.get(f, 99), f)),
            }
        )
        for item in items.values()
    ]


def _stance_shift(session: Session, summary: Summary, did: int) -> None:
    """Initial against final option per student, counted in one statement.

    One pass over the discussion's stances and positions: the latest stance of each moment
    per student (row_number), pivoted per student, so the cost stays linear on SQLite too.
    """
    ranked = union_all(
        select(
            _S.c.account_id.label("account_id"),
            _S.c.moment.label("moment"),
            _S.c.option_key.label("option_key"),
            func.row_number()
            .over(partition_by=(_S.c.account_id, _S.c.moment), order_by=_S.c.id.desc())
            .label("rn"),
        ).where(_S.c.discussion_id == did),
        select(_P.c.author_id, literal("position"), _P.c.option_key, literal(1)).where(
            _P.c.discussion_id == did
        ),
    ).subquery("ranked")

    def latest(moment: str) -> Any:
        return func.max(case((ranked.c.moment == moment, ranked.c.option_key)))

    per_student = (
        select(
            func.coalesce(latest("initial"), latest("position")).label("first"),
            func.coalesce(latest("final"), latest("position")).label("last"),
        )
        .where(ranked.c.rn == 1)
        .group_by(ranked.c.account_id)
        .subquery("per_student")
    )
    statement = (
        select(per_student.c.first, per_student.c.last, func.count())
        .where(per_student.c.first.is_not(None), per_student.c.last.is_not(None))
        .group_by(per_student.c.first, per_student.c.last)
    )
    for a, b, n in session.execute(statement):
        summary.stance_shift.setdefault(a, {})[b] = n


def _claims(
    session: Session,
    summary: Summary,
    did: int,
    claims: Any,
    rebuttals: Any,
    include_hidden: bool,
) -> None:
    """The strongest claims of every side and the latest claims, in one statement."""
    answers = (
        select(rebuttals.c.claim_id, func.count().label("n"))
        .where(rebuttals.c.claim_id.is_not(None))
        .group_by(rebuttals.c.claim_id)
        .subquery("answers")
    )
    standing = select(_M.c.position_id, _M.c.rebuttal_id).where(
        _M.c.discussion_id == did, _M.c.removed_at.is_(None)
    )
    marked_positions = standing.with_only_columns(_M.c.position_id).where(
        _M.c.position_id.is_not(None)
    )
    marked_rebuttals = standing.with_only_columns(_M.c.rebuttal_id).where(
        _M.c.rebuttal_id.is_not(None)
    )
    exemplary = case(
        (
            or_(
                and_(claims.c.post_type == "position", claims.c.post_id.in_(marked_positions)),
                and_(claims.c.post_type == "rebuttal", claims.c.post_id.in_(marked_rebuttals)),
            ),
            1,
        ),
        else_=0,
    )
    n = func.coalesce(answers.c.n, 0)
    # Two branches: the strongest claims of each side (a ranking per side) and the latest
    # claims (a top-N by id, no ranking of the whole discussion), over narrow rows; only
    # the few claims kept fetch their text.
    scored = (
        select(
            claims,
            exemplary.label("exemplary"),
            n.label("answers"),
            func.row_number()
            .over(
                partition_by=(claims.c.framework, claims.c.option, claims.c.direction),
                order_by=(exemplary.desc(), n.desc(), claims.c.id),
            )
            .label("rank"),
        )
        .outerjoin(answers, answers.c.claim_id == claims.c.id)
        .subquery("scored")
    )
    newest = (
        select(claims, exemplary.label("exemplary"), n.label("answers"), literal(0).label("rank"))
        .outerjoin(answers, answers.c.claim_id == claims.c.id)
        .order_by(claims.c.id.desc())
        .limit(LATEST_CLAIMS)
        .subquery("newest")
    )
    kept = union_all(
        select(scored, literal("strong").label("list")).where(scored.c.rank <= STRONGEST_PER_SIDE),
        select(newest, literal("latest").label("list")),
    ).subquery("kept")
    quoted = _C.alias("quoted")
    rows = session.execute(select(kept, quoted.c.text).join(quoted, quoted.c.id == kept.c.id)).all()
    strongest: dict[tuple[str, str, str], list[tuple[int, ClaimRef]]] = {}
    latest: list[tuple[int, ClaimRef]] = []
    for row in rows:
        ref = ClaimRef(
            id=row.id,
            framework=row.framework,
            direction=row.direction,
            option=row.option,
            text=row.text,
            post_type=row.post_type,
            post_id=row.post_id,
            position_id=row.position_id,
            exemplary=bool(row.exemplary),
            rebuttals=row.answers,
        )
        if row.list == "strong":
            strongest.setdefault((row.framework, row.option, row.direction), []).append(
                (row.rank, ref)
            )
        else:
            latest.append((-ref.id, ref))
    summary.latest_claims = [ref for _, ref in sorted(latest, key=lambda x: x[0])]
    summary.tensions = tensions(summary, strongest)


def tensions(
    summary: Summary, strongest: dict[tuple[str, str, str], list[tuple[int, ClaimRef]]]
) -> list[Tension]:
    """Frameworks invoked on sides that cannot both win, most cited first."""
    options = summary.option_keys
    found: list[Tension] = []
    for framework, by_option in summary.frameworks.items():
        sides = [
            Side(
                option=option,
                direction=direction,
                claims=n,
                strongest=[
                    ref
                    for _, ref in sorted(
                        strongest.get((framework, option, direction), []), key=lambda x: x[0]
                    )
                ],
            )
            for option in options
            for direction in ("supports", "challenges")
            if (n := by_option.get(option, {}).get(direction, 0))
        ]
        opposed = any(
            not (a.argues_for(options) & b.argues_for(options)) for a, b in combinations(sides, 2)
        )
        if opposed:
            found.append(Tension(framework, sides))
    found.sort(key=lambda t: -sum(s.claims for s in t.sides))
    return found


# ---- comparison across cohorts -----------------------------------------------------------


# Counts under this are withheld from the cross-cohort comparison (null in JSON, "<5" on the
# page): in a small cohort a count of one or two points at a person. The cohort's own
# faculty still read the real counts on the discussion's summary page.
SMALL_COUNT = 5


def suppressed(n: int) -> int | None:
    """A count as the comparison may show it: None when under SMALL_COUNT (zero included,
    or the others would give the withheld ones away)."""
    return None if n < SMALL_COUNT else n


@dataclass(frozen=True)
class Compared:
    """One discussion of a case, as the comparison shows it: anonymous aggregates only,
    each count under SMALL_COUNT withheld (see the properties; `summary` is not for display).
    """

    discussion_id: int
    title: str
    cohort: str
    created_at: datetime
    case_version: int
    phase: str
    option_labels: dict[str, str]
    summary: Summary

    @property
    def options(self) -> dict[str, int | None]:
        return {key: suppressed(self.summary.options.get(key, 0)) for key in self.option_keys}

    @property
    def option_keys(self) -> list[str]:
        return list(self.summary.option_keys)

    @property
    def frameworks(self) -> dict[str, dict[str, dict[str, int | None]]]:
        """The framework x option matrix, each for/against count withheld under SMALL_COUNT."""
        return {
            framework: {
                key: {
                    direction: suppressed(row.get(key, {}).get(direction, 0))
                    for direction in ("supports", "challenges")
                }
                for key in self.option_keys
            }
            for framework, row in self.summary.frameworks.items()
        }

    @property
    def withheld(self) -> bool:
        """Whether any option count is withheld."""
        return any(n is None for n in self.options.values())

    @property
    def positions(self) -> int | None:
        # With an option count withheld, the total would give it away (total minus the rest).
        return None if self.withheld else suppressed(self.summary.positions)

    @property
    def participants(self) -> int | None:
        return suppressed(self.summary.participants)

    def public(self) -> dict[str, Any]:
        return {
            "discussion_id": self.discussion_id,
            "title": self.title,
            "cohort": self.cohort,
            "created_at": self.created_at.isoformat(),
            "case_version": self.case_version,
            "phase": self.phase,
            "participants": self.participants,
            "positions": self.positions,
            "rebuttals": self.summary.rebuttals,
            "options": self.options,
            "frameworks": self.frameworks,
        }


def compare(
    session: Session, *, slug: str, viewer: Account, cache: SummaryCache | None = None
) -> tuple[Any, list[Compared]]:
    """Every discussion of a case, oldest first, each with its option counts and framework x
    option matrix; for those who look after the library, so they see how groups reasoned."""
    from ethicsforum.accounts import policy
    from ethicsforum.accounts.models import Cohort
    from ethicsforum.cases import service as cases
    from ethicsforum.cases.models import CaseVersion
    from ethicsforum.discussions.models import Discussion

    if not policy.may_read_case_history(viewer):
        raise discussions.NotAllowed("comparisons are for faculty, committee members and admins")
    view = cases.get_case(session, slug=slug, statuses=policy.case_statuses_visible_to(viewer))
    rows = session.execute(
        select(Discussion, Cohort, CaseVersion)
        .join(Cohort, col(Cohort.id) == col(Discussion.cohort_id))
        .join(
            CaseVersion,
            and_(
                col(CaseVersion.case_id) == col(Discussion.case_id),
                col(CaseVersion.version) == col(Discussion.case_version),
            ),
        )
        .where(col(Discussion.case_id) == view.case.id)
        .order_by(col(Discussion.created_at), col(Discussion.id))
    ).all()
    compared = []
    for discussion, cohort, version in rows:
        # Counted as any member would see it; the viewer need not belong to the cohort, and
        # nothing here names a student.
        found = discussions.Access(discussion, view.case, version, cohort, viewer, None)
        summary = summarize(session, found=found, cache=cache)
        compared.append(
            Compared(
                discussion_id=discussion.id or 0,
                title=discussion.title,
                cohort=cohort.name,
                created_at=discussion.created_at,
                case_version=discussion.case_version,
                phase=discussion.phase,
                option_labels={str(o["key"]): str(o["label"]) for o in version.options},
                summary=summary,
            )
        )
    return view, compared
