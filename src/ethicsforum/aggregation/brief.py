"""The debate brief (Markdown) and the lossless JSON export of a discussion.

The brief names no student: it quotes claims and summaries only, each escaped (`_line`) so
that it reads as text wherever the Markdown is rendered. Names appear only in
faculty's participation CSV and in the JSON export, which is faculty's full record.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, SQLModel, col, select

from ethicsforum.accounts.models import Account
from ethicsforum.aggregation.service import Summary
from ethicsforum.db import utcnow
from ethicsforum.discussions import present
from ethicsforum.discussions import service as discussions
from ethicsforum.discussions.models import Claim, Position, Rebuttal, Revision, Stance
from ethicsforum.discussions.schemas import DiscussionWithCase
from ethicsforum.markdown import escape_markdown
from ethicsforum.moderation.models import AuditEntry, ExemplaryMark, Feedback, Flag

EXPORT_FORMAT = 1


def _line(text: str | None) -> str:
    """Quoted text (students', faculty's, the case's) on one line and inert: it cannot break
    the brief's own structure, and no HTML or Markdown element comes out of it when the
    brief is rendered or pasted into another tool."""
    return escape_markdown(text)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def side_label(labels: dict[str, str], option: str, direction: str) -> str:
    label = labels.get(option, option)
    return f"For {label}" if direction == "supports" else f"Against {label}"


def markdown(session: Session, *, found: discussions.Access, summary: Summary) -> str:
    """The brief faculty take into the room or file after it: counts, tensions, exemplary
    reasoning with notes, and what remained unanswered."""
    d, v = found.discussion, found.version
    labels = {str(o["key"]): str(o["label"]) for o in v.options}
    out = [
        f"# Debate brief: {_line(d.title)}",
        "",
        f"Case: {_line(v.title)} (version {d.case_version}) · cohort {_line(found.cohort.name)}"
        f" · phase {d.phase} · prepared {utcnow():%Y-%m-%d %H:%M} UTC",
        "",
        f"**The question.** {_line(v.question)}",
        "",
        f"{_count(summary.participants, 'student')} took part: "
        f"{_count(summary.positions, 'position')} and {_count(summary.rebuttals, 'rebuttal')}. "
        "Hidden posts are not counted.",
        "",
        "## Where the class stood",
        "",
        "| Option | Positions |",
        "|---|---:|",
        *[f"| {_line(labels[k])} | {summary.options.get(k, 0)} |" for k in labels],
        "",
    ]
    if summary.recorded:
        out += [
            f"{summary.shifted} of {summary.recorded} students who recorded a stance "
            "changed their mind.",
            "",
            "| Initial option | Final option | Students |",
            "|---|---|---:|",
        ]
        for a, row in summary.stance_shift.items():
            for b, n in row.items():
                out.append(f"| {_line(labels.get(a, a))} | {_line(labels.get(b, b))} | {n} |")
        out.append("")
    out += ["## Frameworks by option", ""]
    out.append("| Framework | " + " | ".join(_line(labels[k]) for k in labels) + " |")
    out.append("|---|" + "---:|" * len(labels))
    for framework, cells_by_option in summary.frameworks.items():
        cells = []
        for k in labels:
            cell = cells_by_option.get(k, {})
            cells.append(f"{cell.get('supports', 0)} for, {cell.get('challenges', 0)} against")
        out.append(f"| {framework} | " + " | ".join(cells) + " |")
    out += ["", "## Tensions", ""]
    if not summary.tensions:
        out += ["No framework was invoked on opposite sides.", ""]
    for tension in summary.tensions:
        out += [f"### {tension.framework.capitalize()}", ""]
        for side in tension.sides:
            out.append(
                f"**{side_label(labels, side.option, side.direction)}** "
                f"({side.claims} claim{'s' if side.claims != 1 else ''})"
            )
            out.append("")
            for claim in side.strongest:
                marks = []
                if claim.exemplary:
                    marks.append("exemplary")
                if claim.rebuttals:
                    marks.append(f"{claim.rebuttals} rebuttal{'s' if claim.rebuttals != 1 else ''}")
                tail = f" ({', '.join(marks)})" if marks else ""
                out.append(f"- {_line(claim.text)}{tail}")
            out.append("")
    out += ["## Exemplary reasoning", ""]
    if not summary.exemplary:
        out += ["None marked.", ""]
    for item in summary.exemplary:
        what = "Position" if item.type == "position" else "Rebuttal"
        frameworks = ", ".join(item.frameworks) or "no framework tagged"
        out += [
            f"### {what} for {_line(labels.get(item.option, item.option))} ({frameworks})",
            "",
            f"> {_line(item.text)}",
            "",
            f"Faculty note ({_line(item.by)}): {_line(item.note)}",
            "",
        ]
    out += ["## Unanswered positions", ""]
    if not summary.unanswered:
        out += ["Every position drew at least one rebuttal.", ""]
    for pid in summary.unanswered:
        ref = summary.position_refs.get(pid)
        if ref is None:
            break
        out.append(f"- {_line(ref.summary)} ({_line(labels.get(ref.option, ref.option))})")
    rest = len(summary.unanswered) - sum(
        1 for p in summary.unanswered if p in summary.position_refs
    )
    if rest > 0:
        out.append(f"- and {rest} more")
    return "\n".join(out).rstrip() + "\n"


def _row(obj: SQLModel, *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    data = obj.model_dump(mode="json")
    for name in drop:
        data.pop(name, None)
    return data


def everything_json(session: Session, *, found: discussions.Access) -> bytes:
    """Every stored row of the discussion, for faculty's records: nothing left out but the
    secret behind the pseudonyms (each author's pseudonym is listed instead)."""
    d = found.discussion
    did = d.id or 0
    positions = session.exec(
        select(Position).where(Position.discussion_id == did).order_by(col(Position.id))
    ).all()
    rebuttals = session.exec(
        select(Rebuttal).where(Rebuttal.discussion_id == did).order_by(col(Rebuttal.id))
    ).all()
    pids = [p.id for p in positions]
    rids = [r.id for r in rebuttals]

    def of_posts(model: Any) -> list[Any]:
        if not pids and not rids:
            return []
        return list(
            session.exec(
                select(model)
                .where(or_(col(model.position_id).in_(pids), col(model.rebuttal_id).in_(rids)))
                .order_by(col(model.id))
            )
        )

    def of_discussion(model: Any) -> list[Any]:
        return list(
            session.exec(select(model).where(model.discussion_id == did).order_by(col(model.id)))
        )

    stances = of_discussion(Stance)
    flags = of_discussion(Flag)
    marks = of_discussion(ExemplaryMark)
    audit = of_discussion(AuditEntry)
    feedback = of_discussion(Feedback)
    people: set[int] = {d.created_by_id}
    for group, names in (
        (positions, ("author_id", "hidden_by_id")),
        (rebuttals, ("author_id", "hidden_by_id")),
        (stances, ("account_id",)),
        (flags, ("flagged_by_id", "resolved_by_id")),
        (marks, ("marked_by_id", "removed_by_id")),
        (audit, ("actor_id",)),
        (feedback, ("author_id",)),
    ):
        for obj in group:
            people.update(getattr(obj, n) for n in names if getattr(obj, n, None))
    accounts = session.exec(select(Account).where(col(Account.id).in_(people))).all()
    looked = present.lookups(session, positions=positions, rebuttals=rebuttals)
    threads: dict[int, list[present.RebuttalPublic]] = {}
    for r in rebuttals:
        threads.setdefault(r.position_id, []).append(present.rebuttal_public(found, r, looked))
    usernames = {a.id: a.username for a in accounts}
    everything = {
        "format": EXPORT_FORMAT,
        "exported_at": utcnow().isoformat(),
        # As the API shows them to faculty: the discussion with its case, each position with
        # its rebuttals as a tree, and the stances.
        "discussion": DiscussionWithCase.build(found, base_url="/").model_dump(mode="json"),
        "positions": [
            present.PositionWithRebuttals(
                **present.position_public(found, p, looked).__dict__,
                rebuttals=present.tree(threads.get(p.id or 0, [])),
            ).model_dump(mode="json")
            for p in positions
        ],
        "stances": [
            {
                "username": usernames.get(s.account_id),
                "moment": s.moment,
                "option": s.option_key,
                "recorded_at": s.recorded_at.isoformat(),
            }
            for s in stances
        ],
        # Every stored row, ids and history included: retired claims, revisions, flags,
        # removed marks, feedback and the audit trail.
        "records": {
            "discussion": _row(d, drop=("pseudonym_key",)),
            "cohort": {"id": found.cohort.id, "name": found.cohort.name},
            "case_version": {"slug": found.case.slug, **_row(found.version)},
            "accounts": [
                {
                    "id": a.id,
                    "username": a.username,
                    "display_name": a.display_name,
                    "role": a.role,
                    "profession": a.profession,
                    "pseudonym": present.pseudonym(d.pseudonym_key, a.id or 0),
                }
                for a in accounts
            ],
            "positions": [_row(p) for p in positions],
            "rebuttals": [_row(r) for r in rebuttals],
            "claims": [_row(c) for c in of_posts(Claim)],
            "revisions": [_row(r) for r in of_posts(Revision)],
            "stances": [_row(s) for s in stances],
            "flags": [_row(f) for f in flags],
            "exemplary_marks": [_row(m) for m in marks],
            "feedback": [_row(f) for f in feedback],
            "audit": [_row(a) for a in audit],
        },
    }
    return json.dumps(everything, ensure_ascii=False, default=_default).encode()


def _default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")
