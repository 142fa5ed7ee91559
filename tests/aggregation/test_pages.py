"""The summary page, the debate screen, the spotlight and the brief, through real HTTP.

Pages are read as a browser reads them (cookie sign-in, HTML parsed), and their numbers are
checked against the JSON summary the API gives for the same discussion.
"""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from tests.discussions.conftest import open_discussion, post_position
from tests.discussions.leaks import assert_no_leak
from tests.factories import sign_in_browser

STUDENT_NAMES = ["Ann Real", "Bob Real", "Cat Real"]
STUDENT_USERNAMES = ["ann", "bob", "cat"]
LABELS = {"act": "Act now", "wait": "Wait"}
LETTERS = {"act": "A", "wait": "B"}
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def browse(client, who: str) -> str:
    """Sign the test client's browser in as someone else; returns their CSRF token."""
    client.cookies.clear()
    return sign_in_browser(client, who)


def get_page(client, path: str, status: int = 200) -> BeautifulSoup:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == status, (path, response.status_code, response.text[:500])
    return soup(response)


def claim(framework, direction, text):
    return {"framework": framework, "direction": direction, "text": text}


def rebut(client, world, position, who, **body):
    response = client.post(
        f"/api/v1/positions/{position['id']}/rebuttals",
        json={"kind": "counter", "body": "I disagree.", **body},
        headers=world["h"][who],
    )
    assert response.status_code == 201, response.text
    return response.json()


def mark(client, world, position, note):
    response = client.put(
        f"/api/v1/positions/{position['id']}/exemplary",
        json={"note": note},
        headers=world["h"]["prof"],
    )
    assert response.status_code == 200, response.text


def hide(client, world, position):
    response = client.post(
        f"/api/v1/positions/{position['id']}/hide",
        json={"reason": "Off topic"},
        headers=world["h"]["prof"],
    )
    assert response.status_code == 200, response.text


def api_summary(client, world, discussion, who="prof", **params):
    response = client.get(
        f"/api/v1/discussions/{discussion['id']}/summary", params=params, headers=world["h"][who]
    )
    assert response.status_code == 200, response.text
    return response.json()


def stance(client, world, discussion, who, moment, option):
    response = client.post(
        f"/api/v1/discussions/{discussion['id']}/stance",
        json={"moment": moment, "option": option},
        headers=world["h"][who],
    )
    assert response.status_code == 200, response.text


def paths(d):
    base = f"/discussions/{d['id']}"
    return {
        "discussion": base,
        "summary": f"{base}/summary",
        "debate": f"{base}/debate",
        "live": f"{base}/debate/live",
        "brief": f"{base}/brief",
        "spotlight": f"{base}/spotlight",
    }


@pytest.fixture
def debate(client, world):
    """Ann argues for acting, Bob for waiting (autonomy on both sides: a tension), Cat
    rebuts Bob, Ann's position is marked exemplary, and Bob ends up changing his mind."""
    d = open_discussion(client, world, early_rebuttals=True)
    ann = post_position(
        client,
        world,
        d,
        "ann",
        option="act",
        summary="Act now, she asked.",
        claims=[
            claim("autonomy", "supports", "She asked for treatment."),
            claim("justice", "challenges", "Others are waiting longer."),
        ],
    )
    bob = post_position(
        client,
        world,
        d,
        "bob",
        option="wait",
        summary="Wait for the family.",
        claims=[
            claim("autonomy", "supports", "Her earlier wishes were different."),
            claim("justice", "supports", "A fair process comes first."),
        ],
    )
    cat = rebut(
        client,
        world,
        bob,
        "cat",
        body="Waiting harms her.",
        claims=[claim("autonomy", "challenges", "Delay overrides her choice.")],
    )
    mark(client, world, ann, "Weighs autonomy against harm.")
    stance(client, world, d, "bob", "final", "act")
    return {"d": d, "ann": ann, "bob": bob, "cat": cat, "p": paths(d)}


# ---- the summary page ------------------------------------------------------------------


def _number(text: str) -> int:
    return int(text.strip())


def test_summary_headline_and_charts_match_the_json_summary(client, world, debate):
    data = api_summary(client, world, debate["d"], "ann")
    browse(client, "ann")
    page = get_page(client, debate["p"]["summary"])

    assert (data["participants"], data["positions"], data["rebuttals"]) == (3, 2, 1)
    assert _number(page.select_one("#stat-participants").text) == data["participants"]
    assert _number(page.select_one("#stat-positions").text) == data["positions"]
    assert _number(page.select_one("#stat-rebuttals").text) == data["rebuttals"]
    assert _number(page.select_one("#stat-unanswered").text) == len(data["unanswered"])
    assert _number(page.select_one("#stat-shifted").text) == 1
    assert page.select_one("#summary-empty") is None

    # Every chart is an image with a title, labelled by it, and has a table beside it.
    charts = page.select("svg[role=img]")
    assert len(charts) == 3
    for svg in charts:
        title = svg.find("title")
        assert title is not None and title.text.strip()
        assert title["id"] in svg["aria-labelledby"].split()
        pair = svg.find_parent(class_="chart-pair")
        assert pair is not None and pair.find("table") is not None

    # Positions per option: the table and the numbers drawn on the bars.
    options = page.select_one("#options-chart")
    rows = [
        (tr.th.get_text(strip=True), _number(tr.td.text)) for tr in options.select("table tbody tr")
    ]
    expected = [(f"{LETTERS[k]} · {LABELS[k]}", data["options"][k]) for k in ("act", "wait")]
    assert rows == expected == [("A · Act now", 1), ("B · Wait", 1)]
    assert _number(options.select_one("table tfoot td").text) == data["positions"]
    drawn = [_number(t.text) for t in options.select("svg text.chart-value")]
    assert drawn == [data["options"][k] for k in ("act", "wait")]

    # Claims by framework and option: "N for / M against" per cell.
    heat = page.select_one("#frameworks-chart")
    table = {}
    for tr in heat.select("table tbody tr"):
        cells = [re.findall(r"\d+", td.get_text(" ")) for td in tr.select("td")]
        table[tr.th.get_text(strip=True)] = [[int(n) for n in cell] for cell in cells]
    assert table == {
        f: [[row[k]["supports"], row[k]["challenges"]] for k in ("act", "wait")]
        for f, row in data["frameworks"].items()
    }
    assert table["autonomy"] == [[1, 0], [1, 1]]

    # Stance shift: one row per (initial, final) pair.
    shift = page.select_one("#stance-chart")
    moves = {}
    for tr in shift.select("table tbody tr"):
        first, last, n = (td.get_text(strip=True) for td in tr.select("td"))
        moves[(first, last)] = int(n)
    assert moves == {
        (f"{LETTERS[a]} · {LABELS[a]}", f"{LETTERS[b]} · {LABELS[b]}"): n
        for a, row in data["stance_shift"].items()
        for b, n in row.items()
    }
    assert moves == {("A · Act now", "A · Act now"): 1, ("B · Wait", "A · Act now"): 1}
    assert shift.select_one("tr.changed") is not None


def test_summary_lists_tensions_threads_and_exemplary_reasoning(client, world, debate):
    data = api_summary(client, world, debate["d"], "cat")
    browse(client, "cat")
    page = get_page(client, debate["p"]["summary"])

    # Autonomy was cited on both sides; justice only ever argued for waiting.
    assert [t["framework"] for t in data["tensions"]] == ["autonomy"]
    assert page.select_one("#tension-justice") is None
    tension = page.select_one("#tensions #tension-autonomy")
    assert "autonomy" in tension.select_one(".tension-title").text
    quoted = [q.text for q in tension.select(".strong-claim q")]
    assert sorted(quoted) == sorted(
        [
            "She asked for treatment.",
            "Her earlier wishes were different.",
            "Delay overrides her choice.",
        ]
    )
    listed = [
        int(li["id"].removeprefix("tension-claim-")) for li in tension.select(".strong-claim")
    ]
    from_json = [c["id"] for side in data["tensions"][0]["sides"] for c in side["strongest"]]
    assert listed == from_json
    sides = [s.select_one(".side-title").get_text(" ", strip=True) for s in tension.select(".side")]
    assert sides == ["For Act now 1 claim", "For Wait 1 claim", "Against Wait 1 claim"]

    ann, bob = debate["ann"]["id"], debate["bob"]["id"]
    assert data["unanswered"] == [ann] and data["most_contested"] == [bob]
    unanswered = page.select("#unanswered a")
    assert [a["href"] for a in unanswered] == [f"/positions/{ann}"]
    assert unanswered[0].text == "Act now, she asked."
    contested = page.select("#most-contested a")
    assert [a["href"] for a in contested] == [f"/positions/{bob}"]
    assert contested[0].text == "Wait for the family."
    assert "1 rebuttal" in page.select_one("#most-contested li").text

    # Exemplary reasoning is grouped by the frameworks of the post's claims, with the note.
    exemplary = page.select_one("#exemplary")
    groups = [h.get_text(strip=True) for h in exemplary.select("h3.exemplary-framework")]
    assert groups == ["autonomy", "justice"] == data["exemplary"][0]["frameworks"]
    items = exemplary.select(".exemplary-item")
    assert len(items) == 2
    for item in items:
        assert item.a["href"] == f"/positions/{ann}"
        assert item.a.text == "Act now, she asked."
        note = item.select_one(".exemplary-note").text
        assert "Weighs autonomy against harm." in note and "Dr Prof" in note


def test_an_empty_discussion_shows_empty_states_everywhere(client, world):
    d = open_discussion(client, world)
    p = paths(d)
    for who in ("ann", "prof"):
        browse(client, who)
        page = get_page(client, p["summary"])
        for stat in ("participants", "positions", "rebuttals", "unanswered", "shifted"):
            assert _number(page.select_one(f"#stat-{stat}").text) == 0
        assert "What should the team do?" in page.select_one("#summary-empty").text
        for part in ("#tensions", "#most-contested", "#unanswered", "#exemplary"):
            assert "empty-state" in page.select_one(part)["class"], part
        assert page.select_one("#stance-chart .empty-state")
        assert page.select_one("#stance-chart svg") is None
        rows = page.select("#options-chart tbody tr")
        assert [_number(tr.td.text) for tr in rows] == [0, 0]
    get_page(client, p["debate"])
    assert get_page(client, p["live"]).select_one("#latest-claims") is None
    brief = get_page(client, p["brief"])
    assert "Every position drew" in brief.select_one("#brief").text  # nothing left unanswered
    assert get_page(client, p["spotlight"]).select_one("#spotlight") is None


def test_post_first_withholds_the_summary_until_the_student_has_posted(client, world):
    d = open_discussion(client, world, post_first=True)
    post_position(
        client,
        world,
        d,
        "ann",
        summary="Ann's secret summary.",
        claims=[claim("autonomy", "supports", "Ann's secret claim.")],
    )
    p = paths(d)
    browse(client, "bob")
    response = client.get(p["summary"])
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("#summary-withheld")
    assert page.select_one("#summary-withheld a")["href"] == f"{p['discussion']}#compose"
    assert "Ann's secret" not in response.text
    assert page.select_one("svg[role=img]") is None and page.select_one("#stats") is None

    post_position(
        client,
        world,
        d,
        "bob",
        option="wait",
        summary="Bob's view.",
        claims=[claim("autonomy", "supports", "Bob's claim.")],
    )
    page = get_page(client, p["summary"])
    assert page.select_one("#summary-withheld") is None
    assert len(page.select("svg[role=img]")) == 3
    assert _number(page.select_one("#stat-positions").text) == 2
    assert "Ann's secret claim." in [q.text for q in page.select("#tension-autonomy q")]

    # Faculty never wait.
    browse(client, "prof")
    assert get_page(client, p["summary"]).select_one("#summary-withheld") is None


# ---- anonymity -------------------------------------------------------------------------


def _without_viewer(page: BeautifulSoup) -> str:
    """The page without the "Signed in as" line, which names the viewer themselves."""
    for element in page.select("#signed-in-as"):
        element.decompose()
    return str(page)


def test_no_page_names_a_student_even_to_faculty(client, world, debate):
    p = debate["p"]
    ok = client.put(
        f"/api/v1/discussions/{debate['d']['id']}/spotlight",
        json={"type": "position", "id": debate["ann"]["id"]},
        headers=world["h"]["prof"],
    )
    assert ok.status_code == 200
    forbidden = [*STUDENT_NAMES, *STUDENT_USERNAMES]
    browse(client, "prof")
    for name in ("summary", "debate", "live", "brief", "spotlight"):
        page = get_page(client, p[name])
        assert_no_leak(f"prof's {name}", _without_viewer(page), forbidden)
    # The faculty page of the discussion itself does name authors: the scan can see them.
    assert "Ann Real" in client.get(p["discussion"]).text
    for who in ("ann", "cat"):
        browse(client, who)
        for name in ("summary", "spotlight"):
            page = get_page(client, p[name])
            assert_no_leak(f"{who}'s {name}", _without_viewer(page), forbidden)
    assert "Act now, she asked." in get_page(client, p["spotlight"]).text


def test_faculty_may_count_hidden_posts_and_students_may_not(client, world, debate):
    hide(client, world, debate["bob"])
    p = debate["p"]
    browse(client, "prof")
    visible = get_page(client, p["summary"])
    toggle = visible.select_one("#hidden-toggle")
    assert toggle["href"] == f"{p['summary']}?include_hidden=true"
    assert "hidden posts too" in toggle.text
    assert _number(visible.select_one("#stat-positions").text) == 1
    assert _number(visible.select_one("#stat-rebuttals").text) == 1
    assert "not counted" in visible.select_one("#headline").text

    counted = get_page(client, toggle["href"])
    assert _number(counted.select_one("#stat-positions").text) == 2
    assert "Hidden posts are counted" in counted.select_one("#headline").text
    assert counted.select_one("#hidden-toggle")["href"] == p["summary"]
    json_counted = api_summary(client, world, debate["d"], include_hidden="true")
    assert _number(counted.select_one("#stat-positions").text) == json_counted["positions"]

    browse(client, "ann")
    student = get_page(client, f"{p['summary']}?include_hidden=true")
    assert student.select_one("#hidden-toggle") is None
    assert _number(student.select_one("#stat-positions").text) == 1
    assert "Wait for the family." not in str(student)
    assert "not counted" in student.select_one("#headline").text


# ---- escaping --------------------------------------------------------------------------


def test_student_and_faculty_text_is_escaped_on_every_page(client, world):
    d = open_discussion(client, world, early_rebuttals=True)
    ann = post_position(
        client,
        world,
        d,
        "ann",
        summary=SCRIPT,
        claims=[claim("autonomy", "supports", IMG), claim("justice", "challenges", SCRIPT)],
    )
    bob = post_position(
        client,
        world,
        d,
        "bob",
        option="wait",
        summary=IMG,
        claims=[claim("autonomy", "supports", SCRIPT + IMG)],
    )
    rebut(client, world, ann, "cat", body=IMG, claims=[claim("justice", "supports", IMG)])
    mark(client, world, bob, SCRIPT)
    ok = client.put(
        f"/api/v1/discussions/{d['id']}/spotlight",
        json={"type": "position", "id": ann["id"]},
        headers=world["h"]["prof"],
    )
    assert ok.status_code == 200
    p = paths(d)
    browse(client, "prof")
    for name in ("summary", "debate", "live", "brief", "spotlight"):
        response = client.get(p[name])
        assert response.status_code == 200, name
        html = response.text
        assert "<script>alert" not in html and "<img src=x" not in html, name
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, name
        if name != "spotlight":  # the spotlight shows Ann's summary only
            assert "&lt;img src=x onerror=alert(1)&gt;" in html, name
        page = soup(response)
        assert not [s for s in page.find_all("script") if "alert" in s.text], name
        assert not page.find_all(attrs={"onerror": True}), name
    # What was escaped is what the student typed.
    texts = [q.text for q in get_page(client, p["summary"]).select("#tensions q")]
    assert IMG in texts and SCRIPT + IMG in texts


# ---- the debate screen -----------------------------------------------------------------


def test_the_debate_screen_follows_the_stream_and_offers_spotlight_forms(client, world, debate):
    d, p = debate["d"], debate["p"]
    token = browse(client, "prof")
    response = client.get(p["debate"])
    assert response.status_code == 200
    page = soup(response)
    screen = page.select_one(".debate-screen")
    assert screen["sse-connect"] == f"/discussions/{d['id']}/events"
    assert screen["hx-ext"] == "sse"
    assert page.select_one("#debate-title").text == "What should the team do?"
    live = screen.select_one("#debate-live")
    assert "sse:position" in live["hx-trigger"] and "sse:rebuttal" in live["hx-trigger"]
    assert live["hx-get"] == p["live"] and live["hx-swap"] == "outerHTML"
    region = screen.select_one("#spotlight-region")
    assert region["sse-swap"] == "spotlight" and region.select_one("#spotlight") is None

    forms = page.select("form.spotlight-form")
    assert forms
    targets = set()
    for form in forms:
        assert form["method"] == "post" and form["action"] == p["spotlight"]
        assert form["hx-post"] == p["spotlight"] and form["hx-target"] == "#spotlight-region"
        assert form.select_one("input[name=csrf_token]")["value"] == token
        assert form.select_one("input[name=next]")["value"] == p["debate"]
        targets.add(form.select_one("input[name=target]")["value"])
    data = api_summary(client, world, d)
    strongest = {
        f"claim:{c['id']}" for t in data["tensions"] for s in t["sides"] for c in s["strongest"]
    }
    assert strongest and strongest <= targets
    assert f"position:{debate['bob']['id']}" in targets  # the most contested
    latest_claims = [q.text for q in page.select("#latest-claims q")]
    assert "Delay overrides her choice." in latest_claims and len(latest_claims) == 5
    clear = page.select_one("form#spotlight-clear")
    assert clear.select_one("input[name=action]")["value"] == "clear"
    assert clear.select_one("input[name=csrf_token]")["value"] == token
    stats = [int(n.text) for n in page.select("#debate-stats strong")]
    assert stats == [data["positions"], data["rebuttals"], data["participants"]] == [2, 1, 3]

    fragment = client.get(p["live"])
    assert fragment.status_code == 200
    assert "<html" not in fragment.text.lower() and "<body" not in fragment.text.lower()
    alone = soup(fragment)
    assert [el["id"] for el in alone.find_all(recursive=False) if el.name] == ["debate-live"]
    assert alone.select_one("#tension-autonomy")

    browse(client, "root")
    assert client.get(p["debate"]).status_code == 200
    for who, status in (("bob", 403), ("zed", 404)):
        browse(client, who)
        for name in ("debate", "live", "brief"):
            assert client.get(p[name]).status_code == status, (who, name)
    client.cookies.clear()
    anonymous = client.get(p["debate"], follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


# ---- the spotlight through the page ----------------------------------------------------


def test_the_spotlight_form_works_without_javascript_and_with_htmx(client, world, debate):
    d, p = debate["d"], debate["p"]
    bob_claim = debate["bob"]["claims"][0]
    token = browse(client, "prof")
    no_js = client.post(
        p["spotlight"],
        data={
            "csrf_token": token,
            "target": f"position:{debate['ann']['id']}",
            "next": p["debate"],
        },
        follow_redirects=False,
    )
    assert no_js.status_code == 303 and no_js.headers["location"] == p["debate"]
    shown = get_page(client, p["spotlight"])
    assert shown.select_one("#spotlight-text").text == "Act now, she asked."
    assert shown.select_one("#spotlight-link")["href"] == f"/positions/{debate['ann']['id']}"
    # The debate screen shows it too, rendered in place.
    on_screen = get_page(client, p["debate"]).select_one("#spotlight-region #spotlight-text")
    assert on_screen.text == "Act now, she asked."

    # Without `next`, or with one off the site, the browser goes back to the debate screen.
    for extra in ({}, {"next": "https://evil.example/"}, {"next": "//evil.example/"}):
        back = client.post(
            p["spotlight"],
            data={"csrf_token": token, "target": f"claim:{bob_claim['id']}", **extra},
            follow_redirects=False,
        )
        assert back.status_code == 303 and back.headers["location"] == p["debate"], extra

    htmx = client.post(
        p["spotlight"],
        data={"csrf_token": token, "target": f"claim:{bob_claim['id']}"},
        headers={"HX-Request": "true"},
    )
    assert htmx.status_code == 200 and "<html" not in htmx.text.lower()
    aside = soup(htmx).select_one("#spotlight")
    assert aside.select_one("#spotlight-text").text == "Her earlier wishes were different."
    assert "autonomy" in aside.select_one(".spotlight-meta").text
    assert "Wait" in aside.select_one(".badge.option").text
    link = aside.select_one("#spotlight-link")["href"]
    assert link == f"/positions/{debate['bob']['id']}#claim-{bob_claim['id']}"

    # A student sees it on the fragment and the discussion page fetches it on load.
    browse(client, "cat")
    assert "Her earlier wishes were different." in get_page(client, p["spotlight"]).text
    region = get_page(client, p["discussion"]).select_one("#spotlight-region")
    assert region["sse-swap"] == "spotlight"
    assert region["hx-get"] == p["spotlight"] and region["hx-trigger"] == "load"

    token = browse(client, "prof")
    cleared = client.post(
        p["spotlight"],
        data={"csrf_token": token, "action": "clear"},
        headers={"HX-Request": "true"},
    )
    assert cleared.status_code == 200 and soup(cleared).select_one("#spotlight") is None
    assert not cleared.text.strip()
    assert get_page(client, p["spotlight"]).select_one("#spotlight") is None
    get = client.get(f"/api/v1/discussions/{d['id']}/spotlight", headers=world["h"]["prof"])
    assert get.json() is None
    browse(client, "cat")
    region = get_page(client, p["discussion"]).select_one("#spotlight-region")
    assert region["sse-swap"] == "spotlight" and not region.has_attr("hx-get")
    assert region.select_one("#spotlight") is None


def test_the_spotlight_form_refuses_forgery_students_and_bad_targets(client, world, debate):
    d, p = debate["d"], debate["p"]
    target = f"position:{debate['ann']['id']}"
    browse(client, "prof")
    forged = client.post(p["spotlight"], data={"target": target}, follow_redirects=False)
    assert forged.status_code == 403
    wrong = client.post(p["spotlight"], data={"csrf_token": "not-the-token", "target": target})
    assert wrong.status_code == 403

    student_token = browse(client, "bob")
    refused = client.post(
        p["spotlight"], data={"csrf_token": student_token, "target": target}, follow_redirects=False
    )
    assert refused.status_code == 403
    browse(client, "zed")
    assert client.get(p["spotlight"]).status_code == 404

    token = browse(client, "prof")
    other = open_discussion(client, world)
    elsewhere = post_position(client, world, other, "ann")
    hidden = debate["bob"]
    hide(client, world, hidden)
    for bad, message in (
        ("", "choose a position or a claim"),
        ("nonsense", "choose a position or a claim"),
        ("position:abc", "choose a position or a claim"),
        ("rebuttal:1", "choose a position or a claim"),
        (f"position:{elsewhere['id']}", "not a position of this discussion"),
        (f"claim:{elsewhere['claims'][0]['id']}", "not a claim of this discussion"),
        ("position:999999", "not a position of this discussion"),
        (f"position:{hidden['id']}", "a hidden position cannot be put in the spotlight"),
    ):
        response = client.post(
            p["spotlight"],
            data={"csrf_token": token, "target": bad, "next": p["debate"]},
            follow_redirects=False,
        )
        assert response.status_code == 422, (bad, response.status_code)
        page = soup(response)
        assert message in page.select_one(".error").text, (bad, page.select_one(".error").text)
    # Nothing got into the spotlight along the way.
    assert (
        client.get(f"/api/v1/discussions/{d['id']}/spotlight", headers=world["h"]["prof"]).json()
        is None
    )


# ---- the brief -------------------------------------------------------------------------


def test_the_brief_is_a_printable_page_for_faculty_only(client, world, debate):
    d, p = debate["d"], debate["p"]
    data = api_summary(client, world, d)
    browse(client, "prof")
    page = get_page(client, p["brief"])
    brief = page.select_one("#brief")
    case = brief.select_one(".brief-case")
    assert "What should the team do?" in case.text
    assert case.select_one(".vignette em").text == "Markdown"  # the vignette, rendered
    assert "A short summary of the dilemma." in case.text
    counts = [
        (tr.th.get_text(strip=True), _number(tr.td.text))
        for tr in brief.select("#brief-options tbody tr")
    ]
    assert counts == [
        ("A · Act now", data["options"]["act"]),
        ("B · Wait", data["options"]["wait"]),
    ]
    assert "3 students took part: 2 positions and 1 rebuttal." in brief.text
    tension = brief.select_one("#tension-autonomy")
    assert "She asked for treatment." in tension.text
    assert "Her earlier wishes were different." in tension.text
    note = brief.select_one("#brief-exemplary .exemplary-note").text
    assert "Weighs autonomy against harm." in note
    assert brief.select_one("#brief-exemplary blockquote").text == "Act now, she asked."
    assert [li.text for li in brief.select("#brief-unanswered li")] == [
        "Act now, she asked. (Act now)"
    ]
    assert brief.select_one("#brief-stance table")
    markdown = brief.select_one(f'a[href="/api/v1/discussions/{d["id"]}/export?format=markdown"]')
    assert markdown is not None and markdown.has_attr("download")
    assert page.select_one("#brief-title").text == f"Debate brief: {d['title']}"

    summary = get_page(client, p["summary"])
    assert summary.select_one("#brief-link")["href"] == p["brief"]
    assert summary.select_one("#debate-link")["href"] == p["debate"]
    export = summary.select_one("#brief-markdown-link")["href"]
    assert client.get(export, headers=world["h"]["prof"]).status_code == 200

    browse(client, "ann")
    assert client.get(p["brief"]).status_code == 403
    student_summary = get_page(client, p["summary"])
    assert student_summary.select_one("#brief-link") is None
    assert student_summary.select_one("#debate-link") is None
