"""History, diff and curation in a real browser: axe-clean pages (contrast of the marked
words included) and a review written and submitted with the keyboard alone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from ethicsforum.cases import service
from ethicsforum.cases.fileformat import CaseContent
from tests.browser.conftest import axe_clean
from tests.factories import PASSWORD, make_account

pytestmark = pytest.mark.browser

SLUG = "refusal-of-blood-products"


def sign_in(page: Page, live_server: str, username: str) -> None:
    page.goto(f"{live_server}/login")
    form = page.locator("#login-form")
    form.locator("#username").fill(username)
    form.locator("#password").fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signed-in-as")).to_be_visible()


def test_history_diff_and_a_keyboard_review_are_accessible(
    page: Page, live_server: str, library: list[str], session
) -> None:
    author = make_account(session, username="writer", role="committee")
    make_account(session, username="keeper", role="committee", display_name="Kim Keeper")
    current = service.get_case(session, slug=SLUG, statuses=None).version
    content = CaseContent.model_validate(
        {
            "title": current.title,
            "summary": current.summary,
            "question": current.question,
            "options": current.options,
            "frameworks": current.frameworks,
            "tags": current.tags,
            "references": current.references,
            "learning_objectives": current.learning_objectives,
            "four_box": current.four_box,
            "vignette": current.vignette.replace("blood", "blood products", 1) + "\n\nA new line.",
        }
    )
    service.revise_case(session, slug=SLUG, content=content, change_note="Sharper", actor=author)

    sign_in(page, live_server, "keeper")
    page.goto(f"{live_server}/cases/{SLUG}")
    expect(page.locator("#unreviewed-note")).to_contain_text("Version 2 has changes")
    page.locator("#history-link").click()
    expect(page.locator("#versions tbody tr")).to_have_count(2)
    axe_clean(page)

    page.get_by_role("button", name="Show changes").click()
    expect(page.locator("#diff-title")).to_have_text("Changes from version 1 to version 2")
    expect(page.locator("#diff-vignette ins").first).to_contain_text("added:")
    axe_clean(page)

    page.goto(f"{live_server}/cases/{SLUG}")
    page.locator("#review-comment").focus()
    page.keyboard.type("Checked against the guidance.")
    page.keyboard.press("Shift+Tab")  # back to the verdicts: one tab stop, arrows choose
    page.keyboard.press("ArrowUp")
    expect(page.locator("#verdict-approve")).to_be_checked()
    page.locator("#review-comment").focus()
    page.keyboard.press("Tab")
    expect(page.locator("#review-submit")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#reviews li")).to_have_count(1)
    expect(page.locator("#reviews li")).to_contain_text("Kim Keeper")
    expect(page.locator("#unreviewed-note")).to_have_count(0)
    axe_clean(page)
