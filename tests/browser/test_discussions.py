"""Discussions in a real browser: a student's whole journey through a case (stance, composer,
rebuttal on a claim, edit, final stance), live updates over Server-Sent Events between two
browsers, the composer's server-side validation, and the composer without JavaScript."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from ethicsforum.accounts import cohorts
from tests.browser.conftest import axe_clean
from tests.conftest import fresh
from tests.factories import PASSWORD, make_account

pytestmark = pytest.mark.browser

CASE = "duty-to-warn-threat"
CASE_TITLE = "A threat against an ex-partner in the outpatient clinic"
OPTIONS = {
    "disclose-to-police": "Tell the police today so they can protect the ex-partner",
    "mental-health-act-assessment": "Request an urgent Mental Health Act assessment instead "
    "of disclosing",
    "keep-confidence-intensify": "Keep confidence, but increase contact and treat the drinking "
    "and anger",
    "seek-consent-first": "Seek his consent to disclosure and consult colleagues before deciding",
}
PSEUDONYM = re.compile(r"^[A-Z][a-z]+ [A-Z][a-z]+ \d{2}$")

FACULTY = ("farah", "Dr Farah Mensah")
STUDENT = ("sam", "Sam Okoro")
CLASSMATE = ("cleo", "Cleo Vance")
OTHER = ("ada", "Ada Lindqvist")

CLASSMATE_CLAIMS = [
    {
        "framework": "justice",
        "direction": "supports",
        "text": "The ex-partner has a claim to protection from a specific threat.",
    },
    {
        "framework": "confidentiality",
        "direction": "challenges",
        "text": "Breaking confidence may stop him seeking help at all.",
    },
    {
        "framework": "beneficence",
        "direction": "supports",
        "text": "Acting now prevents foreseeable serious harm.",
    },
]


# ---- arranging through the API of the running server ------------------------------------


class Api:
    """Bearer-token calls to the live server, so its own broker announces what changes."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=f"{base_url}/api/v1", timeout=10)
        self.tokens: dict[str, dict[str, str]] = {}

    def close(self) -> None:
        self.http.close()

    def _headers(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            answer = self.http.post(
                "/auth/token", data={"username": username, "password": PASSWORD}
            )
            assert answer.status_code == 200, answer.text
            self.tokens[username] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        return self.tokens[username]

    def call(self, method: str, path: str, who: str, expected: int, **kwargs: Any) -> Any:
        answer = self.http.request(method, path, headers=self._headers(who), **kwargs)
        assert answer.status_code == expected, answer.text
        return answer.json()

    def open_discussion(self, who: str, cohort_id: int, **overrides: Any) -> dict[str, Any]:
        body = {
            "case_slug": CASE,
            "cohort_id": cohort_id,
            "anonymity": "anonymous_to_peers",
            "post_first": True,
            **overrides,
        }
        result: dict[str, Any] = self.call("POST", "/discussions", who, 201, json=body)
        return result

    def post_position(self, who: str, discussion_id: int, **body: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.call(
            "POST", f"/discussions/{discussion_id}/positions", who, 201, json=body
        )
        return result

    def move_phase(self, who: str, discussion_id: int, phase: str) -> None:
        moved = self.call("PATCH", f"/discussions/{discussion_id}", who, 200, json={"phase": phase})
        assert moved["phase"] == phase, moved

    def positions(self, who: str, discussion_id: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.call(
            "GET", f"/discussions/{discussion_id}/positions", who, 200
        )
        return result


@pytest.fixture
def api(live_server: str) -> Iterator[Api]:
    client = Api(live_server)
    yield client
    client.close()


@dataclass
class Seminar:
    cohort_id: int
    join_code: str


def make_seminar(session: Session, *, join: list[tuple[str, str]]) -> Seminar:
    """Faculty with a cohort; the accounts in `join` exist and are members already."""
    prof = make_account(session, username=FACULTY[0], role="faculty", display_name=FACULTY[1])
    cohort = cohorts.create_cohort(session, name="Clinical ethics, spring term", creator=prof)
    for username, display_name in join:
        account = make_account(session, username=username, display_name=display_name)
        cohorts.join(session, code=cohort.join_code, account=account)
    seminar = Seminar(cohort_id=cohort.id or 0, join_code=cohorts.display_code(cohort.join_code))
    fresh(session)  # hold no snapshot while the server writes
    return seminar


# ---- driving the browser ----------------------------------------------------------------


def sign_in(page: Page, live_server: str, username: str) -> None:
    page.goto(f"{live_server}/login")
    form = page.locator("#login-form")
    form.locator("#username").fill(username)
    form.locator("#password").fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signed-in-as")).to_be_visible()


def fill_claim(page: Page, index: int, framework: str, direction: str, text: str) -> None:
    page.locator(f"#claims-{index}-framework").select_option(framework)
    page.locator(f"#claims-{index}-direction").select_option(direction)
    page.locator(f"#claims-{index}-text").fill(text)


def is_events_stream(response: Any) -> bool:
    return "/events" in response.url.split("?")[0]


def discussion_url(live_server: str, discussion_id: int) -> str:
    return f"{live_server}/discussions/{discussion_id}"


POSITION_URL = r"/positions/(\d+)$"


# ---- journey 3 --------------------------------------------------------------------------


def test_a_student_joins_takes_a_stance_posts_three_claims_rebuts_a_claim_edits_and_revises(
    live_server: str, page: Page, session: Session, api: Api
) -> None:
    seminar = make_seminar(session, join=[CLASSMATE])
    make_account(session, username=STUDENT[0], display_name=STUDENT[1])
    fresh(session)
    discussion = api.open_discussion(FACULTY[0], seminar.cohort_id, post_first=True)
    discussion_id = discussion["id"]
    theirs = api.post_position(
        CLASSMATE[0],
        discussion_id,
        option="disclose-to-police",
        summary="Warn the police today: the threat is specific.",
        body="He named her, the place and the time.",
        claims=CLASSMATE_CLAIMS,
    )
    anchored = theirs["claims"][1]
    assert anchored["text"] == CLASSMATE_CLAIMS[1]["text"]

    # Sign in and join the cohort with the code faculty handed out.
    sign_in(page, live_server, STUDENT[0])
    expect(page).to_have_url(f"{live_server}/cohorts")
    page.locator("#join-form #join_code").fill(seminar.join_code)
    page.locator("#join-form").get_by_role("button", name="Join").click()
    expect(page).to_have_url(f"{live_server}/cohorts/{seminar.cohort_id}")
    expect(page.locator("#membership-note")).to_be_visible()

    # Open the discussion: post-first hides the classmate's position for now.
    page.locator(f"#discussion-{discussion_id} a").click()
    expect(page).to_have_url(discussion_url(live_server, discussion_id))
    expect(page.locator("h1#discussion-title")).to_have_text(CASE_TITLE)
    expect(page.locator("#discussion-meta")).to_contain_text("Anonymous to classmates")
    expect(page.locator("#discussion-meta")).to_contain_text("Post first")
    expect(page.locator("#post-first-note")).to_be_visible()
    expect(page.locator("#position-list li")).to_have_count(0)
    expect(page.locator("[sse-connect]")).to_have_count(1)

    # The initial stance, before reading or writing.
    page.locator("#stance-option").select_option("seek-consent-first")
    page.locator("#stance-form").get_by_role("button", name="Record initial stance").click()
    expect(page.locator("#initial-stance")).to_have_text(OPTIONS["seek-consent-first"])
    expect(page.locator("#stance-form button")).to_have_text("Record initial stance")

    # The composer: an option, a summary, Markdown with a preview, three claims.
    composer = page.locator("#composer")
    composer.locator("input[name=option][value=mental-health-act-assessment]").check()
    summary = "Ask for an urgent assessment before any disclosure."
    page.locator("#summary").fill(summary)
    page.locator("#body").fill("The threat is **specific** but his state is *treatable*.")
    composer.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview strong")).to_have_text("specific")
    expect(page.locator("#preview em")).to_have_text("treatable")
    expect(page.locator("#preview")).not_to_contain_text("**")

    rows = page.locator("#claim-rows fieldset.claim-row")
    expect(rows).to_have_count(3)
    mine = [
        ("beneficence", "supports", "An assessment can treat what drives the threat."),
        ("confidentiality", "supports", "Assessment shares less than a police report."),
        ("justice", "challenges", "The ex-partner bears the risk while we wait."),
    ]
    for index, claim in enumerate(mine):
        fill_claim(page, index, *claim)

    # One more row through htmx, then removed again through htmx.
    page.locator("#add-claim").click()
    expect(rows).to_have_count(4)
    expect(page.locator("#claim-row-3 legend")).to_have_text("Claim 4")
    fill_claim(page, 3, "autonomy", "challenges", "This row is removed before posting.")
    page.get_by_role("button", name="Remove claim 4").click()
    expect(rows).to_have_count(3)
    expect(page.locator("#claim-row-3")).to_have_count(0)
    expect(page.locator("#claims-2-text")).to_have_value(mine[2][2])
    axe_clean(page)

    page.locator("#submit-position").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server)}{POSITION_URL}"))
    own_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("#position-title")).to_have_text(summary)
    expect(page.locator("#position .body strong")).to_have_text("specific")
    claims = page.locator("#claims li")
    expect(claims).to_have_count(3)
    for index, (framework, direction, text) in enumerate(mine):
        expect(claims.nth(index)).to_contain_text(framework)
        expect(claims.nth(index)).to_contain_text(direction)
        expect(claims.nth(index)).to_contain_text(text)
    expect(page.locator("#claims")).not_to_contain_text("removed before posting")
    expect(page.locator("#edit-link")).to_be_visible()
    expect(page.locator("#rebuttals-closed")).to_be_visible()
    axe_clean(page)

    # Having posted, the student sees the classmate's position, under a pseudonym.
    page.goto(discussion_url(live_server, discussion_id))
    expect(page.locator("#post-first-note")).to_have_count(0)
    expect(page.locator("#own-position-note")).to_be_visible()
    expect(page.locator("#composer")).to_have_count(0)
    expect(page.locator("#stance-form button")).to_have_text("Record final stance")
    card = page.locator(f"#position-{theirs['id']}")
    expect(card).to_be_visible()
    expect(card.locator(".author")).to_have_text(PSEUDONYM)
    expect(page.locator("main")).not_to_contain_text(CLASSMATE[1])

    # Faculty open the rebuttal phase; the student rebuts the classmate's second claim.
    api.move_phase(FACULTY[0], discussion_id, "rebuttals")
    page.reload()
    card.locator(".summary a").click()
    expect(page).to_have_url(f"{live_server}/positions/{theirs['id']}")
    expect(page.locator(f"#claims li#claim-{anchored['id']}")).to_contain_text(anchored["text"])
    expect(page.locator("#no-rebuttals")).to_be_visible()

    form = page.locator("#rebuttal-form")
    form.locator("#rebuttal-form-kind").select_option("challenge")
    form.locator("#rebuttal-form-claim").select_option(str(anchored["id"]))
    form.locator("#rebuttal-form-body").fill("Patients who fear disclosure stop *talking*.")
    form.get_by_role("button", name="Post rebuttal").click()

    expect(page).to_have_url(
        re.compile(rf"^{re.escape(live_server)}/positions/{theirs['id']}#rebuttal-\d+$")
    )
    rebuttals = page.locator("#rebuttal-tree li.rebuttal")
    expect(rebuttals).to_have_count(1)
    rebuttal = rebuttals.first
    expect(rebuttal.locator(".badge.kind")).to_have_text("challenge")
    expect(rebuttal.locator(".body em")).to_have_text("talking")
    anchor = rebuttal.locator(".anchor a")
    expect(anchor).to_have_attribute("href", f"#claim-{anchored['id']}")
    expect(anchor).to_contain_text("confidentiality")
    expect(anchor).to_contain_text(anchored["text"])
    expect(rebuttal.locator(".author")).to_have_text(STUDENT[1])  # one's own name, to oneself
    expect(page.locator("#position-author")).to_have_text(PSEUDONYM)
    expect(page.locator("main")).not_to_contain_text(CLASSMATE[1])
    expect(page.locator("#rebuttals-heading")).to_contain_text("(1)")
    axe_clean(page)

    # Edit the own position: the earlier summary is kept as a revision.
    page.goto(f"{live_server}/positions/{own_id}")
    page.locator("#edit-link").click()
    expect(page).to_have_url(f"{live_server}/positions/{own_id}/edit")
    expect(page.locator("#summary")).to_have_value(summary)
    expect(page.locator("input[name=option][value=mental-health-act-assessment]")).to_be_checked()
    expect(page.locator("#claim-rows fieldset.claim-row")).to_have_count(3)
    expect(page.locator("#claims-0-text")).to_have_value(mine[0][2])
    expect(page.locator("#submit-position")).to_have_text("Save changes")
    axe_clean(page)

    edited = "Assess urgently, and warn her if he is not detained."
    page.locator("#summary").fill(edited)
    page.locator("#submit-position").click()
    expect(page).to_have_url(f"{live_server}/positions/{own_id}")
    expect(page.locator("#position-title")).to_have_text(edited)
    expect(page.locator("#claims li")).to_have_count(3)
    page.locator("#revisions-link").click()
    expect(page).to_have_url(f"{live_server}/positions/{own_id}/revisions")
    expect(page.locator("#revisions li.panel")).to_have_count(1)
    expect(page.locator("#revisions")).to_contain_text(summary)
    expect(page.locator("#revisions")).not_to_contain_text(edited)

    # The final stance, after the debate.
    page.goto(discussion_url(live_server, discussion_id))
    page.locator("#stance-option").select_option("disclose-to-police")
    page.locator("#stance-form").get_by_role("button", name="Record final stance").click()
    expect(page.locator("#final-stance")).to_have_text(OPTIONS["disclose-to-police"])
    expect(page.locator("#initial-stance")).to_have_text(OPTIONS["seek-consent-first"])
    axe_clean(page)


# ---- live updates -----------------------------------------------------------------------


def test_a_classmates_new_position_and_a_phase_change_arrive_live_under_a_pseudonym(
    live_server: str, new_page: Callable[..., Page], session: Session, api: Api
) -> None:
    seminar = make_seminar(session, join=[OTHER, STUDENT])
    discussion = api.open_discussion(FACULTY[0], seminar.cohort_id, post_first=False)
    discussion_id = discussion["id"]

    # B follows the discussion, its event stream connected.
    b = new_page()
    sign_in(b, live_server, STUDENT[0])
    with b.expect_response(is_events_stream) as stream:
        b.goto(discussion_url(live_server, discussion_id))
    assert stream.value.status == 200
    expect(b.locator("#no-positions")).to_be_visible()
    expect(b.locator("#live-positions li")).to_have_count(0)
    b.evaluate("window.__marker = 'still the same page'")

    # A posts through the composer in another browser.
    a = new_page()
    sign_in(a, live_server, OTHER[0])
    a.goto(discussion_url(live_server, discussion_id))
    a.locator("#composer input[name=option][value=keep-confidence-intensify]").check()
    a_summary = "Keep confidence and see him twice a week."
    a.locator("#summary").fill(a_summary)
    a.locator("#body").fill("Treat the drinking first.")
    fill_claim(a, 0, "autonomy", "supports", "He has capacity and refused disclosure.")
    fill_claim(a, 1, "justice", "challenges", "She carries the risk of our waiting.")
    a.locator("#submit-position").click()
    expect(a).to_have_url(re.compile(rf"^{re.escape(live_server)}{POSITION_URL}"))
    a_position = int(a.url.rsplit("/", 1)[1])

    # B sees it arrive without a reload, under A's pseudonym.
    live = b.locator(f"#live-positions li#position-{a_position}")
    expect(live).to_be_visible()
    expect(live.locator(".summary")).to_have_text(a_summary)
    expect(live.locator(".claims li")).to_have_count(2)
    [seen] = api.positions(STUDENT[0], discussion_id)
    label = seen["author"]["label"]
    assert PSEUDONYM.match(label), label
    assert "username" not in seen["author"], seen["author"]
    expect(live.locator(".author")).to_have_text(label)
    expect(b.locator("main")).not_to_contain_text(OTHER[1])
    expect(b.locator("main")).not_to_contain_text(OTHER[0])
    assert b.evaluate("window.__marker") == "still the same page", "B's page was reloaded"

    # Faculty move the phase; B hears of it, still without a reload.
    api.move_phase(FACULTY[0], discussion_id, "rebuttals")
    expect(b.locator("#live-phase")).to_contain_text(
        "The discussion is now in the rebuttals phase."
    )
    expect(b.locator("#live-phase [role=status]")).to_be_visible()
    assert b.evaluate("window.__marker") == "still the same page", "B's page was reloaded"


def test_an_edit_a_hide_and_a_mark_replace_the_card_where_it_stands_without_a_reload(
    live_server: str, new_page: Callable[..., Page], session: Session, api: Api
) -> None:
    seminar = make_seminar(session, join=[STUDENT, OTHER])
    discussion_id = api.open_discussion(FACULTY[0], seminar.cohort_id, post_first=False)["id"]
    posted = api.post_position(
        OTHER[0],
        discussion_id,
        option="seek-consent-first",
        summary="Ask him first.",
        body="Consent keeps him in care.",
        claims=[CLASSMATE_CLAIMS[1]],
    )
    b = new_page()
    sign_in(b, live_server, STUDENT[0])
    with b.expect_response(is_events_stream) as stream:
        b.goto(discussion_url(live_server, discussion_id))
    assert stream.value.status == 200
    card = b.locator(f"#position-{posted['id']}")
    expect(card.locator(".summary")).to_have_text("Ask him first.")
    b.evaluate("window.__marker = 'still the same page'")

    api.call(
        "PATCH",
        f"/positions/{posted['id']}",
        OTHER[0],
        200,
        json={"summary": "Ask him first, then decide today."},
    )
    expect(card.locator(".summary")).to_have_text("Ask him first, then decide today.")
    expect(card).to_contain_text("(edited)")
    expect(b.locator(f"#position-{posted['id']}")).to_have_count(1)  # replaced, not added

    api.call(
        "PUT",
        f"/positions/{posted['id']}/exemplary",
        FACULTY[0],
        200,
        json={"note": "Weighs consent against risk"},
    )
    expect(card.locator(".badge.exemplary")).to_be_visible()

    api.call(
        "POST", f"/positions/{posted['id']}/hide", FACULTY[0], 200, json={"reason": "Off topic"}
    )
    expect(card.locator(".hidden-note")).to_have_text("Hidden by a moderator: Off topic")
    expect(card.locator(".summary")).to_have_count(0)
    expect(b.locator(f"#position-{posted['id']}")).to_have_count(1)
    assert b.evaluate("window.__marker") == "still the same page", "B's page was reloaded"
    axe_clean(b)


# ---- validation -------------------------------------------------------------------------


def test_an_invalid_position_shows_each_problem_and_keeps_what_was_typed(
    live_server: str, new_page: Callable[..., Page], session: Session, api: Api
) -> None:
    seminar = make_seminar(session, join=[STUDENT])
    discussion_id = api.open_discussion(FACULTY[0], seminar.cohort_id)["id"]
    page = new_page(error_pages=True)
    sign_in(page, live_server, STUDENT[0])
    page.goto(discussion_url(live_server, discussion_id))

    # Past the browser's own checks, to the server's.
    page.evaluate(
        "document.querySelectorAll('#composer [required]')"
        ".forEach((field) => field.removeAttribute('required'))"
    )
    expect(page.locator("#composer [required]")).to_have_count(0)
    page.locator("#composer input[name=option][value=seek-consent-first]").check()
    body = "My reasoning, which must *not* be lost."
    claim = "A reason tagged to no framework."
    page.locator("#body").fill(body)
    page.locator("#claims-0-text").fill(claim)

    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith(f"/{discussion_id}/positions")
    ) as answer:
        page.locator("#submit-position").click()
    assert answer.value.status == 422

    errors = page.locator("#composer-errors")
    expect(errors).to_be_visible()
    expect(errors).to_have_attribute("role", "alert")
    expect(errors).to_contain_text("Please correct the 2 problems")
    expect(page.locator("#summary-error")).to_be_visible()
    expect(page.locator("#summary")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#summary")).to_have_attribute("aria-describedby", "summary-error")
    expect(page.locator("#claims-0-framework-error")).to_be_visible()
    expect(page.locator("#claims-0-framework")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#body")).to_have_value(body)
    expect(page.locator("#claims-0-text")).to_have_value(claim)
    expect(page.locator("input[name=option][value=seek-consent-first]")).to_be_checked()
    expect(page.locator("#claim-rows fieldset.claim-row")).to_have_count(1)
    assert api.positions(FACULTY[0], discussion_id) == []
    axe_clean(page)


# ---- without JavaScript -----------------------------------------------------------------


def test_without_javascript_a_student_posts_a_position_and_blank_claim_rows_are_ignored(
    live_server: str, no_js_page: Page, session: Session, api: Api
) -> None:
    page = no_js_page
    seminar = make_seminar(session, join=[STUDENT])
    discussion_id = api.open_discussion(FACULTY[0], seminar.cohort_id)["id"]
    sign_in(page, live_server, STUDENT[0])
    page.goto(discussion_url(live_server, discussion_id))

    expect(page.locator("#claim-rows fieldset.claim-row")).to_have_count(3)
    page.locator("#composer input[name=option][value=disclose-to-police]").check()
    summary = "Tell the police: she is in danger tonight."
    page.locator("#summary").fill(summary)
    page.locator("#body").fill("A *named* person, a plan and a date.")
    fill_claim(page, 0, "beneficence", "supports", "Preventing serious harm comes first.")
    fill_claim(page, 1, "confidentiality", "challenges", "He spoke in confidence.")
    page.locator("#submit-position").click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server)}{POSITION_URL}"))
    expect(page.locator("#position-title")).to_have_text(summary)
    expect(page.locator("#position .body em")).to_have_text("named")
    claims = page.locator("#claims li")
    expect(claims).to_have_count(2)
    expect(claims.nth(0)).to_contain_text("Preventing serious harm comes first.")
    expect(claims.nth(1)).to_contain_text("confidentiality")
    expect(claims.nth(1)).to_contain_text("challenges")
    [posted] = api.positions(FACULTY[0], discussion_id)
    assert posted["summary"] == summary
    assert len(posted["claims"]) == 2
