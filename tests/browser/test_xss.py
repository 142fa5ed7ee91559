"""In Chromium: no script injected through a post ever runs, on any discussion page."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from ethicsforum.accounts import cohorts
from tests.factories import PASSWORD, make_account

PAYLOADS = [
    "<script>window.__xss = 'script'</script>",
    "<img src=x onerror=\"window.__xss = 'img'\">",
    "<svg onload=\"window.__xss = 'svg'\"></svg>",
    "[click me](javascript:window.__xss='link')",
    "<a href=\"javascript:window.__xss='a'\">click me too</a>",
    '<div hx-get="/api/v1/me" hx-trigger="load" hx-on::after-request="window.__xss=\'hx\'">x</div>',
    '<a data-hx-post="/logout" data-hx-trigger="load">y</a>',
    "<details open ontoggle=\"window.__xss='details'\">z</details>",
    "<iframe srcdoc=\"<script>parent.__xss='iframe'</script>\"></iframe>",
]


def _token(base: str, username: str) -> dict[str, str]:
    response = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": username, "password": PASSWORD}
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.mark.browser
def test_no_injected_script_runs_on_the_discussion_pages(page: Page, live_server: str, session):
    prof = make_account(session, username="xss-prof", role="faculty")
    writer = make_account(session, username="xss-writer")
    reader = make_account(session, username="xss-reader")
    cohort = cohorts.create_cohort(session, name="XSS", creator=prof)
    for account in (writer, reader):
        cohorts.join(session, code=cohort.join_code, account=account)
    discussion = httpx.post(
        f"{live_server}/api/v1/discussions",
        headers=_token(live_server, "xss-prof"),
        json={"case_slug": "duty-to-warn-threat", "cohort_id": cohort.id, "early_rebuttals": True},
    ).json()
    body = "\n\n".join(PAYLOADS)
    position = httpx.post(
        f"{live_server}/api/v1/discussions/{discussion['id']}/positions",
        headers=_token(live_server, "xss-writer"),
        json={
            "option": "disclose-to-police",
            "summary": PAYLOADS[0],
            "body": body,
            "claims": [
                {"framework": "autonomy", "direction": "supports", "text": p} for p in PAYLOADS[:8]
            ],
        },
    ).json()
    assert "id" in position, position
    for payload in PAYLOADS:
        response = httpx.post(
            f"{live_server}/api/v1/positions/{position['id']}/rebuttals",
            headers=_token(live_server, "xss-writer"),
            json={"kind": "counter", "body": payload},
        )
        assert response.status_code == 201

    page.goto(f"{live_server}/login")
    page.fill("#username", "xss-reader")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    for path in (f"/discussions/{discussion['id']}", f"/positions/{position['id']}"):
        page.goto(live_server + path)
        expect(page.locator("main")).to_contain_text("click me")
        for link in page.locator("main a", has_text="click me").all():
            link.click()
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__xss") is None, path
        assert page.locator("#signed-in-as").count() == 1  # no injected hx-post signed us out
