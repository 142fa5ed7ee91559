"""Sign-in, sign-out and cohort pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from ethicsforum import security_log
from ethicsforum.accounts import cohorts, policy, service, sessions, web
from ethicsforum.accounts.models import Account
from ethicsforum.accounts.ratelimit import TooManyAttempts
from ethicsforum.accounts.web import PageAccount, SignedInDep, safe_next
from ethicsforum.db import SessionDep, read_session
from ethicsforum.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from ethicsforum.errors import DomainError
from ethicsforum.params import Id
from ethicsforum.templating import render
from ethicsforum.urls import absolute_for

router = APIRouter(tags=["pages"], include_in_schema=False)


def _login_page(
    request: Request,
    *,
    status_code: int = 200,
    error: str | None = None,
    username: str = "",
    next_url: str = "/",
    notice: str | None = None,
) -> Response:
    settings = request.app.state.settings
    return render(
        request,
        "accounts/login.html",
        {
            "error": error,
            "username": username,
            "next_url": next_url,
            "notice": notice,
            "demo_accounts": DEMO_ACCOUNTS if settings.demo else [],
            "demo_password": DEMO_PASSWORD if settings.demo else None,
        },
        status_code=status_code,
    )


@router.get("/", name="home_page")
def home_page(state: SignedInDep) -> Response:
    return RedirectResponse("/cohorts" if state else "/login", status_code=303)


@router.get("/login", name="login_page")
def login_page(
    request: Request,
    state: SignedInDep,
    next: Annotated[str | None, Query(max_length=2000)] = None,
    signed_out: bool = False,
) -> Response:
    if state is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(
        request, next_url=safe_next(next), notice="You have signed out." if signed_out else None
    )


@router.post("/login", name="login_submit")
def login_submit(
    request: Request,
    session: SessionDep,
    state: SignedInDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    settings = request.app.state.settings
    next_url = safe_next(next)
    if not username.strip() or not password:
        return _login_page(
            request,
            status_code=422,
            username=username,
            next_url=next_url,
            error="Enter your username and your password.",
        )
    try:
        with read_session(request.app.state.engine) as reader:
            account = service.sign_in(
                session,
                reader=reader,
                username=username,
                password=password,
                address=request.client.host if request.client else "unknown",
                rate_limited=settings.rate_limits,
            )
    except service.BadCredentials:
        return _login_page(
            request,
            status_code=401,
            username=username,
            next_url=next_url,
            error="Incorrect username or password.",
        )
    except TooManyAttempts as exc:
        response = _login_page(
            request,
            status_code=429,
            username=username,
            next_url=next_url,
            error=f"Too many sign-in attempts. Try again in "
            f"{max(1, -(-exc.retry_after // 60))} minute(s).",
        )
        response.headers.update(exc.headers)
        return response
    if state is not None:  # a new id at every sign-in; the old session ends
        sessions.end(session, browser_session=state.browser_session)
    token = sessions.start(
        session,
        account=account,
        absolute=timedelta(hours=settings.session_absolute_hours),
        user_agent=request.headers.get("user-agent"),
    )
    response = RedirectResponse(next_url, status_code=303)
    web.set_session_cookie(request, response, token, settings.session_absolute_hours * 3600)
    return response


@router.post("/logout", name="logout")
def logout(request: Request, session: SessionDep, state: SignedInDep) -> Response:
    if state is not None:
        sessions.end(session, browser_session=state.browser_session)
        security_log.event(
            "signed_out", username=state.account.username, account_id=state.account.id
        )
    response = RedirectResponse("/login?signed_out=true", status_code=303)
    web.delete_session_cookie(request, response)
    return response


def _cohorts_context(session: SessionDep, account: Account) -> dict[str, Any]:
    # The one place accounts reads discussions: the home page lists both.
    from ethicsforum.discussions import service as discussions_service

    by_cohort: dict[int, list[Any]] = {}
    rows = discussions_service.discussions_of(session, account=account)
    for discussion, cohort in rows:
        by_cohort.setdefault(cohort.id or 0, []).append(discussion)
    return {
        "memberships": cohorts.cohorts_of(session, account=account),
        "may_create": policy.may_create_cohort(account),
        "may_join": policy.may_join_with_code(account),
        "discussions": by_cohort,
        "activity": discussions_service.activity(
            session, discussion_ids=[d.id or 0 for d, _ in rows]
        ),
        "new_for_you": discussions_service.new_since_own_post(
            session, discussion_ids=[d.id or 0 for d, _ in rows], account_id=account.id or 0
        ),
    }


@router.get("/cohorts", name="cohort_list_page")
def cohort_list_page(request: Request, session: SessionDep, account: PageAccount) -> Response:
    return render(
        request,
        "accounts/cohorts.html",
        _cohorts_context(session, account),
    )


@router.post("/cohorts", name="cohort_create")
def cohort_create(
    request: Request,
    session: SessionDep,
    account: PageAccount,
    name: Annotated[str, Form(max_length=120)] = "",
) -> Response:
    try:
        cohort = cohorts.create_cohort(session, name=name, creator=account)
    except DomainError as exc:
        return render(
            request,
            "accounts/cohorts.html",
            {
                **_cohorts_context(session, account),
                "create_error": exc.message,
                "name": name,
            },
            status_code=exc.status_code,
        )
    return RedirectResponse(
        absolute_for(request, "cohort_page", cohort_id=cohort.id), status_code=303
    )


@router.post("/cohorts/join", name="cohort_join")
def cohort_join(
    request: Request,
    session: SessionDep,
    account: PageAccount,
    join_code: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    try:
        cohort = cohorts.join(
            session,
            code=join_code,
            account=account,
            address=request.client.host if request.client else "unknown",
            rate_limited=request.app.state.settings.rate_limits,
        )
    except DomainError as exc:
        response = render(
            request,
            "accounts/cohorts.html",
            {
                **_cohorts_context(session, account),
                "join_error": exc.message,
                "join_code": join_code,
            },
            status_code=exc.status_code,
        )
        response.headers.update(exc.headers)  # Retry-After on a 429
        return response
    return RedirectResponse(
        absolute_for(request, "cohort_page", cohort_id=cohort.id), status_code=303
    )


@router.get("/join/{code}", name="join_page")
def join_page(request: Request, account: PageAccount, code: str) -> Response:
    # A link only shows the form: joining is a POST, so no GET changes anything.
    may_join = policy.may_join_with_code(account)
    return render(
        request,
        "accounts/join.html",
        {
            "join_code": cohorts.display_code(cohorts.normalise_code(code)[:32]),
            "refused": None if may_join else cohorts.JOIN_CODES_ARE_FOR_STUDENTS,
        },
        status_code=200 if may_join else 403,
    )


def _cohort_context(
    request: Request, session: SessionDep, found: cohorts.CohortAccess, account: PageAccount
) -> dict[str, object]:
    rows = cohorts.members(session, cohort=found.cohort)
    if not found.manages:
        rows = [(m, a) for m, a in rows if a.id == account.id]
    from ethicsforum.cases import service as cases_service
    from ethicsforum.discussions import service as discussions_service

    cohort_id = found.cohort.id or 0
    discussions = discussions_service.cohort_discussions(session, cohort_id=cohort_id)
    return {
        "cohort": found.cohort,
        "manages": found.manages,
        "members": rows,
        "protected": cohorts.protected_members(session, cohort=found.cohort),
        "discussions": discussions,
        "activity": discussions_service.activity(
            session, discussion_ids=[d.id or 0 for d in discussions]
        ),
        "new_for_you": discussions_service.new_since_own_post(
            session, discussion_ids=[d.id or 0 for d in discussions], account_id=account.id or 0
        ),
        "cases": cases_service.list_cases(session, statuses=None, per_page=100).items
        if found.manages
        else [],
        "join_code": cohorts.display_code(found.cohort.join_code),
        "join_url": absolute_for(request, "join_page", code=found.cohort.join_code),
    }


@router.get("/cohorts/{cohort_id}", name="cohort_page")
def cohort_page(
    request: Request, session: SessionDep, account: PageAccount, cohort_id: Id
) -> Response:
    found = cohorts.access(session, cohort_id=cohort_id, account=account)
    return render(
        request, "accounts/cohort.html", _cohort_context(request, session, found, account)
    )


@router.post("/cohorts/{cohort_id}/members", name="cohort_add_member")
def cohort_add_member(
    request: Request,
    session: SessionDep,
    account: PageAccount,
    cohort_id: Id,
    username: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    found = cohorts.managed(session, cohort_id=cohort_id, account=account)
    try:
        cohorts.add_member(session, cohort=found.cohort, actor=account, username=username)
    except DomainError as exc:
        context = _cohort_context(request, session, found, account)
        context.update(add_error=exc.message, username=username)
        return render(request, "accounts/cohort.html", context, status_code=exc.status_code)
    return RedirectResponse(
        absolute_for(request, "cohort_page", cohort_id=cohort_id), status_code=303
    )


@router.post("/cohorts/{cohort_id}/members/{username}/remove", name="cohort_remove_member")
def cohort_remove_member(
    request: Request, session: SessionDep, account: PageAccount, cohort_id: Id, username: str
) -> Response:
    found = cohorts.managed(session, cohort_id=cohort_id, account=account)
    try:
        cohorts.remove_member(session, cohort=found.cohort, actor=account, username=username)
    except DomainError as exc:
        context = _cohort_context(request, session, found, account)
        context.update(remove_error=exc.message)
        return render(request, "accounts/cohort.html", context, status_code=exc.status_code)
    return RedirectResponse(
        absolute_for(request, "cohort_page", cohort_id=cohort_id), status_code=303
    )
