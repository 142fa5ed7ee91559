"""The discussion pages: composer, positions, rebuttal tree, stances and phases."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from tests.discussions.conftest import open_discussion, post_position, set_phase
from tests.factories import sign_in_browser


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


@pytest.fixture
def discussion(client, world):
    return open_discussion(client, world)


def form_for(token, **fields):
    return {"csrf_token": token, **fields}


def claim_fields(*rows):
    out = {}
    for i, (framework, direction, text) in enumerate(rows):
        out |= {
            f"claims-{i}-framework": framework,
            f"claims-{i}-direction": direction,
            f"claims-{i}-text": text,
        }
    return out


def test_a_student_sees_the_case_the_stance_form_and_an_empty_composer(client, world, discussion):
    sign_in_browser(client, "ann")
    page = soup(client.get(f"/discussions/{discussion['id']}"))
    assert page.select_one("#discussion-title").text == "A test case"
    assert page.select_one("#stance-form")
    assert len(page.select("#composer .claim-row")) == 3
    assert {o["value"] for o in page.select("#composer input[name=option]")} == {"act", "wait"}
    assert page.select_one("#no-positions")
    # The stream resumes after the last change the page was rendered with (none yet).
    assert page.select_one("[sse-connect]")["sse-connect"].endswith(
        f"/discussions/{discussion['id']}/events?after=0"
    )


def test_posting_through_the_form_skips_blank_claim_rows(client, world, discussion):
    token = sign_in_browser(client, "ann")
    data = form_for(
        token,
        option="act",
        summary="Act now.",
        body="**Because.**",
        **claim_fields(
            ("autonomy", "supports", "She asked."),
            ("justice", "challenges", "Queue."),
            ("", "supports", ""),
        ),
    )
    response = client.post(
        f"/discussions/{discussion['id']}/positions", data=data, follow_redirects=False
    )
    assert response.status_code == 303
    page = soup(client.get(response.headers["location"]))
    assert page.select_one("#position-title").text == "Act now."
    assert [li.text.split()[0] for li in page.select("#claims li")] == ["autonomy", "justice"]
    assert page.select_one(".body strong").text == "Because."
    assert page.select_one("#edit-link")


def test_an_invalid_form_keeps_everything_typed_and_marks_each_field(client, world, discussion):
    token = sign_in_browser(client, "ann")
    data = form_for(
        token,
        option="act",
        summary="",
        body="My *careful* reasoning",
        **claim_fields(("", "supports", "A reason without a framework")),
    )
    response = client.post(f"/discussions/{discussion['id']}/positions", data=data)
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("#composer-errors")
    assert page.select_one("#summary-error")
    assert page.select_one("#claims-0-framework-error")
    assert page.select_one("#body").text == "My *careful* reasoning"
    assert page.select_one("#claims-0-text").text == "A reason without a framework"
    assert page.select_one("input[name=option][value=act]").has_attr("checked")


def test_claim_rows_are_added_and_removed_in_place(client, world, discussion):
    token = sign_in_browser(client, "ann")
    # The composer sends its rows (0, 1 and 4 here: 2 and 3 were removed).
    rows = {f"claims-{i}-text": "x" for i in (0, 1, 4)}
    row = client.post(
        f"/discussions/{discussion['id']}/claim-row",
        data={**rows, "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert row.status_code == 200
    fieldset = soup(row).select_one("fieldset")
    assert fieldset["id"] == "claim-row-5"
    assert fieldset.select_one("select[name=claims-5-framework]")
    assert fieldset.select_one("button.remove-claim")["hx-target"] == "#claim-row-5"
    assert client.get("/empty").text == ""
    full = {f"claims-{i}-text": "x" for i in range(8)}
    refused = client.post(
        f"/discussions/{discussion['id']}/claim-row",
        data={**full, "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert "At most 8 claims" in refused.text and "fieldset" not in refused.text


def test_the_markdown_preview_is_sanitised(client, world):
    token = sign_in_browser(client, "ann")
    response = client.post(
        "/markdown/preview", data={"body": "<script>x()</script> *hi*", "csrf_token": token}
    )
    assert "<em>hi</em>" in response.text and "<script>" not in response.text


def test_stances_through_the_page(client, world, discussion):
    token = sign_in_browser(client, "ann")
    ok = client.post(
        f"/discussions/{discussion['id']}/stance",
        data=form_for(token, moment="initial", option="wait"),
    )
    assert soup(ok).select_one("#initial-stance").text == "Wait"
    bad = client.post(
        f"/discussions/{discussion['id']}/stance", data=form_for(token, moment="initial", option="")
    )
    assert bad.status_code == 422 and soup(bad).select_one("#stance-error")


def test_classmates_see_pseudonyms_and_faculty_see_names_on_the_page(client, world, discussion):
    post_position(client, world, discussion, "ann")
    sign_in_browser(client, "bob")
    student_view = client.get(f"/discussions/{discussion['id']}").text
    assert "Ann Real" not in student_view and ">ann<" not in student_view
    client.cookies.clear()
    sign_in_browser(client, "prof")
    faculty_view = soup(client.get(f"/discussions/{discussion['id']}"))
    assert "Ann Real" in faculty_view.select_one(".position-card .author").text
    assert faculty_view.select_one("#phase-controls")


def test_rebuttals_through_the_page_anchor_to_a_claim_and_nest(client, world, discussion):
    position = post_position(client, world, discussion, "ann")
    set_phase(client, world, discussion, "rebuttals")
    token = sign_in_browser(client, "bob")
    claim = position["claims"][1]["id"]
    first = client.post(
        f"/positions/{position['id']}/rebuttals",
        data=form_for(token, kind="challenge", body="Is it *fair*?", claim_id=str(claim)),
        follow_redirects=False,
    )
    assert first.status_code == 303
    page = soup(client.get(f"/positions/{position['id']}"))
    item = page.select_one("#rebuttal-tree li.rebuttal")
    assert "Is it" in item.select_one(".body").text
    assert item.select_one(".anchor a")["href"] == f"#claim-{claim}"
    rebuttal_id = int(item["id"].removeprefix("rebuttal-"))
    reply = client.post(
        f"/positions/{position['id']}/rebuttals",
        data=form_for(token, kind="question", body="Another thought", parent_id=str(rebuttal_id)),
        follow_redirects=False,
    )
    assert reply.status_code == 303
    page = soup(client.get(f"/positions/{position['id']}"))
    assert page.select_one(f"#replies-{rebuttal_id} li.rebuttal")
    empty = client.post(
        f"/positions/{position['id']}/rebuttals", data=form_for(token, kind="counter", body="   ")
    )
    assert empty.status_code == 422


def test_deep_threads_continue_on_their_own_page(client, world, discussion):
    position = post_position(client, world, discussion, "ann")
    set_phase(client, world, discussion, "rebuttals")
    parent = None
    ids = []
    for n in range(6):
        body = {"kind": "counter", "body": f"level {n}"}
        if parent:
            body["parent_id"] = parent
        response = client.post(
            f"/api/v1/positions/{position['id']}/rebuttals",
            json=body,
            headers=world["h"]["bob" if n % 2 == 0 else "cat"],
        )
        parent = response.json()["id"]
        ids.append(parent)
    sign_in_browser(client, "ann")
    page = soup(client.get(f"/positions/{position['id']}"))
    link = page.select_one("p.continue a")
    assert link["href"].endswith(f"?thread={ids[3]}")
    thread = soup(client.get(link["href"]))
    assert thread.select_one(f"#rebuttal-{ids[5]}")
    assert client.get(f"/positions/{position['id']}?thread=999999").status_code == 404


def test_editing_through_the_page_keeps_the_old_version(client, world, discussion):
    position = post_position(client, world, discussion, "ann")
    token = sign_in_browser(client, "ann")
    form = soup(client.get(f"/positions/{position['id']}/edit"))
    assert form.select_one("#summary")["value"] == "We should act now."
    assert form.select_one("input[name=claims-0-id]")["value"] == str(position["claims"][0]["id"])
    data = form_for(
        token,
        option="wait",
        summary="On reflection, wait.",
        body="Changed.",
        **{"claims-0-id": str(position["claims"][0]["id"])},
        **claim_fields(("autonomy", "supports", "She asked, but later.")),
    )
    saved = client.post(f"/positions/{position['id']}/edit", data=data, follow_redirects=False)
    assert saved.status_code == 303
    history = soup(client.get(f"/positions/{position['id']}/revisions"))
    assert "We should act now." in history.select_one("#revisions").text
    client.cookies.clear()
    sign_in_browser(client, "bob")
    assert client.get(f"/positions/{position['id']}/edit").status_code == 403


def test_positions_are_paged(client, world, discussion, session):
    from tests.factories import make_account, token_for

    for n in range(22):
        make_account(session, username=f"s{n}")
        client.post(
            "/api/v1/cohorts/join",
            json={"join_code": world["cohort"].join_code},
            headers=token_for(client, f"s{n}"),
        )
        client.post(
            f"/api/v1/discussions/{discussion['id']}/positions",
            json={
                "option": "act",
                "summary": f"Position {n}",
                "body": "",
                "claims": [{"framework": "autonomy", "direction": "supports", "text": "x"}],
            },
            headers=token_for(client, f"s{n}"),
        )
    sign_in_browser(client, "prof")
    first = soup(client.get(f"/discussions/{discussion['id']}"))
    assert len(first.select("#position-list > li")) == 20
    next_link = first.select_one("nav.pagination a[rel=next]")
    second = client.get(
        f"/discussions/{discussion['id']}{next_link['href']}",
        headers={"HX-Request": "true", "HX-Target": "position-list"},
    )
    assert len(soup(second).select("#position-list > li")) == 2


def test_a_closed_discussion_says_so_and_offers_no_composer(client, world, discussion):
    set_phase(client, world, discussion, "closed")
    sign_in_browser(client, "ann")
    page = soup(client.get(f"/discussions/{discussion['id']}"))
    assert page.select_one("#closed-note") and not page.select_one("#composer")


def test_faculty_open_a_discussion_from_the_cohort_page(client, world):
    token = sign_in_browser(client, "prof")
    page = soup(client.get(f"/cohorts/{world['cohort'].id}"))
    assert page.select_one("#open-discussion-form select#case_slug option[value=test-case]")
    response = client.post(
        f"/cohorts/{world['cohort'].id}/discussions",
        data=form_for(
            token, case_slug="test-case", title="Live debate", anonymity="named", post_first="on"
        ),
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = soup(client.get(response.headers["location"]))
    assert page.select_one("#discussion-title").text == "Live debate"
    assert "Post first" in page.select_one("#discussion-meta").text


def test_a_discussion_outside_ones_cohorts_is_not_found(client, world, discussion):
    sign_in_browser(client, "zed")
    assert client.get(f"/discussions/{discussion['id']}").status_code == 404
    assert client.get(f"/discussions/{discussion['id']}/events").status_code == 404


def test_cohort_and_home_pages_list_discussions_with_phase_and_activity(client, world, discussion):
    post_position(client, world, discussion, "ann")
    sign_in_browser(client, "bob")
    home = soup(client.get("/cohorts"))
    entry = home.select_one(".discussion-list li")
    assert "A test case" in entry.text and "positions" in entry.select_one(".badge").text
    assert "1 position, 0 rebuttals" in entry.text
    cohort = soup(client.get(f"/cohorts/{world['cohort'].id}"))
    assert "1 position" in cohort.select_one(f"#discussion-{discussion['id']}").text


def test_a_rebuttal_may_carry_a_claim_of_its_own(client, world, discussion):
    position = post_position(client, world, discussion, "ann")
    set_phase(client, world, discussion, "rebuttals")
    token = sign_in_browser(client, "bob")
    page = soup(client.get(f"/positions/{position['id']}"))
    assert page.select_one("#rebuttal-form details.own-claim select[name=claims-0-framework]")
    bad = client.post(
        f"/positions/{position['id']}/rebuttals",
        data=form_for(
            token, kind="counter", body="Unfair.", **claim_fields(("karma", "supports", "Mine."))
        ),
    )
    assert bad.status_code == 422
    assert soup(bad).select_one("#claims-0-text").text == "Mine."
    ok = client.post(
        f"/positions/{position['id']}/rebuttals",
        data=form_for(
            token,
            kind="counter",
            body="Unfair.",
            **claim_fields(("justice", "supports", "Queue jumping.")),
        ),
        follow_redirects=False,
    )
    assert ok.status_code == 303
    tree = client.get(f"/api/v1/positions/{position['id']}", headers=world["h"]["cat"]).json()
    assert tree["rebuttals"][0]["claims"][0]["text"] == "Queue jumping."


def test_replying_uses_one_form_pointed_at_the_rebuttal(client, world, discussion):
    position = post_position(client, world, discussion, "ann")
    set_phase(client, world, discussion, "rebuttals")
    first = client.post(
        f"/api/v1/positions/{position['id']}/rebuttals",
        json={"kind": "counter", "body": "First reply"},
        headers=world["h"]["bob"],
    ).json()
    sign_in_browser(client, "cat")
    page = soup(client.get(f"/positions/{position['id']}"))
    link = page.select_one(f"#rebuttal-{first['id']} .reply-link a")
    assert link["href"].endswith(f"?reply_to={first['id']}#rebut")
    assert len(page.select("form.rebuttal-form")) == 1
    replying = soup(client.get(link["href"].split("#")[0]))
    assert "First reply" in replying.select_one("#replying-to").text
    assert replying.select_one("#rebuttal-form input[name=parent_id]")["value"] == str(first["id"])


def test_the_home_page_counts_what_is_new_since_ones_last_post(client, world, discussion):
    post_position(client, world, discussion, "ann")
    post_position(client, world, discussion, "bob")
    post_position(client, world, discussion, "cat")
    sign_in_browser(client, "ann")
    entry = soup(client.get("/cohorts")).select_one(".discussion-list li")
    assert entry.select_one(".badge.new").text == "2 new since your last post"
    client.cookies.clear()
    sign_in_browser(client, "cat")
    assert not soup(client.get("/cohorts")).select_one(".discussion-list li .badge.new")
