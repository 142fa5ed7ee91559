"""The case library's JSON API under /api/v1/cases."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import ValidationError
from sqlmodel import col, select

from ethicsforum.accounts import policy
from ethicsforum.accounts.deps import ApiAccount, CaseWriter
from ethicsforum.accounts.models import Account
from ethicsforum.cases import bundle, curation, deid, importing, reuse, service
from ethicsforum.cases import diff as case_diff
from ethicsforum.cases.fileformat import (
    CaseContent,
    CaseFileInvalid,
    parse_case_file,
)
from ethicsforum.cases.models import CaseStatus
from ethicsforum.cases.schemas import (
    CaseCheckFields,
    CaseCreate,
    CaseDiffPublic,
    CaseList,
    CasePublic,
    CaseSummaryPublic,
    CaseUpdate,
    CaseVersionInfo,
    DeidAcceptancePublic,
    DeidAccepted,
    DeidAcceptInput,
    DeidCheckResult,
    DeidReport,
    DeidWarningPublic,
    DeidWarningState,
    ReviewCreate,
    ReviewPublic,
    StatusChange,
)
from ethicsforum.db import SessionDep
from ethicsforum.params import MAX_ID, OptionalVersion, Page, PerPage
from ethicsforum.urls import absolute_url

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])

# Imports arrive as drafts; an admin may keep the stated status, with a reason that is audited.
KeepStatus = Annotated[
    bool,
    Query(description="Keep the status each case file states (admin only; needs a reason)"),
]
KeepReason = Annotated[
    str | None,
    Query(max_length=importing.MAX_REASON, description="Why the stated status is kept"),
]


def check_framework(request: Request, framework: str | None) -> None:
    allowed = request.app.state.settings.frameworks
    if framework is not None and framework not in allowed:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "framework"),
                    "type": "enum",
                    "input": framework,
                    "msg": "Input should be one of " + ", ".join(allowed),
                }
            ]
        )


@router.get("", response_model=CaseList)
def list_cases(
    request: Request,
    session: SessionDep,
    account: ApiAccount,
    q: Annotated[str | None, Query(max_length=200)] = None,
    framework: Annotated[str | None, Query(max_length=40)] = None,
    tag: Annotated[str | None, Query(max_length=40)] = None,
    status: CaseStatus | None = None,
    page: Page = 1,
    per_page: PerPage = 20,
) -> CaseList:
    """Search and page through the cases this account may see."""
    check_framework(request, framework)
    found = service.list_cases(
        session,
        statuses=policy.case_statuses_visible_to(account),
        q=q,
        framework=framework,
        tag=tag,
        status=status.value if status else None,
        page=page,
        per_page=per_page,
    )
    return CaseList(
        items=[CaseSummaryPublic.of(v) for v in found.items],
        total=found.total,
        page=page,
        per_page=per_page,
    )


def _history_reader(account: ApiAccount) -> Account:
    # A dependency, so permission is decided before any parameter is validated.
    if not policy.may_read_case_history(account):
        raise HTTPException(403, "only faculty, committee members and admins may do this")
    return account


HistoryReader = Annotated[Account, Depends(_history_reader)]


# Bundles: single-segment paths, so they come before "/{slug}", which would take them.


@router.get(
    "/export",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "A case bundle"}},
)
def export_bundle(
    session: SessionDep,
    account: HistoryReader,
    slugs: Annotated[list[str], Query(min_length=1, max_length=bundle.MAX_CASES)],
) -> Response:
    """Several cases as one zip: their case files and a manifest of their checksums."""
    data = bundle.export_bundle(
        session,
        slugs=bundle.bundle_slugs(slugs),
        statuses=policy.case_statuses_visible_to(account),
    )
    return Response(
        data,
        media_type=bundle.MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="ethicsforum-cases.zip"'},
    )


async def bundle_body(request: Request) -> bytes:
    """The raw request body (InputGuard already refuses more than 1 MiB)."""
    raw = await request.body()
    if len(raw) > bundle.MAX_BUNDLE_BYTES:
        raise HTTPException(413, f"a bundle may be at most {bundle.MAX_BUNDLE_BYTES} bytes")
    return raw


@router.post(
    "/import-bundle",
    response_model=bundle.BundleImportPublic,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {bundle.MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    responses={
        409: {"description": "Cases exist with different content; each is listed"},
        422: {"description": "The bundle has problems; each is listed with file and line"},
    },
)
def import_bundle(
    request: Request,
    session: SessionDep,
    account: CaseWriter,
    raw: Annotated[bytes, Depends(bundle_body)],
    keep_status: KeepStatus = False,
    reason: KeepReason = None,
) -> Response:
    """Import a case bundle (application/zip) whole or not at all; its cases arrive as drafts."""
    override = importing.override_of(account, keep_status=keep_status, reason=reason)
    try:
        result = bundle.import_bundle(
            session,
            raw=raw,
            frameworks=request.app.state.settings.frameworks,
            actor_id=account.id,
            override=override,
        )
    except bundle.BundleConflict as exc:
        return JSONResponse({"detail": exc.problems}, status_code=409)
    public = bundle.BundleImportPublic(imported=result.imported, unchanged=result.unchanged)
    return JSONResponse(public.model_dump(mode="json"))


@router.get("/{slug}", response_model=CasePublic)
def get_case(
    request: Request,
    session: SessionDep,
    account: ApiAccount,
    slug: str,
    version: OptionalVersion = None,
) -> CasePublic:
    """One case, at its current version or at ?version=N."""
    view = service.get_case(
        session,
        slug=slug,
        version=version,
        statuses=policy.case_statuses_visible_to(account),
        history=policy.may_read_case_history(account),
    )
    return CasePublic.build(view, base_url=absolute_url(request, "/"))


@router.get("/{slug}/versions", response_model=list[CaseVersionInfo])
def list_versions(session: SessionDep, account: HistoryReader, slug: str) -> list[CaseVersionInfo]:
    """A case's versions, newest first, with who made each and why."""
    versions = service.list_versions(
        session, slug=slug, statuses=policy.case_statuses_visible_to(account)
    )
    ids = {v.created_by_id for v in versions if v.created_by_id}
    names = (
        dict(
            session.exec(
                select(Account.id, Account.username).where(Account.id.in_(ids))  # type: ignore[union-attr]
            ).all()
        )
        if ids
        else {}
    )
    return [
        CaseVersionInfo(
            version=v.version,
            updated_at=v.created_at,
            updated_by=names.get(v.created_by_id),
            change_note=v.change_note,
        )
        for v in versions
    ]


@router.get(
    "/{slug}/export",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/markdown": {}}}},
)
def export_case(
    session: SessionDep,
    account: HistoryReader,
    slug: str,
    version: OptionalVersion = None,
) -> PlainTextResponse:
    """The case in the case file format, ready to import elsewhere."""
    body = service.export_case(
        session, slug=slug, version=version, statuses=policy.case_statuses_visible_to(account)
    )
    return PlainTextResponse(
        body,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{slug}.md"'},
    )


MAX_CASE_FILE_BYTES = 256 * 1024


async def case_file_body(request: Request) -> bytes:
    """The raw request body, refused when larger than a case file can reasonably be."""
    raw = await request.body()
    if len(raw) > MAX_CASE_FILE_BYTES:
        raise HTTPException(413, f"a case file may be at most {MAX_CASE_FILE_BYTES} bytes")
    return raw


@router.post("", response_model=CasePublic, status_code=201)
def create_case(
    request: Request, session: SessionDep, account: CaseWriter, body: CaseCreate
) -> CasePublic:
    """Start a new case as a draft at version 1."""
    content = CaseContent.model_validate(body.model_dump(exclude={"slug"}))
    service.check_frameworks(content, allowed=request.app.state.settings.frameworks)
    view = service.create_case(session, slug=body.slug, content=content, actor=account)
    return CasePublic.build(view, base_url=absolute_url(request, "/"))


@router.post(
    "/import",
    response_model=CasePublic,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/markdown": {"schema": {"type": "string"}}},
        }
    },
    responses={
        200: {"description": "The slug exists with the same content; nothing changed"},
        403: {"description": "keep_status asked for by someone other than an admin"},
        409: {
            "description": "The slug exists with different content, or keep_status would "
            "make curated a case the de-identification check holds back"
        },
    },
)
def import_case(
    request: Request,
    session: SessionDep,
    account: CaseWriter,
    raw: Annotated[bytes, Depends(case_file_body)],
    keep_status: KeepStatus = False,
    reason: KeepReason = None,
) -> Response:
    """Import a case file (text/markdown) as a draft; every problem is listed with its line."""
    override = importing.override_of(account, keep_status=keep_status, reason=reason)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestValidationError(
            [{"loc": ("body",), "type": "case_file", "line": 1, "msg": "expected UTF-8 text"}]
        ) from None
    settings = request.app.state.settings
    try:
        document = parse_case_file(text, frameworks=settings.frameworks, source="body")
    except CaseFileInvalid as exc:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", *[p for p in problem.field.split(".") if p]),
                    "type": "case_file",
                    "line": problem.line,
                    "msg": problem.message,
                }
                for problem in exc.problems
            ]
        ) from None
    result = importing.import_case(
        session,
        document=document,
        actor=account,
        keep_status=override is not None,
        reason=override.reason if override else None,
    )
    view = service.get_case(session, slug=document.slug, statuses=None)
    public = CasePublic.build(view, base_url=absolute_url(request, "/"))
    return JSONResponse(public.model_dump(mode="json"), status_code=201 if result.created else 200)


@router.put("/{slug}", response_model=CasePublic)
def revise_case(
    request: Request, session: SessionDep, account: CaseWriter, slug: str, body: CaseUpdate
) -> CasePublic:
    """Save a new version of a case (its status is unchanged; older versions are kept)."""
    content = CaseContent.model_validate(body.model_dump(exclude={"change_note"}))
    service.check_frameworks(content, allowed=request.app.state.settings.frameworks)
    view = service.revise_case(
        session, slug=slug, content=content, change_note=body.change_note, actor=account
    )
    return CasePublic.build(view, base_url=absolute_url(request, "/"))


@router.post("/{slug}/status", response_model=CasePublic)
def change_status(
    request: Request, session: SessionDep, account: CaseWriter, slug: str, body: StatusChange
) -> CasePublic:
    """Move a case along draft, review, curated, retired; 409 names the allowed next steps."""
    view = curation.set_status(
        session,
        slug=slug,
        status=body.status,
        actor=account,
        override=body.override,
        reason=body.reason,
    )
    return CasePublic.build(view, base_url=absolute_url(request, "/"))


@router.get("/{slug}/reviews", response_model=list[ReviewPublic])
def list_reviews(session: SessionDep, account: HistoryReader, slug: str) -> list[ReviewPublic]:
    """Every review of a case, newest first: who, when, which version, verdict and comment."""
    view = service.get_case(session, slug=slug, statuses=policy.case_statuses_visible_to(account))
    return [ReviewPublic.of(r) for r in curation.list_reviews(session, case=view.case)]


@router.post("/{slug}/reviews", response_model=ReviewPublic, status_code=201)
def add_review(
    session: SessionDep, account: CaseWriter, slug: str, body: ReviewCreate
) -> ReviewPublic:
    """Review the case's current version; its last editor may not approve it (409)."""
    entry = curation.add_review(
        session, slug=slug, verdict=body.verdict, comment=body.comment, actor=account
    )
    return ReviewPublic.of(entry)


@router.get("/{slug}/diff", response_model=CaseDiffPublic, response_model_exclude_none=True)
def diff_versions(
    session: SessionDep,
    account: HistoryReader,
    slug: str,
    before: Annotated[int, Query(alias="from", ge=1, le=MAX_ID)],
    after: Annotated[int, Query(alias="to", ge=1, le=MAX_ID)],
) -> CaseDiffPublic:
    """The fields that changed between two versions (only those), word by word for text."""
    found = case_diff.compare_versions(
        session,
        slug=slug,
        statuses=policy.case_statuses_visible_to(account),
        before=before,
        after=after,
    )
    return CaseDiffPublic.of(found)


@router.post("/{slug}/copy", response_model=CasePublic, status_code=201)
def copy_case(
    request: Request, session: SessionDep, account: CaseWriter, slug: str, body: reuse.CaseCopy
) -> CasePublic:
    """Copy a case (current version, or `version`) into a new draft that names its source."""
    view = reuse.copy_case(
        session,
        source_slug=slug,
        data=body,
        actor=account,
        statuses=policy.case_statuses_visible_to(account),
    )
    return CasePublic.build(view, base_url=absolute_url(request, "/"))


@router.get(
    "/{slug}/dossier",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/markdown": {}}}},
)
def case_dossier(
    request: Request,
    session: SessionDep,
    account: HistoryReader,
    slug: str,
    fmt: Annotated[Literal["markdown"], Query(alias="format")] = "markdown",
    version: OptionalVersion = None,
) -> PlainTextResponse:
    """The case, its anonymised exemplary reasoning from closed discussions, and its citation."""
    found = reuse.dossier(
        session,
        slug=slug,
        version=version,
        statuses=policy.case_statuses_visible_to(account),
        base_url=absolute_url(request, "/"),
    )
    return PlainTextResponse(
        reuse.render_dossier(found),
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{slug}-dossier.md"'},
    )


# The de-identification check (cases/deid.py).


def _case_file_problems(exc: CaseFileInvalid) -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "loc": ("body", *[p for p in problem.field.split(".") if p]),
                "type": "case_file",
                "line": problem.line,
                "msg": problem.message,
            }
            for problem in exc.problems
        ]
    )


@router.post(
    "/check",
    response_model=DeidCheckResult,
    response_model_exclude_none=True,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/CaseCheckFields"}},
                "text/markdown": {"schema": {"type": "string"}},
            },
        }
    },
)
def check_case(
    request: Request,
    account: CaseWriter,
    raw: Annotated[bytes, Depends(case_file_body)],
) -> DeidCheckResult:
    """Warn of text that may identify a person, in case fields (JSON) or a case file."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestValidationError(
            [{"loc": ("body",), "type": "unicode", "msg": "expected UTF-8 text"}]
        ) from None
    if media_type == "text/markdown":
        try:
            warnings = deid.check_case_file(text, frameworks=request.app.state.settings.frameworks)
        except CaseFileInvalid as exc:
            raise _case_file_problems(exc) from None
    elif media_type in {"application/json", ""}:
        try:
            fields = CaseCheckFields.model_validate_json(text or "null")
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
            ) from None
        warnings = deid.check_fields(fields.text_fields())
    else:
        raise RequestValidationError(
            [
                {
                    "loc": ("header", "content-type"),
                    "type": "media_type",
                    "msg": "expected application/json case fields or a text/markdown case file",
                }
            ]
        )
    return DeidCheckResult(warnings=[DeidWarningPublic.of(w) for w in warnings])


def _usernames(session: SessionDep, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(select(Account.id, Account.username).where(col(Account.id).in_(ids)))
    return {id_: name for id_, name in rows if id_ is not None}


@router.get("/{slug}/deid", response_model=DeidReport)
def deid_report(session: SessionDep, account: CaseWriter, slug: str) -> DeidReport:
    """The current version's de-identification warnings, each with its acceptance if any."""
    view = service.get_case(session, slug=slug, statuses=None)
    case_id = view.case.id or 0
    warnings = deid.check_content(deid.content_of(view.version))
    accepted = deid.acceptances(session, case_id=case_id)
    names = _usernames(session, {a.accepted_by_id for a in accepted.values()})
    states = []
    for w in warnings:
        found = accepted.get((w.field, w.kind, w.text))
        states.append(
            DeidWarningState(
                **DeidWarningPublic.of(w).model_dump(),
                accepted=DeidAccepted(
                    reason=found.reason, by=names.get(found.accepted_by_id), at=found.created_at
                )
                if found
                else None,
            )
        )
    return DeidReport(
        slug=view.case.slug,
        version=view.version.version,
        warnings=states,
        unresolved=sum(1 for s in states if s.accepted is None),
    )


@router.post("/{slug}/deid/accept", response_model=DeidAcceptancePublic, status_code=201)
def deid_accept(
    session: SessionDep, account: CaseWriter, slug: str, body: DeidAcceptInput
) -> DeidAcceptancePublic:
    """Accept one warning of the current version, with the reason it identifies nobody."""
    view = service.get_case(session, slug=slug, statuses=None)
    found = deid.accept(
        session,
        case_id=view.case.id or 0,
        version=view.version.version,
        field=body.field,
        kind=body.kind,
        text=body.text,
        reason=body.reason,
        actor=account,
    )
    return DeidAcceptancePublic(
        field=found.field,
        kind=found.kind,
        text=found.text,
        version=found.version,
        reason=found.reason,
        by=account.username,
        at=found.created_at,
    )
