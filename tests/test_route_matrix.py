"""Every route of the application against every kind of visitor, read from the route table.

A route added without a row here fails this test, so nothing escapes the matrix. Requests
carry no useful body: a role that may act gets past authorisation and meets validation
(422) or a missing target (404); a role that may not gets 401, 403, 404 or a redirect to
sign in, whatever it sent.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route

from ethicsforum import keys
from ethicsforum.accounts import cohorts, sessions
from ethicsforum.accounts import service as accounts_service
from ethicsforum.accounts.web import CSRF_COOKIE
from ethicsforum.discussions import service as discussions
from tests.conftest import fresh
from tests.factories import make_account, make_case

ROLES = ("anonymous", "student", "faculty", "committee", "admin")


def row(anonymous, student, faculty, committee, admin):
    return dict(zip(ROLES, (anonymous, student, faculty, committee, admin), strict=True))


EXPECTED = {
    # JSON API: bearer tokens only.
    "POST /api/v1/auth/token": row(422, 422, 422, 422, 422),
    "POST /api/v1/auth/revoke": row(401, 204, 204, 204, 204),
    "GET /api/v1/me": row(401, 200, 200, 200, 200),
    "POST /api/v1/users": row(401, 403, 403, 403, 422),
    "GET /api/v1/cohorts": row(401, 200, 200, 200, 200),
    "POST /api/v1/cohorts": row(401, 403, 422, 403, 422),
    # Join codes are for students only: anyone else is refused before the body is read.
    "POST /api/v1/cohorts/join": row(401, 422, 403, 403, 403),
    "GET /api/v1/cohorts/{cohort_id}": row(401, 200, 200, 404, 200),
    "POST /api/v1/cohorts/{cohort_id}/members": row(401, 403, 422, 404, 422),
    "DELETE /api/v1/cohorts/{cohort_id}/members/{username}": row(401, 403, 404, 404, 404),
    "GET /api/v1/cases": row(401, 200, 200, 200, 200),
    "POST /api/v1/cases": row(401, 403, 422, 422, 422),
    "POST /api/v1/cases/import": row(401, 403, 422, 422, 422),
    "GET /api/v1/cases/{slug}": row(401, 200, 200, 200, 200),
    "PUT /api/v1/cases/{slug}": row(401, 403, 422, 422, 422),
    "GET /api/v1/cases/{slug}/versions": row(401, 403, 200, 200, 200),
    "GET /api/v1/cases/{slug}/export": row(401, 403, 200, 200, 200),
    "POST /api/v1/cases/{slug}/status": row(401, 403, 422, 422, 422),
    # The de-identification check: for those who write cases; no body is a 422.
    "POST /api/v1/cases/check": row(401, 403, 422, 422, 422),
    "GET /api/v1/cases/{slug}/deid": row(401, 403, 200, 200, 200),
    "POST /api/v1/cases/{slug}/deid/accept": row(401, 403, 422, 422, 422),
    "POST /cases/{slug}/deid/accept": row(303, 403, 422, 422, 422),
    "GET /cases/{slug}/export": row(303, 403, 200, 200, 200),
    # History, diffs and curation: for those who look after the library (no from/to: 422).
    "GET /api/v1/cases/{slug}/diff": row(401, 403, 422, 422, 422),
    "GET /api/v1/cases/{slug}/reviews": row(401, 403, 200, 200, 200),
    "POST /api/v1/cases/{slug}/reviews": row(401, 403, 422, 422, 422),
    # Reuse: copies, dossiers and bundles are for those who look after the library.
    "GET /api/v1/cases/export": row(401, 403, 422, 422, 422),
    "POST /api/v1/cases/import-bundle": row(401, 403, 422, 422, 422),
    "POST /api/v1/cases/{slug}/copy": row(401, 403, 422, 422, 422),
    "GET /api/v1/cases/{slug}/dossier": row(401, 403, 200, 200, 200),
    # Discussions: `student` wrote the position and the rebuttal; `committee` is outside.
    "POST /api/v1/discussions": row(401, 403, 422, 403, 422),
    "GET /api/v1/discussions/{discussion_id}": row(401, 200, 200, 404, 200),
    "PATCH /api/v1/discussions/{discussion_id}": row(401, 403, 422, 404, 422),
    "GET /api/v1/discussions/{discussion_id}/positions": row(401, 200, 200, 404, 200),
    "POST /api/v1/discussions/{discussion_id}/positions": row(401, 422, 403, 404, 403),
    "POST /api/v1/discussions/{discussion_id}/stance": row(401, 422, 403, 404, 403),
    "GET /api/v1/positions/{position_id}": row(401, 200, 200, 404, 200),
    "PATCH /api/v1/positions/{position_id}": row(401, 422, 403, 404, 403),
    "GET /api/v1/positions/{position_id}/revisions": row(401, 200, 200, 404, 200),
    "POST /api/v1/positions/{position_id}/rebuttals": row(401, 422, 403, 404, 403),
    "PATCH /api/v1/rebuttals/{rebuttal_id}": row(401, 422, 403, 404, 403),
    "GET /discussions/{discussion_id}": row(303, 200, 200, 404, 200),
    "POST /discussions/{discussion_id}/positions": row(303, 422, 403, 404, 403),
    "POST /discussions/{discussion_id}/claim-row": row(303, 200, 200, 404, 200),
    "POST /discussions/{discussion_id}/deid-check": row(303, 200, 200, 404, 200),
    "POST /discussions/{discussion_id}/stance": row(303, 422, 403, 404, 403),
    "POST /discussions/{discussion_id}/phase": row(303, 403, 422, 404, 422),
    # An open stream never ends; allowed roles are checked in discussions/test_live.py.
    "GET /discussions/{discussion_id}/events": row(303, None, None, 404, None),
    "POST /cohorts/{cohort_id}/discussions": row(303, 403, 422, 404, 422),
    "POST /markdown/preview": row(303, 200, 200, 200, 200),
    "GET /empty": row(303, 200, 200, 200, 200),
    "GET /positions/{position_id}": row(303, 200, 200, 404, 200),
    "POST /positions/{position_id}/rebuttals": row(303, 422, 403, 404, 403),
    "GET /positions/{position_id}/edit": row(303, 200, 403, 404, 403),
    "POST /positions/{position_id}/edit": row(303, 422, 403, 404, 403),
    "GET /positions/{position_id}/revisions": row(303, 200, 200, 404, 200),
    # Moderation. Flagging is for members (admins are not); restoring a post that is not
    # hidden is a 409 and unmarking an unmarked one a 404: both past the permission check.
    "POST /api/v1/positions/{post_id}/flag": row(401, 422, 422, 404, 403),
    "POST /api/v1/rebuttals/{post_id}/flag": row(401, 422, 422, 404, 403),
    "POST /api/v1/positions/{post_id}/hide": row(401, 403, 422, 404, 422),
    "POST /api/v1/rebuttals/{post_id}/hide": row(401, 403, 422, 404, 422),
    "POST /api/v1/positions/{post_id}/restore": row(401, 403, 409, 404, 409),
    "POST /api/v1/rebuttals/{post_id}/restore": row(401, 403, 409, 404, 409),
    "PUT /api/v1/positions/{post_id}/exemplary": row(401, 403, 422, 404, 422),
    "PUT /api/v1/rebuttals/{post_id}/exemplary": row(401, 403, 422, 404, 422),
    "DELETE /api/v1/positions/{post_id}/exemplary": row(401, 403, 404, 404, 404),
    "DELETE /api/v1/rebuttals/{post_id}/exemplary": row(401, 403, 404, 404, 404),
    "GET /api/v1/moderation/queue": row(401, 403, 200, 403, 200),
    "POST /api/v1/flags/{flag_id}/dismiss": row(401, 403, 422, 403, 422),
    "GET /api/v1/audit": row(401, 403, 200, 403, 200),
    "GET /moderation": row(303, 403, 200, 403, 200),
    "GET /audit": row(303, 403, 200, 403, 200),
    "GET /cohorts/{cohort_id}/participation": row(303, 403, 200, 404, 200),
    "GET /cohorts/{cohort_id}/participation.csv": row(303, 403, 200, 404, 200),
    "POST /api/v1/positions/{post_id}/feedback": row(401, 403, 422, 404, 422),
    "POST /api/v1/rebuttals/{post_id}/feedback": row(401, 403, 422, 404, 422),
    "GET /api/v1/positions/{post_id}/feedback": row(401, 200, 200, 404, 200),
    "GET /api/v1/rebuttals/{post_id}/feedback": row(401, 200, 200, 404, 200),
    "GET /cases/{slug}/exemplary": row(200, 200, 200, 200, 200),
    "GET /api/v1/discussions/{discussion_id}/export": row(401, 403, 200, 404, 200),
    "GET /api/v1/discussions/{discussion_id}/summary": row(401, 200, 200, 404, 200),
    "GET /api/v1/cases/{slug}/comparison": row(401, 403, 200, 200, 200),
    "GET /cases/{slug}/comparison": row(303, 403, 200, 200, 200),
    "GET /cases/{slug}/copy": row(303, 403, 200, 200, 200),
    "POST /cases/{slug}/copy": row(303, 403, 422, 422, 422),
    "GET /cases/{slug}/discuss": row(303, 403, 200, 403, 200),
    "GET /cases/{slug}/dossier": row(303, 403, 200, 200, 200),
    "GET /api/v1/discussions/{discussion_id}/spotlight": row(401, 200, 200, 404, 200),
    "PUT /api/v1/discussions/{discussion_id}/spotlight": row(401, 403, 422, 404, 422),
    "DELETE /api/v1/discussions/{discussion_id}/spotlight": row(401, 403, 204, 404, 204),
    "GET /discussions/{discussion_id}/participation": row(303, 403, 200, 404, 200),
    "GET /discussions/{discussion_id}/summary": row(303, 200, 200, 404, 200),
    "GET /discussions/{discussion_id}/debate": row(303, 403, 200, 404, 200),
    "GET /discussions/{discussion_id}/debate/live": row(303, 403, 200, 404, 200),
    "GET /discussions/{discussion_id}/spotlight": row(303, 200, 200, 404, 200),
    "POST /discussions/{discussion_id}/spotlight": row(303, 403, 422, 404, 422),
    "GET /discussions/{discussion_id}/brief": row(303, 403, 200, 404, 200),
    "GET /discussions/{discussion_id}/participation.csv": row(303, 403, 200, 404, 200),
    "POST /moderation/flags/{flag_id}/dismiss": row(303, 404, 422, 404, 422),
    "GET /moderate/{plural}/{post_id}": row(303, 200, 200, 404, 200),
    "POST /moderate/{plural}/{post_id}/{action}": row(303, 403, 422, 404, 422),
    "GET /notifications": row(303, 200, 200, 200, 200),
    "POST /notifications/read": row(303, 303, 303, 303, 303),
    "GET /notifications/count": row(303, 200, 200, 200, 200),
    # Pages: a session cookie and, for unsafe methods, the form's anti-forgery token.
    "GET /": row(303, 303, 303, 303, 303),
    "GET /login": row(200, 303, 303, 303, 303),
    "POST /login": row(422, 422, 422, 422, 422),
    "POST /logout": row(303, 303, 303, 303, 303),
    "GET /cohorts": row(303, 200, 200, 200, 200),
    "POST /cohorts": row(303, 403, 422, 403, 422),
    "POST /cohorts/join": row(303, 404, 403, 403, 403),
    "GET /join/{code}": row(303, 200, 403, 403, 403),
    "GET /cohorts/{cohort_id}": row(303, 200, 200, 404, 200),
    "POST /cohorts/{cohort_id}/members": row(303, 403, 422, 404, 422),
    "POST /cohorts/{cohort_id}/members/{username}/remove": row(303, 403, 404, 404, 404),
    "GET /cases": row(200, 200, 200, 200, 200),
    "GET /cases/{slug}": row(200, 200, 200, 200, 200),
    "GET /cases/{slug}/history": row(303, 403, 200, 200, 200),
    "GET /cases/{slug}/diff": row(303, 403, 422, 422, 422),
    "POST /cases/{slug}/reviews": row(303, 403, 422, 422, 422),
    "POST /cases/{slug}/status": row(303, 403, 422, 422, 422),
    # The case editor: for faculty, committee members and admins; an empty form is a 422.
    "GET /cases/new": row(303, 403, 200, 200, 200),
    "POST /cases/new": row(303, 403, 422, 422, 422),
    "POST /cases/preview": row(303, 403, 200, 200, 200),
    "POST /cases/option-row": row(303, 403, 200, 200, 200),
    "POST /cases/check": row(303, 403, 422, 422, 422),
    "GET /cases/{slug}/edit": row(303, 403, 200, 200, 200),
    "POST /cases/{slug}/edit": row(303, 403, 422, 422, 422),
    "GET /healthz": row(200, 200, 200, 200, 200),
    "GET /openapi.json": row(200, 200, 200, 200, 200),
    "GET /docs": row(200, 200, 200, 200, 200),
    "GET /docs/oauth2-redirect": row(200, 200, 200, 200, 200),
    "GET /redoc": row(200, 200, 200, 200, 200),
}


def _walk(routes) -> list[tuple[str, str]]:
    found = []
    for route in routes:
        # FastAPI keeps an included router as one entry that expands to its routes, with
        # the prefix applied; walk into it so a router's routes cannot hide.
        expand = getattr(route, "effective_candidates", None)
        if expand is not None:
            found += _walk(expand())
        elif isinstance(route, APIRoute | Route) or getattr(route, "methods", None):
            for method in sorted(set(route.methods) - {"HEAD"}):
                found.append((method, route.path))
    return found


def app_routes(app) -> list[tuple[str, str]]:
    return _walk(app.routes)


def test_every_route_of_the_app_is_in_the_matrix(app):
    assert {f"{m} {p}" for m, p in app_routes(app)} == set(EXPECTED)


@pytest.fixture
def world(client, session, settings):
    """One cohort run by `faculty` with `student` in it; a curated case; an outsider committee."""
    accounts = {
        role: make_account(session, username=f"matrix-{role}", role=role)
        for role in ROLES
        if role != "anonymous"
    }
    cohort = cohorts.create_cohort(session, name="Matrix", creator=accounts["faculty"])
    cohorts.join(session, code=cohort.join_code, account=accounts["student"])
    make_case(session, slug="matrix-case", status="curated")
    discussion = discussions.open_discussion(
        session,
        account=accounts["faculty"],
        data=discussions.DiscussionInput(
            case_slug="matrix-case", cohort_id=cohort.id or 0, early_rebuttals=True
        ),
    )
    found = discussions.access(
        session, discussion_id=discussion.id or 0, account=accounts["student"]
    )
    claim = discussions.ClaimInput(framework="autonomy", direction="supports", text="x")
    position = discussions.post_position(
        session,
        found=found,
        rate_limited=False,
        data=discussions.PositionInput(option="act", summary="s", claims=[claim]),
    )
    rebuttal = discussions.post_rebuttal(
        session,
        position=position,
        found=found,
        rate_limited=False,
        data=discussions.RebuttalInput(kind="counter", body="b"),
    )
    from ethicsforum.moderation import service as moderation

    flag = moderation.flag(
        session,
        t=moderation.target(
            session, kind="rebuttal", post_id=rebuttal.id or 0, account=accounts["student"]
        ),
        data=moderation.ReasonInput(reason="matrix"),
    )
    client.get("/login")  # the anonymous anti-forgery cookie
    return {
        "accounts": accounts,
        "cohort": cohort,
        "anon_csrf": client.cookies[CSRF_COOKIE],
        "settings": settings,
        "discussion": discussion,
        "position": position,
        "rebuttal": rebuttal,
        "flag": flag,
    }


def credentials(session, world, role):
    """Fresh credentials per request, so revoking or signing out affects no other cell."""
    if role == "anonymous":
        # The form token is derived from the cookie with the secret key (accounts/web.py).
        return {}, None, keys.token("csrf-anonymous", world["anon_csrf"])
    account = world["accounts"][role]
    token, _ = accounts_service.issue_token(fresh(session), account=account)
    cookie = sessions.start(session, account=account, absolute=timedelta(hours=1), user_agent=None)
    signed = sessions.resolve(fresh(session), token=cookie, idle=timedelta(hours=1))
    assert signed is not None
    fresh(session)
    # The form token is derived from the session's value with the secret key.
    return (
        {"Authorization": f"Bearer {token}"},
        cookie,
        keys.token("csrf-session", signed.csrf_token),
    )


def test_each_route_answers_each_role_as_the_matrix_says(app, client, session, world):
    values = {
        "{cohort_id}": str(world["cohort"].id),
        "{slug}": "matrix-case",
        "{code}": world["cohort"].join_code,
        "{username}": "nobody-here",
        "{discussion_id}": str(world["discussion"].id),
        "{position_id}": str(world["position"].id),
        "{rebuttal_id}": str(world["rebuttal"].id),
        "{flag_id}": str(world["flag"].id),
        "{plural}": "rebuttals",
        "{action}": "hide",
    }
    mismatches = []
    for method, template in app_routes(app):
        path = template
        post = world["position"] if template.startswith("/api/v1/positions/") else world["rebuttal"]
        path = path.replace("{post_id}", str(post.id))
        for key, value in values.items():
            path = path.replace(key, value)

        for role in ROLES:
            expected = EXPECTED[f"{method} {template}"][role]
            if expected is None:
                continue
            headers, cookie, csrf = credentials(session, world, role)
            client.cookies.clear()
            client.cookies.set(CSRF_COOKIE, world["anon_csrf"])
            if path.startswith("/api/"):
                response = client.request(method, path, headers=headers)
            else:
                if cookie:
                    client.cookies.set(sessions.COOKIE, cookie)
                data = {"csrf_token": csrf} if method != "GET" else None
                response = client.request(method, path, data=data, follow_redirects=False)
            if response.status_code != expected:
                mismatches.append(
                    f"{method} {template} as {role}: {response.status_code}, expected {expected}"
                )
    assert mismatches == []


def test_no_page_answers_a_forbidden_visitor_with_500(app, client, session, world):
    # Unsafe page requests without any token are refused before anything else happens.
    for method, template in app_routes(app):
        if method == "GET" or template.startswith("/api/"):
            continue
        path = (
            template.replace("{cohort_id}", str(world["cohort"].id))
            .replace("{username}", "x")
            .replace("{code}", "x")
            .replace("{slug}", "matrix-case")
        )
        for key in ("discussion", "position", "rebuttal", "flag"):
            path = path.replace(f"{{{key}_id}}", str(world[key].id))
        path = path.replace("{plural}", "rebuttals").replace("{action}", "hide")
        path = path.replace("{post_id}", str(world["rebuttal"].id))
        _, cookie, _ = credentials(session, world, "faculty")

        client.cookies.clear()
        client.cookies.set(sessions.COOKIE, cookie)
        assert client.request(method, path, follow_redirects=False).status_code == 403, path
