"""The case library in a real browser: htmx search and filters, keyboard use, no-JS fallback,
and axe-core accessibility checks, under the app's strict Content-Security-Policy."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from ethicsforum.cases.fileformat import parse_case_file
from ethicsforum.config import Settings
from tests.browser.conftest import axe_clean

pytestmark = pytest.mark.browser

PAGE_SIZE = 20


def test_the_library_lists_every_shipped_case_and_is_accessible(
    page: Page, live_server: str, library: list[str]
) -> None:
    assert len(library) >= 12
    page.goto(f"{live_server}/cases")

    expect(page.locator("h1")).to_have_text("Case library")
    expect(page.locator("li.case-card")).to_have_count(min(len(library), PAGE_SIZE))
    expect(page.locator("#result-count")).to_have_text(f"{len(library)} cases")
    for slug in library[:PAGE_SIZE]:
        expect(page.locator(f"#case-{slug} h3 a")).to_have_attribute("href", f"/cases/{slug}")
    axe_clean(page)


def test_typing_a_search_updates_the_results_in_place_and_the_address(
    page: Page, live_server: str
) -> None:
    page.goto(f"{live_server}/cases")
    expect(page.locator("li.case-card").first).to_be_visible()
    page.evaluate("window.__marker = 1")

    page.get_by_label("Search cases").fill("Jehovah")

    expect(page.locator("li.case-card")).to_have_count(1)
    expect(page.locator("#case-refusal-of-blood-products")).to_be_visible()
    expect(page.locator("#result-count")).to_have_text("1 case matches")
    expect(page).to_have_url(re.compile(r"[?&]q=Jehovah(&|$)"))
    assert page.evaluate("window.__marker") == 1, "the page was reloaded instead of swapped"


def test_a_search_without_matches_shows_an_accessible_empty_state(
    page: Page, live_server: str
) -> None:
    page.goto(f"{live_server}/cases")
    page.get_by_label("Search cases").fill("zzqxnothingmatchesthis")

    expect(page.locator("#empty-state")).to_be_visible()
    expect(page.locator("#empty-state")).to_contain_text("No cases match.")
    expect(page.locator("li.case-card")).to_have_count(0)
    axe_clean(page)


def test_the_first_tab_stop_is_a_visible_skip_link_that_moves_focus_to_main(
    page: Page, live_server: str
) -> None:
    page.goto(f"{live_server}/cases")
    skip = page.locator("a.skip-link")

    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_have_text("Skip to main content")
    expect(skip).to_be_in_viewport()
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0, f"the focused skip link is off screen: {box}"

    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()


def test_clicking_a_result_title_opens_an_accessible_case_page(
    page: Page, live_server: str
) -> None:
    page.goto(f"{live_server}/cases")
    link = page.locator("#case-duty-to-warn-threat h3 a")
    title = link.inner_text()

    link.click()

    expect(page).to_have_url(f"{live_server}/cases/duty-to-warn-threat")
    expect(page.locator("h1#case-title")).to_have_text(title)
    expect(page.locator("#vignette")).not_to_be_empty()
    expect(page.locator("#options li")).to_have_count(4)
    expect(page.locator("#references li").first).to_be_visible()
    expect(page.locator("#citation")).to_contain_text("/cases/duty-to-warn-threat")
    axe_clean(page)


def test_choosing_a_framework_narrows_the_results_to_cases_that_list_it(
    page: Page, live_server: str, settings: Settings
) -> None:
    framework = "confidentiality"
    expected = sorted(
        doc.slug
        for doc in (
            parse_case_file(path.read_text(encoding="utf-8"), frameworks=settings.frameworks)
            for path in settings.cases_dir.glob("*.md")
        )
        if framework in doc.frameworks
    )
    assert 0 < len(expected) <= PAGE_SIZE

    page.goto(f"{live_server}/cases")
    expect(page.locator("li.case-card").first).to_be_visible()
    page.evaluate("window.__marker = 1")

    page.locator("#framework").select_option(framework)

    expect(page).to_have_url(re.compile(rf"[?&]framework={framework}(&|$)"))
    cards = page.locator("li.case-card")
    expect(cards).to_have_count(len(expected))
    expect(page.locator("#result-count")).to_have_text(f"{len(expected)} cases match")
    for card in cards.all():
        expect(
            card.locator(".badge.framework", has_text=re.compile(rf"^{framework}$"))
        ).to_have_count(1)
    ids = sorted(card.get_attribute("id") or "" for card in cards.all())
    assert ids == [f"case-{slug}" for slug in expected]
    assert page.evaluate("window.__marker") == 1, "the page was reloaded instead of swapped"


def test_the_search_form_works_without_javascript(no_js_page: Page, live_server: str) -> None:
    page = no_js_page
    page.goto(f"{live_server}/cases")
    page.get_by_label("Search cases").fill("Jehovah")

    page.get_by_label("Search cases").press("Enter")

    expect(page).to_have_url(re.compile(r"/cases\?q=Jehovah(&|$)"))
    expect(page.locator("li.case-card")).to_have_count(1)
    expect(page.locator("#case-refusal-of-blood-products")).to_be_visible()
    expect(page.get_by_label("Search cases")).to_have_value("Jehovah")
