"""The case editor in a real browser: rows added and removed in place, the live preview and
checks, the four boxes beside the vignette, and the same form without JavaScript."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import axe_clean
from tests.factories import PASSWORD, make_account

pytestmark = pytest.mark.browser


def sign_in(page: Page, live_server: str, username: str) -> None:
    page.goto(f"{live_server}/login")
    form = page.locator("#login-form")
    form.locator("#username").fill(username)
    form.locator("#password").fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signed-in-as")).to_be_visible()


def test_a_case_is_written_in_place_and_shown_with_its_four_boxes(
    page: Page, live_server: str, library: list[str], session
) -> None:
    make_account(session, username="prof", role="faculty")
    sign_in(page, live_server, "prof")
    page.goto(f"{live_server}/cases")
    page.locator("#new-case-link").click()
    expect(page.locator("#editor-title")).to_have_text("New case")
    axe_clean(page)

    slug = page.locator("#slug")
    slug.fill(library[0])
    expect(page.locator("#slug-error")).to_contain_text("already uses")
    slug.fill("a-new-case")
    expect(page.locator("#slug-error")).to_have_count(0)

    page.locator("#title").fill("A new case")
    page.locator("#summary").fill("A short summary.")
    page.locator("#vignette").fill("## Facts\n\nMrs Jane Doe, DOB 04/05/1961, was admitted.")
    expect(page.locator("#vignette-preview h2")).to_have_text("Facts")
    page.locator("#vignette").press("Tab")  # a change: the live check runs
    expect(page.locator("#vignette-deid")).to_contain_text("“Mrs Jane Doe”")
    page.locator("#four_box-medical_indications").fill("Sepsis, improving.")
    page.locator("#question").fill("What should the team do?")

    page.locator("#options-0-key").fill("act")
    page.locator("#options-0-label").fill("Act now")
    page.locator("#options-1-label").fill("Wait")
    page.locator("#options-1-key").fill("act")
    page.locator("#options-1-key").press("Tab")  # a change: the options are checked live
    expect(page.locator("#options-error")).to_contain_text("appears more than once")
    page.locator("#options-1-key").fill("wait")
    page.locator("#options-1-key").press("Tab")
    expect(page.locator("#options-error")).to_have_count(0)

    page.locator("#add-option").click()
    expect(page.locator("#option-row-2")).to_be_visible()
    expect(page.locator("#options-2-key")).to_be_focused()
    page.locator("#options-2-key").fill("ask")
    page.locator("#options-2-label").fill("Ask the family")
    page.locator("#add-option").click()
    expect(page.locator("#option-row-3")).to_be_visible()
    page.get_by_role("button", name="Remove option 4").click()
    expect(page.locator(".option-row")).to_have_count(3)
    page.locator("#frameworks-autonomy").check()
    page.locator("#frameworks-justice").check()

    page.locator("#save-case").click()
    expect(page).to_have_url(re.compile(r"/cases/a-new-case\?saved=1$"))
    expect(page.locator("#saved-notice")).to_contain_text("may identify a real person")
    expect(page.locator("#options li")).to_have_count(3)
    vignette = page.locator("#vignette").bounding_box()
    boxes = page.locator("#four-box").bounding_box()
    assert vignette and boxes and boxes["x"] > vignette["x"] + vignette["width"] - 1, "side by side"
    page.set_viewport_size({"width": 600, "height": 900})
    vignette = page.locator("#vignette").bounding_box()
    boxes = page.locator("#four-box").bounding_box()
    assert vignette and boxes and boxes["y"] >= vignette["y"] + vignette["height"], "stacked"
    axe_clean(page)


def test_a_revision_with_problems_comes_back_marked_and_accessible(
    new_page: Callable[..., Page], live_server: str, library: list[str], session
) -> None:
    make_account(session, username="keeper", role="committee")
    page = new_page(error_pages=True)
    sign_in(page, live_server, "keeper")
    page.goto(f"{live_server}/cases/{library[0]}")
    page.locator("#edit-case-link").click()
    page.locator("#title").fill("")
    page.locator("#save-case").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#error-summary a")).to_have_count(2)  # the title and the change note
    expect(page.locator("#title")).to_have_attribute("aria-invalid", "true")
    axe_clean(page)
    page.locator("#error-summary a[href='#title']").click()
    page.locator("#title").fill("A better title")
    page.locator("#change_note").fill("Retitled")
    page.locator("#save-case").click()
    expect(page.locator("#saved-notice")).to_contain_text("Saved as version 2")
    expect(page.locator("#case-title")).to_have_text("A better title")


def test_without_javascript_rows_and_the_preview_come_from_the_server(
    no_js_page: Page, live_server: str, session
) -> None:
    make_account(session, username="prof", role="faculty")
    page = no_js_page
    sign_in(page, live_server, "prof")
    page.goto(f"{live_server}/cases/new")
    page.locator("#title").fill("Typed before adding")
    page.locator("#vignette").fill("Some *emphasis*.")
    page.locator("#add-option").click()
    expect(page.locator(".option-row")).to_have_count(3)
    expect(page.locator("#title")).to_have_value("Typed before adding")
    page.get_by_role("button", name="Update preview").click()
    expect(page.locator("#vignette-preview em")).to_have_text("emphasis")
    page.get_by_role("button", name="Remove option 1").click()
    expect(page.locator(".option-row")).to_have_count(2)
