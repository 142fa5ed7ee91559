"""Sign-in, sign-out, cohorts and join codes in a real browser: the session cookie, the
CSRF defences against forms without a token or from another site, and axe-core checks."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, Route, expect
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.browser.conftest import axe_clean
from tests.conftest import scalar
from tests.factories import PASSWORD, make_account

pytestmark = pytest.mark.browser

JOIN_CODE = re.compile(r"^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$")
FACULTY = ("farah", "Dr Farah Mensah")
STUDENT = ("sam", "Sam Okoro")


@pytest.fixture
def faculty(session: Session) -> str:
    make_account(session, username=FACULTY[0], role="faculty", display_name=FACULTY[1])
    return FACULTY[0]


@pytest.fixture
def student(session: Session) -> str:
    make_account(session, username=STUDENT[0], role="student", display_name=STUDENT[1])
    return STUDENT[0]


def sign_in(page: Page, live_server: str, username: str, password: str = PASSWORD) -> None:
    """Fill in and send the sign-in form on the page currently open (or on /login)."""
    if "/login" not in page.url:
        page.goto(f"{live_server}/login")
    form = page.locator("#login-form")
    form.locator("#username").fill(username)
    form.locator("#password").fill(password)
    form.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signed-in-as")).to_be_visible()


def create_cohort(page: Page, live_server: str, name: str) -> int:
    """As faculty, create a cohort through the form; returns its id from the address."""
    page.goto(f"{live_server}/cohorts")
    page.locator("#create-form #name").fill(name)
    page.get_by_role("button", name="Create cohort").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server)}/cohorts/\d+$"))
    expect(page.locator("h1#cohort-title")).to_have_text(name)
    return int(page.url.rsplit("/", 1)[1])


def is_post_to(path: str) -> Callable[..., bool]:
    return lambda response: (
        response.request.method == "POST" and response.url.split("?")[0].endswith(path)
    )


def test_signing_in_with_the_right_password_lands_on_the_cohorts_page_with_a_safe_cookie(
    live_server: str, page: Page, student: str
) -> None:
    page.goto(f"{live_server}/")
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.locator("h1#login-title")).to_have_text("Sign in")
    expect(page.locator("#sign-in-link")).to_be_visible()
    expect(page.locator("#login-form input[name=csrf_token]")).not_to_have_value("")
    axe_clean(page)

    sign_in(page, live_server, student)

    expect(page).to_have_url(f"{live_server}/cohorts")
    expect(page.locator("#signed-in-as")).to_have_text(f"Signed in as {STUDENT[1]} (student)")
    expect(page.locator("#sign-out")).to_have_text("Sign out")
    expect(page.locator("#sign-in-link")).to_have_count(0)
    expect(page.locator("#empty-state")).to_be_visible()
    expect(page.locator("#join-form")).to_be_visible()
    expect(page.locator("#create-form")).to_have_count(0)

    cookies = {c["name"]: c for c in page.context.cookies(live_server)}
    assert "ef_session" in cookies, sorted(cookies)
    assert cookies["ef_session"]["httpOnly"] is True
    assert cookies["ef_session"]["sameSite"] == "Lax"
    assert cookies["ef_session"]["path"] == "/"
    assert "ef_csrf" in cookies, sorted(cookies)
    assert cookies["ef_csrf"]["httpOnly"] is True
    assert cookies["ef_csrf"]["sameSite"] == "Lax"
    axe_clean(page)


def test_a_failed_sign_in_announces_the_error_and_keeps_the_username(
    live_server: str, new_page: Callable[..., Page], student: str
) -> None:
    page = new_page(error_pages=True)
    page.goto(f"{live_server}/login")
    page.locator("#username").fill(student)
    page.locator("#password").fill("not-the-password-at-all")

    with page.expect_response(is_post_to("/login")) as answer:
        page.get_by_role("button", name="Sign in").click()

    assert answer.value.status == 401
    error = page.locator("#login-error")
    expect(error).to_have_text("Incorrect username or password.")
    expect(error).to_have_attribute("role", "alert")
    expect(page.get_by_role("alert")).to_have_text("Incorrect username or password.")
    expect(page.locator("#username")).to_have_value(student)
    expect(page.locator("#username")).to_have_attribute("aria-describedby", "login-error")
    expect(page.locator("#password")).to_have_value("")
    expect(page.locator("#password")).to_be_focused()
    expect(page.locator("#signed-in-as")).to_have_count(0)
    assert "ef_session" not in {c["name"] for c in page.context.cookies(live_server)}
    axe_clean(page)


def test_signing_out_shows_a_notice_and_the_old_session_cookie_stops_working(
    live_server: str, page: Page, new_page: Callable[..., Page], student: str
) -> None:
    sign_in(page, live_server, student)
    cookie = next(c for c in page.context.cookies(live_server) if c["name"] == "ef_session")

    # The copied cookie is a working session in another browser while it lasts...
    other = new_page()
    other.context.add_cookies(
        [{"name": "ef_session", "value": cookie["value"], "url": live_server}]
    )
    other.goto(f"{live_server}/cohorts")
    expect(other).to_have_url(f"{live_server}/cohorts")
    expect(other.locator("#signed-in-as")).to_contain_text(STUDENT[1])

    page.locator("#sign-out").click()

    expect(page).to_have_url(f"{live_server}/login?signed_out=true")
    expect(page.locator("#notice")).to_have_text("You have signed out.")
    expect(page.locator("#sign-in-link")).to_be_visible()
    expect(page.locator("#signed-in-as")).to_have_count(0)
    assert "ef_session" not in {c["name"] for c in page.context.cookies(live_server)}

    # ...and worthless once its owner has signed out, whatever a browser keeps.
    other.goto(f"{live_server}/cohorts")
    expect(other).to_have_url(f"{live_server}/login?next=%2Fcohorts")
    expect(other.locator("#signed-in-as")).to_have_count(0)
    expect(other.locator("#login-form")).to_be_visible()


def test_a_student_joins_with_the_code_faculty_were_given_typed_loosely(
    live_server: str, page: Page, new_page: Callable[..., Page], faculty: str, student: str
) -> None:
    sign_in(page, live_server, faculty)
    cohort_id = create_cohort(page, live_server, "Clinical ethics, spring term")
    code = page.locator("#join-code").inner_text().strip()
    assert JOIN_CODE.match(code), code
    expect(page.locator(f"tr#member-{faculty}")).to_be_visible()
    expect(page.locator(f"tr#member-{student}")).to_have_count(0)

    learner = new_page()
    sign_in(learner, live_server, student)
    expect(learner.locator("#empty-state")).to_be_visible()
    learner.locator("#join_code").fill(code.replace("-", "").lower())
    learner.get_by_role("button", name="Join", exact=True).click()

    expect(learner).to_have_url(f"{live_server}/cohorts/{cohort_id}")
    expect(learner.locator("h1#cohort-title")).to_have_text("Clinical ethics, spring term")
    expect(learner.locator("#membership-note")).to_contain_text("You are a member of this cohort")
    expect(learner.locator("#join-code")).to_have_count(0)
    expect(learner.locator("#members")).to_have_count(0)
    learner.goto(f"{live_server}/cohorts")
    expect(learner.locator(f"#cohort-list li#cohort-{cohort_id}")).to_be_visible()

    page.reload()
    row = page.locator(f"tr#member-{student}")
    expect(row).to_be_visible()
    expect(row).to_contain_text(STUDENT[1])
    expect(row.locator("td").nth(2)).to_have_text("student")
    expect(page.locator("#members-title")).to_have_text("Members (2)")
    axe_clean(page)


def test_the_join_link_asks_a_signed_out_student_to_sign_in_and_then_to_confirm(
    live_server: str, page: Page, new_page: Callable[..., Page], faculty: str, student: str
) -> None:
    sign_in(page, live_server, faculty)
    cohort_id = create_cohort(page, live_server, "Ward round ethics")
    code = page.locator("#join-code").inner_text().strip()
    link = page.locator("#join-link").get_attribute("href")
    assert link == f"{live_server}/join/{code.replace('-', '')}", link

    learner = new_page()
    learner.goto(link)

    expect(learner).to_have_url(f"{live_server}/login?next=%2Fjoin%2F{code.replace('-', '')}")
    expect(learner.locator("#login-form input[name=next]")).to_have_value(
        f"/join/{code.replace('-', '')}"
    )
    sign_in(learner, live_server, student)

    expect(learner).to_have_url(link)
    expect(learner.locator("h1#join-title")).to_have_text("Join a cohort")
    expect(learner.locator("main")).to_contain_text(code)
    axe_clean(learner)
    learner.get_by_role("button", name="Join this cohort").click()

    expect(learner).to_have_url(f"{live_server}/cohorts/{cohort_id}")
    expect(learner.locator("h1#cohort-title")).to_have_text("Ward round ethics")
    expect(learner.locator("#membership-note")).to_be_visible()


def test_a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(
    live_server: str, new_page: Callable[..., Page], engine: Engine, faculty: str
) -> None:
    page = new_page(error_pages=True)
    sign_in(page, live_server, faculty)
    expect(page.locator("#empty-state")).to_be_visible()
    page.locator("#create-form #name").fill("Smuggled cohort")
    page.evaluate("document.querySelector('#create-form input[name=csrf_token]').remove()")
    expect(page.locator("#create-form input[name=csrf_token]")).to_have_count(0)

    with page.expect_response(is_post_to("/cohorts")) as answer:
        page.get_by_role("button", name="Create cohort").click()

    assert answer.value.status == 403
    expect(page.locator("h1")).to_have_text("Request refused")
    expect(page.locator("main")).to_contain_text("missing its security token")

    page.goto(f"{live_server}/cohorts")
    expect(page.locator("#signed-in-as")).to_be_visible()
    expect(page.locator("#empty-state")).to_be_visible()
    expect(page.locator("#cohort-list li")).to_have_count(0)
    assert scalar(engine, "SELECT count(*) FROM cohort") == 0


ATTACKER_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>You have won</title><link rel="icon" href="data:,"></head>
<body>
<form method="post" action="{action}" id="forged">
  <input type="hidden" name="name" value="Forged cohort">
  <button type="submit">Claim your prize</button>
</form>
</body>
</html>
"""


@pytest.mark.parametrize(
    "attacker_origin",
    [
        pytest.param("http://127.0.0.1:{port}", id="same-host-other-port"),
        pytest.param("http://attacker.test", id="other-site"),
    ],
)
def test_a_form_posted_from_another_site_is_refused_and_changes_nothing(
    live_server: str,
    new_page: Callable[..., Page],
    engine: Engine,
    faculty: str,
    attacker_origin: str,
) -> None:
    page = new_page(error_pages=True)
    # Another port of the same host is the same *site*, so the Lax session cookie goes
    # along: only the server's own checks stand in the way. A different site gets none.
    port = int(live_server.rsplit(":", 1)[1])
    origin = attacker_origin.format(port=port + 1 if port < 65535 else port - 1)
    html = ATTACKER_PAGE.format(action=f"{live_server}/cohorts")

    def serve_attacker_page(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

    page.route(f"{origin}/**", serve_attacker_page)
    sign_in(page, live_server, faculty)

    page.goto(f"{origin}/prize")
    expect(page.locator("#forged")).to_be_visible()
    with page.expect_response(is_post_to("/cohorts")) as answer:
        page.get_by_role("button", name="Claim your prize").click()

    assert answer.value.status == 403
    expect(page).to_have_url(f"{live_server}/cohorts")
    expect(page.locator("h1")).to_have_text("Request refused")

    page.goto(f"{live_server}/cohorts")
    expect(page.locator("#signed-in-as")).to_be_visible()
    expect(page.locator("#empty-state")).to_be_visible()
    expect(page.locator("#cohort-list li")).to_have_count(0)
    assert scalar(engine, "SELECT count(*) FROM cohort") == 0
