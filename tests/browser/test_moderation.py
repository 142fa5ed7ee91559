"""Moderation in a real browser: the faculty journey from an empty cohort to a closed
discussion (journey 2 up to closing): a cohort and its join code, students joining, a
discussion opened with positions arriving live under real names, the rebuttal phase, a
flagged rebuttal hidden from the queue, exemplary marks, and the notifications they bring."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, col, select

from ethicsforum.moderation.models import ExemplaryMark
from tests.browser.conftest import axe_clean
from tests.conftest import fresh
from tests.factories import PASSWORD, make_account

pytestmark = pytest.mark.browser

CASE = "duty-to-warn-threat"
CASE_TITLE = "A threat against an ex-partner in the outpatient clinic"
COHORT = "Clinical ethics, spring term"
PSEUDONYM = re.compile(r"^[A-Z][a-z]+ [A-Z][a-z]+ \d{2}$")

FACULTY = ("farah", "Dr Farah Mensah")
STUDENTS = {
    "sam": "Sam Okoro",
    "cleo": "Cleo Vance",
    "ada": "Ada Lindqvist",
}

# What each student posts: option, summary, and two claims.
POSITIONS: dict[str, tuple[str, str, list[tuple[str, str, str]]]] = {
    "sam": (
        "disclose-to-police",
        "Tell the police today: the threat is specific and imminent.",
        [
            ("beneficence", "supports", "Acting now prevents foreseeable serious harm."),
            ("confidentiality", "challenges", "He spoke in confidence to his psychiatrist."),
        ],
    ),
    "cleo": (
        "keep-confidence-intensify",
        "Keep confidence and see him twice a week.",
        [
            ("autonomy", "supports", "He has capacity and refused disclosure."),
            ("justice", "challenges", "She carries the risk of our waiting."),
        ],
    ),
    "ada": (
        "seek-consent-first",
        "Ask for his consent first and consult colleagues the same day.",
        [
            ("autonomy", "supports", "Consent keeps him engaged with treatment."),
            ("justice", "challenges", "Delay leaves the ex-partner unprotected."),
        ],
    ),
}

ABUSE = "Only an idiot would write this, you worthless clown."
FLAG_REASON = "A personal insult, not an argument."
HIDE_REASON = "Personal abuse is not allowed in this seminar."
REPLY = "Please argue with the reasoning, not with me."
NOTES = {
    "sam": "Weighs the harm to her against his confidence, using the facts of the case.",
    "ada": "Proposes a workable course of action and answers the strongest objection.",
}
CRITERIA = {
    "sam": "weighs competing principles",
    "ada": "proposes a workable course of action",
}


def sign_in(page: Page, live_server: str, username: str) -> None:
    page.goto(f"{live_server}/login")
    form = page.locator("#login-form")
    form.locator("#username").fill(username)
    form.locator("#password").fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signed-in-as")).to_be_visible()


def is_events_stream(response: Any) -> bool:
    return "/events" in response.url.split("?")[0]


def post_position(page: Page, live_server: str, discussion_id: int, username: str) -> int:
    """Through the composer; returns the new position's id from the address."""
    option, summary, claims = POSITIONS[username]
    page.goto(f"{live_server}/discussions/{discussion_id}")
    page.locator(f"#composer input[name=option][value={option}]").check()
    page.locator("#summary").fill(summary)
    page.locator("#body").fill(f"My reasoning, as {STUDENTS[username]}.")
    for index, (framework, direction, text) in enumerate(claims):
        page.locator(f"#claims-{index}-framework").select_option(framework)
        page.locator(f"#claims-{index}-direction").select_option(direction)
        page.locator(f"#claims-{index}-text").fill(text)
    page.locator("#submit-position").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server)}/positions/(\d+)$"))
    expect(page.locator("#position-title")).to_have_text(summary)
    return int(page.url.rsplit("/", 1)[1])


def move_phase(page: Page, live_server: str, discussion_id: int, phase: str) -> None:
    controls = page.locator("#phase-controls")
    controls.locator("#phase").select_option(phase)
    controls.get_by_role("button", name="Move").click()
    expect(page).to_have_url(f"{live_server}/discussions/{discussion_id}")
    expect(page.locator("#discussion-meta")).to_contain_text(f"Phase: {phase}")
    expect(page.locator("#phase")).to_have_value(phase)


def test_faculty_run_a_discussion_hide_a_flagged_rebuttal_mark_exemplary_work_and_close_it(
    live_server: str, page: Page, new_page: Callable[..., Page], session: Session
) -> None:
    make_account(session, username=FACULTY[0], role="faculty", display_name=FACULTY[1])
    for username, display_name in STUDENTS.items():
        make_account(session, username=username, display_name=display_name)
    fresh(session)  # hold no snapshot while the server writes

    # 1. Faculty sign in, create a cohort and read its join code.
    faculty = page
    sign_in(faculty, live_server, FACULTY[0])
    expect(faculty).to_have_url(f"{live_server}/cohorts")
    faculty.locator("#create-form #name").fill(COHORT)
    faculty.locator("#create-form").get_by_role("button", name="Create cohort").click()
    expect(faculty).to_have_url(re.compile(rf"^{re.escape(live_server)}/cohorts/\d+$"))
    cohort_id = int(faculty.url.rsplit("/", 1)[1])
    expect(faculty.locator("h1#cohort-title")).to_have_text(COHORT)
    code = faculty.locator("#join-code").inner_text().strip()
    assert re.fullmatch(r"[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}", code), code

    # 2. Three students join with the code, each in a browser of their own.
    students: dict[str, Page] = {}
    for username in STUDENTS:
        student = new_page()
        sign_in(student, live_server, username)
        expect(student).to_have_url(f"{live_server}/cohorts")
        student.locator("#join-form #join_code").fill(code)
        student.locator("#join-form").get_by_role("button", name="Join").click()
        expect(student).to_have_url(f"{live_server}/cohorts/{cohort_id}")
        expect(student.locator("#membership-note")).to_be_visible()
        students[username] = student

    faculty.reload()
    expect(faculty.locator("#members-title")).to_have_text("Members (4)")
    for username, display_name in STUDENTS.items():
        expect(faculty.locator(f"tr#member-{username}")).to_contain_text(display_name)

    # 3. Faculty open a discussion of the case: anonymous to classmates, post first.
    form = faculty.locator("#open-discussion-form")
    expect(form).to_be_visible()
    form.locator("#case_slug").select_option(CASE)
    form.locator("input[name=anonymity][value=anonymous_to_peers]").check()
    form.locator("input[name=post_first]").check()
    with faculty.expect_response(is_events_stream) as stream:
        form.get_by_role("button", name="Open discussion").click()
    assert stream.value.status == 200
    expect(faculty).to_have_url(re.compile(rf"^{re.escape(live_server)}/discussions/\d+$"))
    discussion_id = int(faculty.url.rsplit("/", 1)[1])
    expect(faculty.locator("h1#discussion-title")).to_have_text(CASE_TITLE)
    meta = faculty.locator("#discussion-meta")
    expect(meta).to_contain_text("Phase: positions")
    expect(meta).to_contain_text("Anonymous to classmates")
    expect(meta).to_contain_text("Post first")
    expect(faculty.locator("#live-positions > li")).to_have_count(0)
    faculty.evaluate("window.__marker = 'still the same page'")

    # The students post; each card arrives live on the faculty's page, under a real name.
    position_ids: dict[str, int] = {}
    for username, display_name in STUDENTS.items():
        position_id = post_position(students[username], live_server, discussion_id, username)
        position_ids[username] = position_id
        card = faculty.locator(f"#live-positions li#position-{position_id}")
        expect(card).to_be_visible()
        expect(card.locator(".author")).to_have_text(display_name)
        expect(card.locator(".summary")).to_have_text(POSITIONS[username][1])
        expect(card.locator(".claims li")).to_have_count(2)
    expect(faculty.locator("#live-positions > li")).to_have_count(3)
    assert faculty.evaluate("window.__marker") == "still the same page", "the page was reloaded"

    # 4. Faculty open the rebuttal phase.
    move_phase(faculty, live_server, discussion_id, "rebuttals")

    # 5. Cleo insults Sam under his position; Sam replies; Ada flags the insult.
    cleo = students["cleo"]
    sam_position = f"{live_server}/positions/{position_ids['sam']}"
    cleo.goto(sam_position)
    expect(cleo.locator("#position-author")).to_have_text(PSEUDONYM)
    rebut = cleo.locator("#rebuttal-form")
    rebut.locator("#rebuttal-form-kind").select_option("counter")
    rebut.locator("#rebuttal-form-body").fill(ABUSE)
    rebut.get_by_role("button", name="Post rebuttal").click()
    expect(cleo).to_have_url(re.compile(rf"^{re.escape(sam_position)}#rebuttal-\d+$"))
    abuse_id = int(cleo.url.rsplit("-", 1)[1])
    expect(cleo.locator(f"#rebuttal-{abuse_id} .body")).to_have_text(ABUSE)

    sam = students["sam"]
    sam.goto(sam_position)
    abusive = sam.locator(f"#rebuttal-tree li#rebuttal-{abuse_id} > article")
    expect(abusive.locator(".body")).to_have_text(ABUSE)
    abusive.get_by_role("link", name=re.compile(r"^Reply")).click()
    expect(sam.locator("#replying-to")).to_contain_text(ABUSE)
    sam.locator("#rebuttal-form-kind").select_option("question")
    sam.locator("#rebuttal-form-body").fill(REPLY)
    sam.locator("#rebuttal-form").get_by_role("button", name="Post rebuttal").click()
    expect(sam).to_have_url(re.compile(rf"^{re.escape(sam_position)}#rebuttal-\d+$"))
    reply_id = int(sam.url.rsplit("-", 1)[1])
    expect(sam.locator(f"#replies-{abuse_id} li#rebuttal-{reply_id} .body")).to_have_text(REPLY)

    ada = students["ada"]
    ada.goto(sam_position)
    flagged = ada.locator(f"#rebuttal-tree li#rebuttal-{abuse_id} > article")
    expect(flagged.locator(".body")).to_have_text(ABUSE)
    flagged.get_by_role("link", name="Flag this rebuttal").click()
    expect(ada).to_have_url(f"{live_server}/moderate/rebuttals/{abuse_id}")
    expect(ada.locator("h1")).to_have_text("Flag a rebuttal")
    expect(ada.locator(".post-excerpt .body")).to_have_text(ABUSE)
    expect(ada.locator("#hide-form")).to_have_count(0)
    axe_clean(ada)
    ada.locator("#flag-form #reason").fill(FLAG_REASON)
    ada.locator("#flag-form").get_by_role("button", name="Flag it").click()
    # Post, then redirect: a reload cannot send the flag twice.
    expect(ada).to_have_url(f"{live_server}/moderate/rebuttals/{abuse_id}?done=flag")
    expect(ada.locator("#done")).to_have_text("Thank you: faculty will look at this post.")

    # 6. Faculty find the flag in the moderation queue and hide the rebuttal from there.
    faculty.get_by_role("navigation", name="Main").get_by_role("link", name="Moderation").click()
    expect(faculty).to_have_url(f"{live_server}/moderation")
    expect(faculty.locator("h1")).to_have_text("Moderation queue")
    items = faculty.locator("#queue > li")
    expect(items).to_have_count(1)
    item = items.first
    expect(item).to_contain_text(COHORT)
    expect(item).to_contain_text(CASE_TITLE)
    expect(item).to_contain_text(f"flagged by {STUDENTS['ada']}")
    expect(item).to_contain_text(f"Reason: {FLAG_REASON}")
    expect(item.locator(".post-excerpt .author")).to_have_text(STUDENTS["cleo"])
    expect(item.locator(".post-excerpt .body")).to_have_text(ABUSE)
    expect(item.get_by_role("link", name="See it in context")).to_have_attribute(
        "href", f"/positions/{position_ids['sam']}#rebuttal-{abuse_id}"
    )
    expect(faculty.locator("#empty-state")).to_have_count(0)
    axe_clean(faculty)

    item.get_by_label("Reason for hiding").fill(HIDE_REASON)
    item.get_by_role("button", name="Hide the post").click()
    # Hiding from the queue comes back to the queue, now empty.
    expect(faculty).to_have_url(f"{live_server}/moderation")
    expect(faculty.locator("#empty-state")).to_be_visible()
    expect(faculty.locator("#queue")).to_have_count(0)
    axe_clean(faculty)

    faculty.goto(f"{live_server}/moderate/rebuttals/{abuse_id}")
    expect(faculty.locator(".post-excerpt .badge", has_text="hidden")).to_be_visible()
    expect(faculty.locator("#restore-form")).to_contain_text(HIDE_REASON)

    # A post's moderation page, reached from the post in context.
    faculty.goto(sam_position)
    expect(faculty.locator(f"#rebuttal-{abuse_id} > article .hidden-note")).to_have_text(
        f"Hidden from students: {HIDE_REASON}"
    )
    faculty.locator(f"#rebuttal-{abuse_id} > article").get_by_role(
        "link", name="Moderate this rebuttal"
    ).click()
    expect(faculty).to_have_url(f"{live_server}/moderate/rebuttals/{abuse_id}")
    expect(faculty.locator("h1")).to_have_text("Moderate a rebuttal")
    expect(faculty.locator("#restore-form")).to_be_visible()
    axe_clean(faculty)

    # 7. Sam reloads his position: the insult is gone, the reason shown, his reply kept.
    sam.reload()
    hidden = sam.locator(f"#rebuttal-tree li#rebuttal-{abuse_id} > article")
    expect(hidden).to_be_visible()
    expect(hidden.locator(".hidden-note")).to_have_text(f"Hidden by a moderator: {HIDE_REASON}")
    expect(sam.locator("main")).not_to_contain_text(ABUSE)
    expect(sam.locator(f"#replies-{abuse_id} li#rebuttal-{reply_id} .body")).to_have_text(REPLY)
    assert ABUSE not in sam.content()

    # 8. Faculty mark two positions exemplary, each from its moderation page, and close.
    for username in ("sam", "ada"):
        faculty.goto(f"{live_server}/positions/{position_ids[username]}")
        expect(faculty.locator("#position-author")).to_have_text(STUDENTS[username])
        faculty.locator("#moderate-link").click()
        expect(faculty).to_have_url(f"{live_server}/moderate/positions/{position_ids[username]}")
        expect(faculty.locator("h1")).to_have_text("Moderate a position")
        expect(faculty.locator(".post-excerpt")).to_contain_text(POSITIONS[username][1])
        mark = faculty.locator("#mark-form")
        mark.locator("#note").fill(NOTES[username])
        mark.get_by_label(CRITERIA[username], exact=False).check()
        mark.get_by_role("button", name="Mark exemplary").click()
        expect(faculty.locator("#done")).to_have_text("Marked exemplary.")
        expect(faculty.locator(".post-excerpt .badge.exemplary")).to_have_text("Exemplary")
        expect(faculty.locator("#note")).to_have_value(NOTES[username])
        expect(faculty.locator("#unmark-form")).to_be_visible()
    axe_clean(faculty)
    marks = fresh(session).exec(
        select(ExemplaryMark).where(col(ExemplaryMark.removed_at).is_(None))
    )
    assert {m.position_id: (m.note, m.criteria) for m in marks} == {
        position_ids[username]: (NOTES[username], [CRITERIA[username]]) for username in NOTES
    }
    fresh(session)  # hold no snapshot while the server writes

    faculty.goto(f"{live_server}/discussions/{discussion_id}")
    move_phase(faculty, live_server, discussion_id, "closed")
    for username in ("sam", "ada"):
        card = faculty.locator(f"#position-list li#position-{position_ids[username]}")
        expect(card.locator(".badge.exemplary")).to_have_text("Exemplary")
    card = faculty.locator(f"#position-list li#position-{position_ids['cleo']}")
    expect(card.locator(".badge.exemplary")).to_have_count(0)

    # 9. Sam sees the note on his position and an unread notification in the header.
    sam.goto(sam_position)
    note = sam.locator("#exemplary-note")
    expect(note).to_contain_text(f"Marked exemplary by {FACULTY[1]}:")
    expect(note).to_contain_text(NOTES["sam"])
    expect(sam.locator("#position .badge.exemplary")).to_have_text("Exemplary")
    expect(sam.locator("#closed-note")).to_be_visible()
    expect(sam.locator("#edit-link")).to_have_count(0)
    # Two phase changes, Cleo's rebuttal of his position and the mark.
    expect(sam.locator("#notifications-link #unread-count")).to_have_text("4 unread")
    sam.locator("#notifications-link").click()
    expect(sam).to_have_url(f"{live_server}/notifications")
    notices = sam.locator("#notifications li")
    expect(notices).to_have_count(4)
    expect(notices.first).to_contain_text("moved to the closed phase")
    marked = notices.filter(has_text="marked exemplary")
    expect(marked).to_have_class(re.compile(r"\bunread\b"))
    expect(marked).to_contain_text(NOTES["sam"])
    expect(marked.locator("a")).to_have_attribute("href", f"/positions/{position_ids['sam']}")
    expect(notices.filter(has_text="answered your position")).to_have_count(1)
    expect(sam.locator("main")).not_to_contain_text(STUDENTS["cleo"])  # no names
    axe_clean(sam)
