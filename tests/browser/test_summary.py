"""The class's reasoning in aggregate, in a real browser, on the seeded demo debate: the
summary page against the JSON summary (charts, tables, tensions, exemplary reasoning, stance
shifts), its accessibility and keyboard use, the spotlight travelling from the faculty's
debate screen to students' screens over Server-Sent Events, the debate screen refreshing as
posts arrive, the brief printed to PDF by Chromium, and all of it without JavaScript."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ethicsforum import demo
from ethicsforum.config import Settings
from ethicsforum.discussions.models import Discussion
from tests.browser.conftest import axe_clean
from tests.conftest import fresh

pytestmark = pytest.mark.browser

DEMO_TITLE = "Demo debate: a threat in the outpatient clinic"
OPTIONS = {
    "disclose-to-police": "Tell the police today so they can protect the ex-partner",
    "mental-health-act-assessment": "Request an urgent Mental Health Act assessment instead "
    "of disclosing",
    "keep-confidence-intensify": "Keep confidence, but increase contact and treat the drinking "
    "and anger",
    "seek-consent-first": "Seek his consent to disclosure and consult colleagues before deciding",
}
STUDENT_NAMES = [
    name for _, role, name, _ in demo.DEMO_ACCOUNTS + demo.DEMO_CLASSMATES if role == "student"
]
NEW_CLAIM = "Asking first keeps him talking to us while we decide."
NOT_YET = "you will see it once you can read the class's positions"


# ---- arranging --------------------------------------------------------------------------


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
                "/auth/token", data={"username": username, "password": demo.DEMO_PASSWORD}
            )
            assert answer.status_code == 200, answer.text
            self.tokens[username] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        return self.tokens[username]

    def call(self, method: str, path: str, who: str, expected: int, **kwargs: Any) -> Any:
        answer = self.http.request(method, path, headers=self._headers(who), **kwargs)
        assert answer.status_code == expected, answer.text
        return answer.json() if answer.content else None

    def summary(self, who: str, discussion_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", f"/discussions/{discussion_id}/summary", who, 200)
        return result


@pytest.fixture
def api(live_server: str) -> Iterator[Api]:
    client = Api(live_server)
    yield client
    client.close()


@pytest.fixture
def debate(live_server: str, settings: Settings, engine: Engine, session: Session) -> int:
    """The demo discussion, seeded into the live server's database; returns its id."""
    demo.ensure_demo(settings, engine)
    fresh(session)
    discussion_id = session.exec(select(Discussion.id).where(Discussion.title == DEMO_TITLE)).one()
    fresh(session)  # hold no snapshot while the server writes
    assert discussion_id is not None
    return discussion_id


# ---- driving the browser ----------------------------------------------------------------


def sign_in(page: Page, live_server: str, username: str) -> None:
    page.goto(f"{live_server}/login")
    form = page.locator("#login-form")
    form.locator("#username").fill(username)
    form.locator("#password").fill(demo.DEMO_PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signed-in-as")).to_be_visible()


def is_events_stream(response: Any) -> bool:
    return "/events" in response.url.split("?")[0]


def follow(page: Page, url: str) -> None:
    """Open a page that follows the discussion's event stream, and wait for the stream."""
    with page.expect_response(is_events_stream) as stream:
        page.goto(url)
    assert stream.value.status == 200
    page.evaluate("window.__marker = 'still the same page'")


def not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__marker") == "still the same page", f"{page.url} was reloaded"


def number(text: str | None) -> int:
    found = re.search(r"\d+", text or "")
    assert found, f"no number in {text!r}"
    return int(found.group())


def drawn(text: str) -> int:
    """A number drawn on the heat map: "+3", "−2" (a minus sign) or "0"."""
    return int(text.strip().lstrip("+−"))


def letters(data: dict[str, Any]) -> dict[str, str]:
    return {key: "ABCDEFGH"[i] for i, key in enumerate(data["options"])}


def check_summary_against(page: Page, data: dict[str, Any]) -> None:
    """The page's stats, charts and tables carry the JSON summary's numbers."""
    mark = letters(data)
    assert list(data["options"]) == list(OPTIONS)
    shifted = sum(n for a, row in data["stance_shift"].items() for b, n in row.items() if a != b)

    expect(page.locator("#stat-participants")).to_have_text(str(data["participants"]))
    expect(page.locator("#stat-positions")).to_have_text(str(data["positions"]))
    expect(page.locator("#stat-rebuttals")).to_have_text(str(data["rebuttals"]))
    expect(page.locator("#stat-unanswered")).to_have_text(str(len(data["unanswered"])))
    expect(page.locator("#stat-shifted")).to_have_text(str(shifted))
    expect(page.locator("#summary-empty")).to_have_count(0)

    # Three charts, each an image named by its title, each beside a table.
    charts = page.locator("main svg[role=img]")
    expect(charts).to_have_count(3)
    for index in range(3):
        svg = charts.nth(index)
        expect(svg).to_be_visible()
        title = svg.locator("title")
        expect(title).to_have_count(1)
        assert title.get_attribute("id") in (svg.get_attribute("aria-labelledby") or "").split()
        pair = svg.locator("xpath=ancestor::div[contains(@class, 'chart-pair')]")
        expect(pair.locator("table.chart-table")).to_be_visible()

    # Positions per option: the table, its total and the numbers drawn on the bars.
    options = page.locator("#options-chart")
    rows = options.locator("table tbody tr")
    expect(rows).to_have_count(len(OPTIONS))
    for index, (key, count) in enumerate(data["options"].items()):
        expect(rows.nth(index).locator("th")).to_have_text(f"{mark[key]} · {OPTIONS[key]}")
        expect(rows.nth(index).locator("td")).to_have_text(str(count))
    expect(options.locator("table tfoot td")).to_have_text(str(data["positions"]))
    bars = [number(t) for t in options.locator("svg text.chart-value").all_text_contents()]
    assert bars == list(data["options"].values())

    # Claims by framework and option, for and against, in the table and on the map.
    heat = page.locator("#frameworks-chart")
    table: dict[str, list[list[int]]] = {}
    for tr in heat.locator("table tbody tr").all():
        framework = (tr.locator("th").text_content() or "").strip()
        cells = tr.locator("td").all_inner_texts()
        table[framework] = [[int(n) for n in re.findall(r"\d+", cell)] for cell in cells]
    expected = {
        framework: [[row[k]["supports"], row[k]["challenges"]] for k in data["options"]]
        for framework, row in data["frameworks"].items()
    }
    assert table == expected
    assert sum(n for cells in table.values() for cell in cells for n in cell) > 0
    on_map = [drawn(t) for t in heat.locator("svg text.chart-value").all_text_contents()]
    assert on_map == [n for cells in expected.values() for cell in cells for n in cell]

    # Stance shift: one row per move, the changes marked.
    shift = page.locator("#stance-chart")
    moves: dict[tuple[str, str], int] = {}
    for tr in shift.locator("table tbody tr").all():
        first, last, n = (t.strip() for t in tr.locator("td").all_text_contents())
        moves[(first, last)] = int(n)
    assert moves == {
        (f"{mark[a]} · {OPTIONS[a]}", f"{mark[b]} · {OPTIONS[b]}"): n
        for a, row in data["stance_shift"].items()
        for b, n in row.items()
    }
    expect(shift.locator("tr.changed")).to_have_count(
        sum(1 for a, row in data["stance_shift"].items() for b in row if a != b)
    )

    # Tensions, each with its sides and their strongest claims.
    assert data["tensions"], "the demo debate has no tension"
    tensions = page.locator("#tensions li.tension")
    expect(tensions).to_have_count(len(data["tensions"]))
    for tension in data["tensions"]:
        item = page.locator(f"#tension-{tension['framework']}")
        assert len(tension["sides"]) >= 2
        expect(item.locator("section.side")).to_have_count(len(tension["sides"]))
        for side in tension["sides"]:
            for claim in side["strongest"]:
                expect(item.locator(f"#tension-claim-{claim['id']} q")).to_have_text(claim["text"])

    # The exemplary mark and its note.
    [exemplary] = data["exemplary"]
    assert exemplary["note"] == demo.EXEMPLARY.note
    expect(page.locator("#exemplary .exemplary-note").first).to_contain_text(exemplary["note"])


# ---- the summary ------------------------------------------------------------------------


def test_the_summary_matches_the_json_reads_well_for_faculty_and_students_and_by_keyboard(
    live_server: str, page: Page, new_page: Callable[..., Page], debate: int, api: Api
) -> None:
    data = api.summary("faculty", debate)
    assert (data["participants"], data["positions"], data["rebuttals"]) == (6, 6, 8)

    sign_in(page, live_server, "faculty")
    summary_url = f"{live_server}/discussions/{debate}/summary"
    page.goto(summary_url)
    expect(page.locator("h1#summary-title")).to_have_text("What the class reasoned")
    expect(page.locator("#headline")).to_contain_text("6 students took part with 6 positions")
    check_summary_against(page, data)
    expect(page.locator("#stat-shifted")).to_have_text("2")
    for name in STUDENT_NAMES:
        expect(page.locator("main")).not_to_contain_text(name)
    axe_clean(page)

    # The keyboard reaches the faculty's toggle, then the links of the tension list.
    reached: list[dict[str, Any]] = []
    for _ in range(150):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => {
                const e = document.activeElement;
                return {id: e.id, tag: e.tagName, href: e.getAttribute('href'),
                        inTensions: e.closest('#tensions') !== null};
            }"""
        )
        reached.append(focused)
        if focused["id"] == "hidden-toggle" and reached.count(focused) > 1:
            break  # round the page and back: the tension list was not reached
        if sum(1 for f in reached if f["inTensions"]) >= 2:
            break
    ids = [f["id"] for f in reached]
    assert "hidden-toggle" in ids, f"Tab never reached the hidden-posts toggle: {reached}"
    in_tensions = [i for i, f in enumerate(reached) if f["inTensions"]]
    assert len(in_tensions) >= 2, f"Tab did not reach the tension list's links: {reached}"
    assert all(reached[i]["tag"] == "A" for i in in_tensions)
    assert all(re.search(r"/positions/\d+#claim-\d+$", reached[i]["href"]) for i in in_tensions)
    assert ids.index("hidden-toggle") < in_tensions[0]

    # The toggle works from the keyboard too.
    toggle = page.locator("#hidden-toggle")
    expect(toggle).to_have_text("Count hidden posts too")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{summary_url}?include_hidden=true")
    expect(page.locator("#hidden-toggle")).to_have_text("Count visible posts only")
    expect(page.locator("#headline")).to_contain_text("Hidden posts are counted.")
    expect(page.locator("#stat-positions")).to_have_text(str(data["positions"]))

    # The debate screen and the brief are clean too.
    page.goto(f"{live_server}/discussions/{debate}/debate")
    expect(page.locator("#debate-stats")).to_be_visible()
    axe_clean(page)
    page.goto(f"{live_server}/discussions/{debate}/brief")
    expect(page.locator("#brief-title")).to_contain_text(DEMO_TITLE)
    axe_clean(page)

    # student4 posted in the demo debate: the same numbers as faculty see, no faculty tools.
    posted = new_page()
    sign_in(posted, live_server, "student4")
    posted.goto(summary_url)
    student_data = api.summary("student4", debate)
    assert student_data == data
    check_summary_against(posted, student_data)
    expect(posted.locator("#hidden-toggle")).to_have_count(0)
    expect(posted.locator(".summary-actions")).to_have_count(0)
    for name in STUDENT_NAMES:
        expect(posted.locator("main")).not_to_contain_text(name)
    axe_clean(posted)

    # student1 has not posted in this post-first discussion: the summary is withheld.
    newcomer = new_page()
    sign_in(newcomer, live_server, "student1")
    newcomer.goto(summary_url)
    withheld = newcomer.locator("#summary-withheld")
    expect(withheld).to_be_visible()
    expect(withheld).to_have_attribute("role", "status")
    expect(withheld.get_by_role("link", name="Take your position")).to_have_attribute(
        "href", f"/discussions/{debate}#compose"
    )
    expect(newcomer.locator("svg[role=img]")).to_have_count(0)
    expect(newcomer.locator("#stats")).to_have_count(0)
    expect(newcomer.locator("#tensions")).to_have_count(0)
    axe_clean(newcomer)


# ---- the spotlight and the debate screen ------------------------------------------------


def test_the_spotlight_reaches_students_live_and_the_debate_screen_follows_new_posts(
    live_server: str, new_page: Callable[..., Page], debate: int, api: Api
) -> None:
    discussion_url = f"{live_server}/discussions/{debate}"
    before = api.summary("faculty", debate)

    # Two students follow the discussion: one who has posted, one who has not.
    student = new_page()
    sign_in(student, live_server, "student4")
    follow(student, discussion_url)
    newcomer = new_page()
    sign_in(newcomer, live_server, "student1")
    follow(newcomer, discussion_url)
    expect(newcomer.locator("#post-first-note")).to_be_visible()
    for screen in (student, newcomer):
        expect(screen.locator("#spotlight")).to_have_count(0)

    # Faculty put a claim in the spotlight from the debate screen, through htmx.
    faculty = new_page()
    sign_in(faculty, live_server, "faculty")
    follow(faculty, f"{discussion_url}/debate")
    expect(faculty.locator("#spotlight")).to_have_count(0)
    item = faculty.locator("#latest-claims li.latest-claim").first
    claim_id = int((item.get_attribute("id") or "").rsplit("-", 1)[1])
    text = (item.locator("q").text_content() or "").strip()
    assert text
    with faculty.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith(f"/{debate}/spotlight")
    ) as answer:
        item.get_by_role("button", name="Spotlight this claim").click()
    assert answer.value.status == 200
    assert answer.value.request.headers.get("hx-request") == "true"
    expect(faculty.locator("#spotlight-region #spotlight-text")).to_have_text(text)
    not_reloaded(faculty)
    shown = api.call("GET", f"/discussions/{debate}/spotlight", "faculty", 200)
    assert (shown["type"], shown["id"], shown["text"]) == ("claim", claim_id, text)

    # The student who has posted reads it; the one who has not is told of it, not shown it.
    spotlit = student.locator("#spotlight-region #spotlight")
    expect(spotlit.locator("#spotlight-text")).to_have_text(text)
    expect(spotlit.locator("#spotlight-link")).to_have_attribute(
        "href", re.compile(rf"/positions/{shown['position_id']}#claim-{claim_id}$")
    )
    notice = newcomer.locator("#spotlight-region #spotlight")
    expect(notice.locator("#spotlight-text")).to_contain_text(NOT_YET)
    expect(notice).not_to_contain_text(text)
    expect(notice.locator("#spotlight-link")).to_have_count(0)
    for screen in (student, newcomer):
        not_reloaded(screen)
    axe_clean(student)

    # Faculty clear it: it leaves every screen.
    faculty.get_by_role("button", name="Clear the spotlight").click()
    for screen in (faculty, student, newcomer):
        expect(screen.locator("#spotlight")).to_have_count(0)
        not_reloaded(screen)
    assert api.call("GET", f"/discussions/{debate}/spotlight", "faculty", 200) is None

    # student1 posts a position: the debate screen's live part is fetched again.
    stats = faculty.locator("#debate-stats")

    def shows(positions: int, rebuttals: int, students: int) -> None:
        expect(stats).to_have_text(
            f"{positions} positions · {rebuttals} rebuttals · {students} students"
        )

    shows(before["positions"], before["rebuttals"], before["participants"])
    expect(faculty.locator("#latest-claims")).not_to_contain_text(NEW_CLAIM)
    posted = api.call(
        "POST",
        f"/discussions/{debate}/positions",
        "student1",
        201,
        json={
            "option": "seek-consent-first",
            "summary": "Ask him first, with a colleague in the room.",
            "body": "Consent keeps the door open.",
            "claims": [{"framework": "autonomy", "direction": "supports", "text": NEW_CLAIM}],
        },
    )
    shows(before["positions"] + 1, before["rebuttals"], before["participants"] + 1)
    expect(faculty.locator("#latest-claims")).to_contain_text(NEW_CLAIM)
    not_reloaded(faculty)

    # A rebuttal after it: the swapped-in part still follows the stream.
    api.call(
        "POST",
        f"/positions/{before['most_contested'][0]}/rebuttals",
        "student1",
        201,
        json={"kind": "question", "body": "Who tells her, and when?"},
    )
    shows(before["positions"] + 1, before["rebuttals"] + 1, before["participants"] + 1)
    not_reloaded(faculty)
    after = api.summary("faculty", debate)
    assert after["options"]["seek-consent-first"] == before["options"]["seek-consent-first"] + 1
    assert posted["id"] in after["unanswered"]


# ---- the brief on paper -----------------------------------------------------------------


def test_the_brief_prints_to_a_pdf_without_the_site_chrome_or_student_names(
    live_server: str, page: Page, debate: int, tmp_path: Path
) -> None:
    sign_in(page, live_server, "faculty")
    page.goto(f"{live_server}/discussions/{debate}/brief")
    expect(page.locator("#brief-title")).to_have_text(f"Debate brief: {DEMO_TITLE}")
    header = page.locator("header.site-header")
    expect(header).to_be_visible()
    expect(page.locator(".site-footer")).to_be_visible()
    expect(page.locator(".no-print").first).to_be_visible()

    page.emulate_media(media="print")
    expect(header).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(page.locator(".site-footer")).to_be_hidden()
    for hidden in page.locator(".no-print").all():
        expect(hidden).to_be_hidden()
    expect(page.locator("#brief-title")).to_be_visible()
    expect(page.locator("#brief svg[role=img]")).to_have_count(3)
    expect(page.locator("#brief-exemplary .exemplary-note")).to_contain_text(demo.EXEMPLARY.note)

    path = tmp_path / "brief.pdf"
    page.pdf(path=str(path), format="A4", print_background=True)
    pdf = path.read_bytes()
    assert pdf.startswith(b"%PDF"), pdf[:16]
    assert len(pdf) > 10_000, len(pdf)

    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        # .ci/run installs poppler-utils; on a laptop without it the PDF itself was checked.
        assert os.environ.get("CI") != "true", "pdftotext (poppler-utils) is missing in CI"
        return
    extracted = subprocess.run(
        [pdftotext, "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        check=True,
        text=True,
        timeout=30,
    ).stdout
    words = " ".join(extracted.split())
    assert "Debate brief" in words
    assert " ".join(demo.EXEMPLARY.note.split()) in words
    assert "Skip to main content" not in words
    assert "Sign out" not in words
    for name in STUDENT_NAMES:
        assert name not in words, f"the PDF names {name}"


# ---- without JavaScript -----------------------------------------------------------------


def test_without_javascript_the_summary_reads_and_the_spotlight_form_posts(
    live_server: str, no_js_page: Page, debate: int, api: Api
) -> None:
    page = no_js_page
    sign_in(page, live_server, "faculty")
    page.goto(f"{live_server}/discussions/{debate}/summary")
    check_summary_against(page, api.summary("faculty", debate))
    expect(page.locator("main table.chart-table")).to_have_count(3)

    debate_url = f"{live_server}/discussions/{debate}/debate"
    page.goto(debate_url)
    item = page.locator(".debate-contested li").first
    text = (item.locator("q").text_content() or "").strip()
    assert text
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith(f"/{debate}/spotlight")
    ) as answer:
        item.get_by_role("button", name="Spotlight this position").click()
    assert answer.value.status == 303
    assert "hx-request" not in answer.value.request.headers
    expect(page).to_have_url(debate_url)
    expect(page.locator("#spotlight #spotlight-text")).to_have_text(text)
    shown = api.call("GET", f"/discussions/{debate}/spotlight", "faculty", 200)
    assert (shown["type"], shown["text"]) == ("position", text)

    page.get_by_role("button", name="Clear the spotlight").click()
    expect(page).to_have_url(debate_url)
    expect(page.locator("#spotlight")).to_have_count(0)
    assert api.call("GET", f"/discussions/{debate}/spotlight", "faculty", 200) is None
