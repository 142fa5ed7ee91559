"""Journey 4 of PRODUCT.md, end to end in Chromium: a committee member searches the library,
opens a case's history, revises it, has it curated by a second committee member, exports it
as a case file, and imports it into another installation unchanged.

The case file is downloaded through the case page's link and compared with the API's
export (GET /api/v1/cases/{slug}/export), which the second installation's checks use.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Page, expect
from sqlmodel import Session, col, select

from ethicsforum import migrate
from ethicsforum.cases.fileformat import parse_case_file
from ethicsforum.cases.models import EthicsCase
from ethicsforum.config import Settings
from ethicsforum.db import make_engine
from ethicsforum.moderation.models import AuditEntry
from tests.browser.conftest import SERVER_START_TIMEOUT, _free_port, axe_clean
from tests.conftest import fresh, make_settings
from tests.factories import PASSWORD, make_account

pytestmark = pytest.mark.browser

SLUG = "medication-error-disclosure"
SEARCH_WORD = "tenfold"
OLD_SENTENCE = "She has now returned to her baseline."
NEW_SENTENCE = "She has now returned to her usual level of function."
CHANGE_NOTE = "Plainer words for how she recovered."
REVIEW_COMMENT = "Clearer for students; the facts are unchanged."


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login")
    form = page.locator("#login-form")
    form.locator("#username").fill(username)
    form.locator("#password").fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signed-in-as")).to_be_visible()


def bearer(client: httpx.Client, username: str) -> dict[str, str]:
    """Authorization headers through the real token endpoint (form data)."""
    response = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def export_case_file(base_url: str, username: str) -> bytes:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        response = client.get(f"/api/v1/cases/{SLUG}/export", headers=bearer(client, username))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/markdown")
    assert f'filename="{SLUG}.md"' in response.headers["content-disposition"]
    return response.content


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """Another installation of the app, served by uvicorn like `live_server`; its base URL."""
    from ethicsforum.main import create_app

    port = _free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    try:
        while not server.started:
            assert thread.is_alive(), "the second installation's uvicorn exited before serving"
            assert time.monotonic() < deadline, "the second installation did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def case_audit(session: Session) -> list[tuple[str, int | None, dict[str, Any]]]:
    """(action, actor id, detail) of the case's status moves and reviews, oldest first."""
    fresh(session)
    case = session.exec(select(EthicsCase).where(EthicsCase.slug == SLUG)).one()
    rows = session.exec(
        select(AuditEntry)
        .where(
            AuditEntry.target_type == "case",
            AuditEntry.target_id == case.id,
            col(AuditEntry.action).in_(["case_status", "case_review"]),
        )
        .order_by(col(AuditEntry.id))
    ).all()
    return [(row.action, row.actor_id, row.detail) for row in rows]


def test_a_committee_member_revises_curates_exports_and_reimports_a_case(
    new_page: Callable[..., Page],
    live_server: str,
    library: list[str],
    session: Session,
    settings: Settings,
    tmp_path: Path,
) -> None:
    assert SLUG in library
    author = make_account(session, username="ada", role="committee", display_name="Ada Author")
    reviewer = make_account(session, username="ben", role="committee", display_name="Ben Reviewer")
    # The refusals below are answered 409, which Chromium logs; each one is checked.
    page = new_page(error_pages=True)
    case_url = f"{live_server}/cases/{SLUG}"

    # 1. A signs in, searches the library, opens the case from the results.
    sign_in(page, live_server, "ada")
    page.goto(f"{live_server}/cases")
    with page.expect_response(lambda r: r.url.startswith(f"{live_server}/cases?")) as searched:
        page.get_by_label("Search cases").fill(SEARCH_WORD)
    # A library editor's form also sends its empty status filter ("status=").
    assert searched.value.status == 200, f"the search answered {searched.value.status}"
    expect(page).to_have_url(re.compile(rf"[?&]q={SEARCH_WORD}(&|$)"))
    expect(page.locator("li.case-card")).to_have_count(1)
    expect(page.locator("#result-count")).to_have_text("1 case matches")
    axe_clean(page)
    page.locator(f"#case-{SLUG} h3 a").click()
    expect(page).to_have_url(case_url)
    expect(page.locator("#case-title")).to_have_text("Disclosing a tenfold morphine error")
    expect(page.locator("#case-status")).to_have_text("curated")  # shipped as curated
    expect(page.locator("#vignette")).to_contain_text(OLD_SENTENCE)

    # 2. Its history: one version, imported with the library.
    page.locator("#history-link").click()
    expect(page).to_have_url(f"{case_url}/history")
    expect(page.locator("#versions tbody tr")).to_have_count(1)
    expect(page.locator("#version-1")).to_contain_text("Imported")
    expect(page.locator("#single-version")).to_be_visible()

    # 3. A revises one sentence of the vignette, with a change note.
    page.get_by_role("link", name="Back to the case").click()
    page.locator("#edit-case-link").click()
    expect(page).to_have_url(f"{case_url}/edit")
    expect(page.locator("#save-case")).to_have_text("Save as version 2")
    axe_clean(page)
    vignette = page.locator("#vignette")
    text = vignette.input_value()
    assert text.count(OLD_SENTENCE) == 1
    vignette.fill(text.replace(OLD_SENTENCE, NEW_SENTENCE))
    page.locator("#change_note").fill(CHANGE_NOTE)
    page.locator("#save-case").click()

    expect(page).to_have_url(f"{case_url}?saved=2")
    expect(page.locator("#saved-notice")).to_have_text(
        "Saved as version 2; every earlier version is kept."
    )
    expect(page.locator("#case")).to_contain_text("Version 2 ·")
    expect(page.locator("#vignette")).to_contain_text(NEW_SENTENCE)
    expect(page.locator("#vignette")).not_to_contain_text(OLD_SENTENCE)
    expect(page.locator("#unreviewed-note")).to_contain_text("Version 2 has changes")

    page.locator("#history-link").click()
    expect(page.locator("#versions tbody tr")).to_have_count(2)
    expect(page.locator("#version-2")).to_contain_text("Ada Author")
    expect(page.locator("#version-2")).to_contain_text(CHANGE_NOTE)
    expect(page.locator("#version-1")).to_contain_text("Imported")
    axe_clean(page)

    expect(page.locator("#compare-from")).to_have_value("1")
    expect(page.locator("#compare-to")).to_have_value("2")
    page.get_by_role("button", name="Show changes").click()
    expect(page).to_have_url(re.compile(r"/diff\?from=1&to=2$"))
    expect(page.locator("#diff-title")).to_have_text("Changes from version 1 to version 2")
    expect(page.locator("#diff-versions")).to_contain_text(f"“{CHANGE_NOTE}”")
    expect(page.locator(".diff-field")).to_have_count(1)  # only the vignette changed
    expect(page.locator("#diff-vignette ins")).to_have_text("added: usual level of function")
    expect(page.locator("#diff-vignette del")).to_have_text("removed: baseline")
    axe_clean(page)

    # 4. A sends it back for review, cannot curate or approve their own version, signs out.
    page.goto(case_url)
    expect(page.locator("#curation-status .badge")).to_have_text("curated")
    page.locator("#move-review").get_by_role("button", name="Send back for review").click()
    expect(page.locator("#curation-status .badge")).to_have_text("review")
    expect(page.locator("#case-status")).to_have_text("review")
    expect(page.locator("#curate-blocked")).to_contain_text("needs an approving review")
    expect(page.locator("#verdict-approve")).to_be_disabled()
    expect(page.locator("#own-version-hint")).to_have_text(
        "You made version 2, so someone else must approve it."
    )

    with page.expect_response(f"{case_url}/status") as moved:
        page.locator("#move-curated").get_by_role("button", name="Mark curated").click()
    assert moved.value.status == 409
    expect(page.locator("#curation-error")).to_have_text(
        "The case needs a review by someone other than its last editor: "
        "nobody else has approved version 2 yet."
    )
    expect(page.locator("#curation-status .badge")).to_have_text("review")
    axe_clean(page)

    # The disabled radio is only a hint: the server refuses the approval itself.
    page.locator("#verdict-approve").evaluate("radio => { radio.disabled = false }")
    page.locator("#verdict-approve").check()
    page.locator("#review-comment").fill("My own change reads well.")
    with page.expect_response(f"{case_url}/reviews") as reviewed:
        page.locator("#review-submit").click()
    assert reviewed.value.status == 409
    expect(page.locator("#curation-error")).to_have_text(
        "You made version 2, so you may not approve it; someone other than its last editor must."
    )
    expect(page.locator("#no-reviews")).to_be_visible()

    page.locator("#sign-out").click()
    expect(page.locator("#signed-in-as")).to_have_count(0)

    # B signs in, approves version 2 with a comment, and marks the case curated.
    sign_in(page, live_server, "ben")
    page.goto(case_url)
    expect(page.locator("#verdict-approve")).to_be_enabled()
    page.locator("#verdict-approve").check()
    page.locator("#review-comment").fill(REVIEW_COMMENT)
    page.locator("#review-submit").click()
    expect(page.locator("#reviews li")).to_have_count(1)
    expect(page.locator("#reviews li")).to_contain_text("Ben Reviewer")
    expect(page.locator("#reviews li")).to_contain_text("Approved")
    expect(page.locator("#reviews li .review-comment")).to_have_text(REVIEW_COMMENT)
    expect(page.locator("#approved-note")).to_be_visible()
    expect(page.locator("#curate-blocked")).to_have_count(0)
    page.locator("#move-curated").get_by_role("button", name="Mark curated").click()
    expect(page.locator("#curation-status .badge")).to_have_text("curated")
    expect(page.locator("#case-status")).to_have_text("curated")
    expect(page.locator("#unreviewed-note")).to_have_count(0)
    axe_clean(page)

    # The audit trail (its page, /audit, is for faculty and admins, so read it directly):
    # A's move to review, B's approval and B's move to curated; the refusals left nothing.
    assert [
        (action, actor, detail.get("to") or detail.get("verdict"))
        for action, actor, detail in case_audit(session)
    ] == [
        ("case_status", author.id, "review"),
        ("case_review", reviewer.id, "approve"),
        ("case_status", reviewer.id, "curated"),
    ]

    # 5. Export the case file from the case page's link; the API gives the same bytes.
    with page.expect_download() as downloaded:
        page.locator("#export-link").click()
    assert downloaded.value.suggested_filename == f"{SLUG}.md"
    exported = Path(downloaded.value.path()).read_bytes()
    assert exported == export_case_file(live_server, "ada")
    text = exported.decode("utf-8")
    assert NEW_SENTENCE in text and OLD_SENTENCE not in text
    document = parse_case_file(text, frameworks=settings.frameworks)
    assert (document.slug, document.status.value, document.version) == (SLUG, "curated", 2)
    # The editor's round trip changed the one sentence and nothing else of the case. (Its
    # framework checkboxes come back in the configured order, not the case's own, so the
    # frameworks are compared as a set: the diff page treats them as one too.)
    shipped = parse_case_file(
        (settings.cases_dir / f"{SLUG}.md").read_text(encoding="utf-8"),
        frameworks=settings.frameworks,
    )
    touched = {"vignette", "version", "frameworks"}
    assert document.model_dump(exclude=touched) == shipped.model_dump(exclude=touched)
    assert sorted(document.frameworks) == sorted(shipped.frameworks)
    assert document.vignette == shipped.vignette.replace(OLD_SENTENCE, NEW_SENTENCE)

    # 6. Another installation: a fresh SQLite database with no library, one committee member.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    other = make_settings(f"sqlite:///{elsewhere / 'ethicsforum.db'}", elsewhere)
    migrate.upgrade(other)
    other_engine = make_engine(other)
    try:
        with Session(other_engine, expire_on_commit=False) as other_session:
            make_account(other_session, username="carla", role="committee")
            make_account(other_session, username="otto", role="admin")
    finally:
        other_engine.dispose()

    with serving(other) as other_url:
        with httpx.Client(base_url=other_url, timeout=10) as client:
            headers = bearer(client, "carla")
            assert client.get(f"/api/v1/cases/{SLUG}", headers=headers).status_code == 404
            # Imported cases arrive as drafts for the library's own review; that installation's
            # admin keeps the curated status, with a reason that is audited.
            keep = {"keep_status": "true", "reason": "Curated by our partner library"}
            admin = bearer(client, "otto")
            imported = client.post(
                "/api/v1/cases/import",
                params=keep,
                content=exported,
                headers={**admin, "Content-Type": "text/markdown"},
            )
            assert imported.status_code == 201, imported.text
            assert imported.json()["slug"] == SLUG
            assert imported.json()["status"] == "curated"
            again = client.post(
                "/api/v1/cases/import",
                content=exported,
                headers={**headers, "Content-Type": "text/markdown"},
            )
            assert again.status_code == 200, again.text  # the same file again changes nothing
        assert export_case_file(other_url, "carla") == exported

        reader = new_page()  # a visitor to the other installation: curated cases are public
        reader.goto(f"{other_url}/cases/{SLUG}")
        expect(reader.locator("#case-title")).to_have_text("Disclosing a tenfold morphine error")
        expect(reader.locator("#vignette")).to_contain_text(NEW_SENTENCE)
        expect(reader.locator("#vignette")).not_to_contain_text(OLD_SENTENCE)
        expect(reader.locator("#case")).to_contain_text("Version 2 ·")
