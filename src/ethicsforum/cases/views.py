"""The case library's pages: /cases and /cases/{slug}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ethicsforum.accounts import policy
from ethicsforum.accounts.web import PageViewer
from ethicsforum.cases import service
from ethicsforum.cases.api import check_framework
from ethicsforum.cases.models import CaseStatus
from ethicsforum.cases.schemas import citation
from ethicsforum.db import SessionDep
from ethicsforum.templating import is_htmx, render

router = APIRouter(prefix="/cases", tags=["pages"], include_in_schema=False)


@router.get("", name="case_list_page")
def case_list_page(
    request: Request,
    session: SessionDep,
    viewer: PageViewer,
    q: Annotated[str | None, Query(max_length=200)] = None,
    framework: Annotated[str | None, Query(max_length=40)] = None,
    tag: Annotated[str | None, Query(max_length=40)] = None,
    status: CaseStatus | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    # An empty select in the filter form sends "framework=": treat it as no filter.
    framework = framework or None
    tag = tag or None
    check_framework(request, framework)
    statuses = policy.case_statuses_visible_to(viewer)
    per_page = request.app.state.settings.page_size
    found = service.list_cases(
        session,
        statuses=statuses,
        q=q,
        framework=framework,
        tag=tag,
        status=status.value if status else None,
        page=page,
        per_page=per_page,
    )
    context = {
        "found": found,
        "q": q or "",
        "framework": framework or "",
        "tag": tag or "",
        "status": status.value if status else "",
        "frameworks": request.app.state.settings.frameworks,
        "tags": service.library_tags(session, statuses=statuses),
        "statuses": [s.value for s in CaseStatus] if statuses is None else [],
        "filtered": bool(q or framework or tag or status),
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "case-results":
        return render(request, "cases/_results.html", context)
    return render(request, "cases/list.html", context)


@router.get("/{slug}", name="case_detail_page")
def case_detail_page(
    request: Request,
    session: SessionDep,
    viewer: PageViewer,
    slug: str,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    view = service.get_case(
        session,
        slug=slug,
        version=version,
        statuses=policy.case_statuses_visible_to(viewer),
        history=policy.may_read_case_history(viewer),
    )
    return render(
        request,
        "cases/detail.html",
        {
            "view": view,
            "case": view.case,
            "v": view.version,
            "citation": citation(view, base_url=str(request.base_url)),
            "is_old_version": view.version.version != view.case.current_version,
            "library_editor": policy.may_read_case_history(viewer),
        },
    )
