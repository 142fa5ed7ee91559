"""The case library's JSON API under /api/v1/cases."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlmodel import select

from ethicsforum.accounts import policy
from ethicsforum.accounts.deps import ApiAccount, CaseWriter
from ethicsforum.accounts.models import Account
from ethicsforum.cases import service
from ethicsforum.cases.fileformat import (
    CaseContent,
    CaseFileInvalid,
    parse_case_file,
)
from ethicsforum.cases.models import CaseStatus
from ethicsforum.cases.schemas import (
    CaseCreate,
    CaseList,
    CasePublic,
    CaseSummaryPublic,
    CaseUpdate,
    CaseVersionInfo,
    StatusChange,
)
from ethicsforum.db import SessionDep

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


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
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
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


@router.get("/{slug}", response_model=CasePublic)
def get_case(
    request: Request,
    session: SessionDep,
    account: ApiAccount,
    slug: str,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> CasePublic:
    """One case, at its current version or at ?version=N."""
    view = service.get_case(
        session,
        slug=slug,
        version=version,
        statuses=policy.case_statuses_visible_to(account),
        history=policy.may_read_case_history(account),
    )
    return CasePublic.build(view, base_url=str(request.base_url))


def _history_reader(account: ApiAccount) -> Account:
    # A dependency, so permission is decided before any parameter is validated.
    if not policy.may_read_case_history(account):
        raise HTTPException(403, "only faculty, committee members and admins may do this")
    return account


HistoryReader = Annotated[Account, Depends(_history_reader)]


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
    version: Annotated[int | None, Query(ge=1)] = None,
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
    return CasePublic.build(view, base_url=str(request.base_url))


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
        409: {"description": "The slug exists with different content"},
    },
)
def import_case(
    request: Request,
    session: SessionDep,
    account: CaseWriter,
    raw: Annotated[bytes, Depends(case_file_body)],
) -> Response:
    """Import a case file (text/markdown); every problem is listed with its line."""
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
    result = service.import_case(session, document=document, actor_id=account.id)
    view = service.get_case(session, slug=document.slug, statuses=None)
    public = CasePublic.build(view, base_url=str(request.base_url))
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
    return CasePublic.build(view, base_url=str(request.base_url))


@router.post("/{slug}/status", response_model=CasePublic)
def change_status(
    request: Request, session: SessionDep, account: CaseWriter, slug: str, body: StatusChange
) -> CasePublic:
    """Move a case to draft, review, curated or retired."""
    view = service.set_status(
        session, slug=slug, status=body.status, actor=account, reason=body.reason
    )
    return CasePublic.build(view, base_url=str(request.base_url))
