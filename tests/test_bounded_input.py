"""Numbers no row could hold never reach the database, and an unforeseen failure is still a page.

Every route is read from the app's route table; each integer it takes in its path or query
string is given 0, -1 and 99999999999999999999 (beyond 64 bits: the driver's OverflowError
was a 500), as an admin, who may reach everything. The API answers 422 naming the parameter;
a page answers 404 for an id in its address (a page that cannot exist) and a readable 422
for a query value. A route added later is walked too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, get_args

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ethicsforum import keys
from ethicsforum.accounts import service as accounts_service
from ethicsforum.accounts import sessions
from ethicsforum.accounts.web import CSRF_COOKIE
from ethicsforum.params import MAX_ID
from ethicsforum.security import HEADERS
from tests.conftest import fresh
from tests.test_route_matrix import world  # noqa: F401  (the fixture)

BAD = ("0", "-1", "99999999999999999999")
# The event stream never ends once it is open; its query is checked in test_the_event_stream_*.
STREAMS = {"/discussions/{discussion_id}/events"}


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    # A 500 must come back as a response to look at, not as the exception behind it.
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _walk(routes: Any) -> Iterator[Any]:
    for route in routes:
        expand = getattr(route, "effective_candidates", None)
        if expand is not None:
            yield from _walk(expand())
        elif getattr(route, "dependant", None) is not None:
            yield route


def _dependants(dependant: Any) -> Iterator[Any]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _is_int(annotation: Any) -> bool:
    return annotation is int or int in get_args(annotation)


def integer_parameters(app: FastAPI) -> list[tuple[str, str, str, str]]:
    """(method, path template, "path" or "query", name as sent) for every integer parameter."""
    found = set()
    for route in _walk(app.routes):
        for dependant in _dependants(route.dependant):
            for where, params in (
                ("path", dependant.path_params),
                ("query", dependant.query_params),
            ):
                for param in params:
                    if _is_int(param.field_info.annotation):
                        for method in route.methods - {"HEAD"}:
                            found.add((method, route.path, where, param.alias))
    return sorted(found)


def test_the_walk_finds_the_integers_it_should(app):
    found = {(m, p, w, n) for m, p, w, n in integer_parameters(app)}
    assert ("GET", "/api/v1/positions/{position_id}", "path", "position_id") in found
    assert ("GET", "/api/v1/cases", "query", "page") in found
    assert ("GET", "/api/v1/cases", "query", "per_page") in found
    assert ("GET", "/api/v1/cases/{slug}", "query", "version") in found
    assert ("GET", "/audit", "query", "discussion_id") in found
    assert (
        "PUT",
        "/api/v1/discussions/{discussion_id}/spotlight",
        "path",
        "discussion_id",
    ) in found
    assert ("GET", "/cases/{slug}/diff", "query", "from") in found
    assert len(found) > 80


@pytest.fixture
def admin(session, world):  # noqa: F811
    """An admin's bearer token and signed-in page session, made once."""
    account = world["accounts"]["admin"]
    token, _ = accounts_service.issue_token(fresh(session), account=account)
    cookie = sessions.start(session, account=account, absolute=timedelta(hours=1), user_agent=None)
    signed = sessions.resolve(fresh(session), token=cookie, idle=timedelta(hours=1))
    assert signed is not None
    fresh(session)
    return {
        "headers": {"Authorization": f"Bearer {token}"},
        "cookie": cookie,
        "csrf": keys.token("csrf-session", signed.csrf_token),
    }


def _good_path(template: str, world: dict[str, Any]) -> str:  # noqa: F811
    values = {
        "{cohort_id}": str(world["cohort"].id),
        "{slug}": "matrix-case",
        "{code}": world["cohort"].join_code,
        "{username}": "nobody-here",
        "{discussion_id}": str(world["discussion"].id),
        "{position_id}": str(world["position"].id),
        "{rebuttal_id}": str(world["rebuttal"].id),
        "{post_id}": str(world["rebuttal"].id),
        "{flag_id}": str(world["flag"].id),
        "{plural}": "rebuttals",
        "{action}": "hide",
    }
    if template.startswith("/api/v1/positions/"):
        values["{post_id}"] = str(world["position"].id)
    for key, value in values.items():
        template = template.replace(key, value)
    return template


def _send(client: TestClient, admin: dict[str, Any], method: str, url: str) -> Any:
    client.cookies.clear()
    if url.startswith("/api/"):
        return client.request(method, url, headers=admin["headers"])
    client.cookies.set(sessions.COOKIE, admin["cookie"])
    client.cookies.set(CSRF_COOKIE, admin["csrf"])
    data = {"csrf_token": admin["csrf"]} if method != "GET" else None
    return client.request(method, url, data=data, follow_redirects=False)


def test_no_integer_out_of_range_anywhere_gives_a_5xx(app, client, world, admin):  # noqa: F811
    wrong = []
    for method, template, where, name in integer_parameters(app):
        if where == "query" and template in STREAMS:
            continue
        for bad in BAD:
            if where == "path":
                url = _good_path(template.replace("{" + name + "}", bad), world)
            else:
                if name == "remove" and bad == "0":
                    continue  # an option row's index counts from 0
                url = f"{_good_path(template, world)}?{name}={bad}"
            response = _send(client, admin, method, url)
            api = url.startswith("/api/")
            if api:
                named = (
                    [e["loc"] for e in response.json().get("detail", []) if isinstance(e, dict)]
                    if response.status_code == 422
                    else []
                )
                ok = response.status_code == 422 and [where, name] in named
            elif where == "path":
                ok = response.status_code in (404, 422)
            else:
                ok = response.status_code == 422
            if not ok:
                wrong.append(f"{method} {url}: {response.status_code} {response.text[:120]!r}")
    assert wrong == []


def test_a_page_with_an_impossible_id_is_not_found(client, world, admin):  # noqa: F811
    response = _send(client, admin, "GET", "/positions/99999999999999999999")
    assert response.status_code == 404
    assert "There is nothing at this address" in response.text
    assert response.headers["content-security-policy"].startswith("default-src 'self'")


def test_a_page_with_an_impossible_query_value_lists_the_problem(client, world, admin):  # noqa: F811
    response = _send(
        client, admin, "GET", f"/discussions/{world['discussion'].id}?page=4611686018427387904"
    )
    assert response.status_code == 422
    assert 'id="problems"' in response.text and "page" in response.text


def test_the_largest_id_a_row_can_have_is_a_plain_not_found(client, world, admin):  # noqa: F811
    assert _send(client, admin, "GET", f"/api/v1/positions/{MAX_ID}").status_code == 404
    assert _send(client, admin, "GET", f"/api/v1/positions/{MAX_ID + 1}").status_code == 422
    assert _send(client, admin, "GET", f"/positions/{MAX_ID}").status_code == 404


def test_the_event_stream_refuses_an_impossible_position_before_streaming(client, world, admin):  # noqa: F811
    url = f"/discussions/{world['discussion'].id}/events?position=99999999999999999999"
    assert _send(client, admin, "GET", url).status_code == 422
    url = "/discussions/99999999999999999999/events"
    assert _send(client, admin, "GET", url).status_code == 404


# ---- ids inside bodies and forms ---------------------------------------------------------


def _student(session, world):  # noqa: F811
    account = world["accounts"]["student"]
    token, _ = accounts_service.issue_token(fresh(session), account=account)
    cookie = sessions.start(session, account=account, absolute=timedelta(hours=1), user_agent=None)
    signed = sessions.resolve(fresh(session), token=cookie, idle=timedelta(hours=1))
    assert signed is not None
    fresh(session)
    return {
        "headers": {"Authorization": f"Bearer {token}"},
        "cookie": cookie,
        "csrf": keys.token("csrf-session", signed.csrf_token),
    }


HUGE = 99999999999999999999


def test_ids_inside_json_bodies_are_bounded(client, session, world, admin):  # noqa: F811
    student = _student(session, world)
    position = world["position"].id
    claim = {"framework": "autonomy", "direction": "supports", "text": "x"}
    cases = [
        (
            student,
            "POST",
            f"/api/v1/positions/{position}/rebuttals",
            {"kind": "counter", "body": "b", "parent_id": HUGE},
            ["body", "parent_id"],
        ),
        (
            student,
            "POST",
            f"/api/v1/positions/{position}/rebuttals",
            {"kind": "counter", "body": "b", "claim_id": HUGE},
            ["body", "claim_id"],
        ),
        (
            student,
            "PATCH",
            f"/api/v1/positions/{position}",
            {"claims": [{**claim, "id": HUGE}]},
            ["body", "claims", 0, "id"],
        ),
        (
            admin,
            "POST",
            "/api/v1/discussions",
            {"case_slug": "matrix-case", "cohort_id": HUGE},
            ["body", "cohort_id"],
        ),
        (
            admin,
            "PUT",
            f"/api/v1/discussions/{world['discussion'].id}/spotlight",
            {"type": "position", "id": HUGE},
            ["body", "id"],
        ),
        (
            admin,
            "POST",
            "/api/v1/cases/matrix-case/copy",
            {"slug": "a-copy", "version": HUGE},
            ["body", "version"],
        ),
        (
            admin,
            "POST",
            f"/api/v1/positions/{position}/rebuttals",
            {"kind": "counter", "body": "b", "parent_id": -1},
            ["body", "parent_id"],
        ),
    ]
    wrong = []
    for who, method, url, body, loc in cases:
        response = client.request(method, url, json=body, headers=who["headers"])
        locs = [e["loc"] for e in response.json()["detail"]] if response.status_code == 422 else []
        if loc not in locs and not (response.status_code == 403 and who is admin):
            wrong.append(f"{method} {url} {body}: {response.status_code} {response.text[:200]}")
    assert wrong == []


def test_ids_inside_page_forms_are_bounded(client, session, world, admin):  # noqa: F811
    student = _student(session, world)
    position = world["position"].id
    discussion = world["discussion"].id
    forms = [
        (
            student,
            f"/positions/{position}/rebuttals",
            {"kind": "counter", "body": "b", "parent_id": str(HUGE)},
            422,
        ),
        (
            student,
            f"/positions/{position}/rebuttals",
            {"kind": "counter", "body": "b", "claim_id": "²"},
            422,
        ),
        (
            student,
            f"/positions/{position}/edit",
            {
                "option": "act",
                "summary": "s",
                "claims-0-id": str(HUGE),
                "claims-0-framework": "autonomy",
                "claims-0-direction": "supports",
                "claims-0-text": "x",
            },
            422,
        ),
        (
            student,
            f"/positions/{position}/edit",
            {
                "option": "act",
                "summary": "s",
                "claims-0-id": "²",
                "claims-0-framework": "autonomy",
                "claims-0-direction": "supports",
                "claims-0-text": "x",
            },
            422,
        ),
        (admin, f"/discussions/{discussion}/spotlight", {"target": f"position:{HUGE}"}, 422),
        (admin, f"/discussions/{discussion}/spotlight", {"target": "position:²"}, 422),
        (
            admin,
            f"/discussions/{discussion}/claim-row",
            {"claims-" + "9" * 5000 + "-text": "x"},
            200,
        ),
        (admin, "/cases/matrix-case/copy", {"slug": "a-copy", "version": str(HUGE)}, 303),
        (admin, "/cases/matrix-case/copy", {"slug": "b-copy", "version": "²"}, 303),
    ]
    wrong = []
    for who, url, form, expected in forms:
        client.cookies.clear()
        client.cookies.set(sessions.COOKIE, who["cookie"])
        client.cookies.set(CSRF_COOKIE, who["csrf"])
        response = client.post(
            url, data={**form, "csrf_token": who["csrf"]}, follow_redirects=False
        )
        if response.status_code != expected:
            wrong.append(
                f"POST {url} {str(form)[:80]}: {response.status_code} {response.text[:200]}"
            )
    assert wrong == []


# ---- the last resort ---------------------------------------------------------------------


def _failing(app: FastAPI) -> None:
    """Give this test's app a page and an API route that fail as no one foresaw."""

    @app.get("/api/v1/explode", include_in_schema=False)
    def explode_api() -> None:
        raise RuntimeError("boom: an unforeseen failure")

    @app.get("/explode", include_in_schema=False)
    def explode_page() -> None:
        raise RuntimeError("boom: an unforeseen failure")


@pytest.mark.parametrize(
    ("path", "kind"), [("/explode", "text/html"), ("/api/v1/explode", "application/json")]
)
def test_an_unexpected_failure_is_a_500_with_the_security_headers(app, path, kind, caplog):
    _failing(app)
    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
        response = client.get(path)
    assert response.status_code == 500
    assert response.headers["content-type"].startswith(kind)
    for name, value in HEADERS:
        assert response.headers[name.decode()] == value.decode()
    if kind == "application/json":
        assert response.json() == {"detail": "internal error"}
    else:
        assert '<h1 id="error-title">Something went wrong</h1>' in response.text
        assert 'href="/static/site.css"' in response.text  # the site's own page
        assert "boom" not in response.text  # nothing of the failure leaks
    logged = [r for r in caplog.records if r.name == "ethicsforum.errors"]
    assert logged and logged[0].exc_info is not None
    assert "boom: an unforeseen failure" in caplog.text and path in logged[0].getMessage()
