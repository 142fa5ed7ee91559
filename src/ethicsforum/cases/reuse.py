"""Reusing a case: copies with their provenance, discussions started from it, its dossier."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from ethicsforum.accounts import cohorts, policy
from ethicsforum.accounts.models import Account, Cohort, MemberRole
from ethicsforum.cases import service
from ethicsforum.cases.fileformat import SLUG_RE, CaseContent, DerivedFrom
from ethicsforum.cases.models import CaseStatus, CaseVersion, EthicsCase
from ethicsforum.errors import Invalid
from ethicsforum.markdown import escape_markdown
from ethicsforum.params import OptionalBodyVersion

if TYPE_CHECKING:
    from ethicsforum.cases.schemas import Citation
    from ethicsforum.moderation.service import ExemplaryReasoning

MAX_COPIES_LISTED = 50
FOUR_BOX = (
    ("medical_indications", "Medical indications"),
    ("patient_preferences", "Patient preferences"),
    ("quality_of_life", "Quality of life"),
    ("contextual_features", "Contextual features"),
)


class CaseCopy(BaseModel):
    """A library editor copying a case: the API body and the page form."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    slug: str = Field(min_length=1, max_length=80, pattern=SLUG_RE.pattern)
    version: OptionalBodyVersion = None
    title: str | None = Field(default=None, min_length=1, max_length=200)


def copy_case(
    session: Session,
    *,
    source_slug: str,
    data: CaseCopy,
    actor: Account,
    statuses: Collection[str] | None,
) -> service.CaseView:
    """Start a new draft case from one version of another, recording where it came from.

    The copy holds the source version's content (its title replaced when one is given),
    `derived_from` names the source slug and version, and its change note says so.
    Raises CaseNotFound when the source or that version is not visible to the actor, and
    CaseConflict when the new slug is taken.
    """
    source = service.get_case(
        session,
        slug=source_slug,
        statuses=statuses,
        version=data.version,
        history=policy.may_read_case_history(actor),
    )
    try:
        document = service.document_of(source)
        content = CaseContent.model_validate(
            {
                **document.model_dump(include=set(CaseContent.model_fields)),
                "title": data.title or document.title,
                "derived_from": DerivedFrom(slug=source.case.slug, version=source.version.version),
            }
        )
    except ValidationError as exc:
        # A version stored under older rules that today's rules refuse: say what, never 500.
        raise Invalid(
            "this version of the case no longer passes the case rules; revise it first",
            [
                {"loc": ["source", *e["loc"]], "type": e["type"], "msg": e["msg"]}
                for e in exc.errors()
            ],
        ) from None
    return service.create_case(
        session,
        slug=data.slug,
        content=content,
        actor=actor,
        change_note=f"Copied from {source.case.slug} version {source.version.version}",
    )


@dataclass(frozen=True)
class Source:
    """The case a copy came from; `title` is None when this viewer cannot see it here."""

    slug: str
    version: int
    title: str | None


@dataclass(frozen=True)
class Provenance:
    """Where a case came from and which visible cases were copied from it."""

    source: Source | None
    copies: list[service.CaseView]


def _source(
    session: Session, derived: dict[str, object], statuses: Collection[str] | None
) -> Source | None:
    slug, version = derived.get("slug"), derived.get("version")
    if not isinstance(slug, str) or not isinstance(version, int):
        return None
    try:
        view = service.get_case(session, slug=slug, statuses=statuses, version=version)
    except service.CaseNotFound:
        # Imported from another library, or not for this viewer: name it, link nothing.
        return Source(slug, version, None)
    return Source(slug, version, view.version.title)


def provenance(
    session: Session, *, view: service.CaseView, statuses: Collection[str] | None
) -> Provenance:
    """The source of this case version, and the cases whose current version copies this case."""
    derived = view.version.derived_from
    query = (
        select(EthicsCase, CaseVersion)
        .join(
            CaseVersion,
            (col(CaseVersion.case_id) == col(EthicsCase.id))
            & (col(CaseVersion.version) == col(EthicsCase.current_version)),
        )
        .where(
            col(CaseVersion.derived_from)["slug"].as_string() == view.case.slug,
            col(EthicsCase.id) != view.case.id,
        )
        .options(defer(CaseVersion.vignette), defer(CaseVersion.vignette_html))  # type: ignore[arg-type]
        .order_by(col(EthicsCase.created_at), col(EthicsCase.id))
        .limit(MAX_COPIES_LISTED)
    )
    if statuses is not None:
        query = query.where(col(EthicsCase.status).in_(list(statuses)))
    copies = [service.CaseView(c, v) for c, v in session.exec(query).all()]
    return Provenance(_source(session, derived, statuses) if derived else None, copies)


def cohorts_run_by(session: Session, *, account: Account | None) -> list[Cohort]:
    """The cohorts, not archived, in which this faculty member or admin is faculty."""
    if account is None or not policy.may_create_cohort(account):
        return []
    return [
        cohort
        for cohort, membership in cohorts.cohorts_of(session, account=account)
        if membership.role == MemberRole.faculty.value and cohort.archived_at is None
    ]


@dataclass(frozen=True)
class CaseReuse:
    """What the case page shows about reuse: provenance and which tools to offer."""

    provenance: Provenance
    may_copy: bool
    runs_cohort: bool


def for_case_page(session: Session, *, view: service.CaseView, viewer: Account | None) -> CaseReuse:
    """Provenance and the reuse tools this viewer may use, for the case page."""
    return CaseReuse(
        provenance=provenance(session, view=view, statuses=policy.case_statuses_visible_to(viewer)),
        may_copy=policy.may_write_cases(viewer),
        runs_cohort=bool(cohorts_run_by(session, account=viewer)),
    )


# ---- the dossier -------------------------------------------------------------------------


@dataclass(frozen=True)
class Dossier:
    """A case with its exemplary reasoning from closed discussions and its citation."""

    view: service.CaseView
    exemplary: list[ExemplaryReasoning]
    citation: Citation

    @property
    def option_labels(self) -> dict[str, str]:
        return {str(o["key"]): str(o["label"]) for o in self.view.version.options}

    @property
    def four_box(self) -> list[tuple[str, str]]:
        box = self.view.version.four_box or {}
        return [(label, str(box[key])) for key, label in FOUR_BOX if box.get(key)]


def dossier(
    session: Session,
    *,
    slug: str,
    statuses: Collection[str] | None,
    base_url: str,
    version: int | None = None,
) -> Dossier:
    """Gather a case version, its anonymised exemplary reasoning and its citation.

    Exemplary reasoning comes from every closed discussion of the case, whichever version
    it ran, with no author attached. Raises CaseNotFound for a case or version not visible.
    """
    from ethicsforum.cases.schemas import citation
    from ethicsforum.moderation import service as moderation

    view = service.get_case(session, slug=slug, statuses=statuses, version=version)
    return Dossier(
        view=view,
        exemplary=moderation.exemplary_for_case(session, case_id=view.case.id or 0),
        citation=citation(view, base_url=base_url),
    )


def _block_quote(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.strip().splitlines())


def render_dossier(dossier: Dossier) -> str:
    """The dossier as one Markdown document: the case, the reasoning, the citation."""
    v = dossier.view.version
    out = [f"# {v.title}", ""]
    status = (
        ""
        if dossier.view.case.status == CaseStatus.curated.value
        else (f" · {dossier.view.case.status}")
    )
    out += [f"*Case dossier · version {v.version} · {dossier.citation.date}{status}*", ""]
    out += [v.summary, "", "## Vignette", "", v.vignette, "", "## The question", "", v.question]
    out += [""] + [f"{i}. {o['label']} (`{o['key']}`)" for i, o in enumerate(v.options, 1)]
    out += ["", "## Frameworks in play", "", ", ".join(v.frameworks), ""]
    if dossier.four_box:
        out += ["## Four-box analysis", ""]
        for label, text in dossier.four_box:
            out += [f"### {label}", "", text, ""]
    if v.learning_objectives:
        out += ["## Learning objectives", ""] + [f"- {o}" for o in v.learning_objectives] + [""]
    if v.references:
        out += ["## References", ""]
        out += [f"{i}. {r}" for i, r in enumerate(v.references, 1)] + [""]
    out += ["## Exemplary reasoning from closed discussions", ""]
    if not dossier.exemplary:
        out += ["No reasoning from a closed discussion of this case has been marked exemplary.", ""]
    for i, item in enumerate(dossier.exemplary, 1):
        # Students' and faculty's words are escaped, so they read as text wherever the
        # dossier is rendered: no HTML or Markdown element comes out of them.
        if item.kind == "position":
            label = escape_markdown(item.option_label or "an earlier option")
            heading = f"### {i}. A position: {label}"
        else:
            heading = f"### {i}. A rebuttal"
        out += [heading, ""]
        if item.summary:
            out += [f"**{escape_markdown(item.summary)}**", ""]
        if item.body.strip():
            out += [escape_markdown(item.body, one_line=False), ""]
        if item.claims:
            out += ["Claims:", ""]
            out += [
                f"- *{escape_markdown(fw)}*, {direction}: {escape_markdown(text)}"
                for fw, direction, text in item.claims
            ]
            out += [""]
        out += [_block_quote(f"**Why it is exemplary:** {escape_markdown(item.note)}")]
        if item.criteria:
            criteria = escape_markdown("; ".join(item.criteria).capitalize() + ".")
            out += [">", _block_quote(criteria)]
        out += [""]
    out += ["## Citation", "", dossier.citation.text, ""]
    return "\n".join(out)
