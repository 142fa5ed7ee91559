"""The curation workflow: draft -> review -> curated -> retired, reviews, overrides, audit."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from sqlmodel import col, select

from ethicsforum.accounts import cohorts
from ethicsforum.discussions import service as discussions
from ethicsforum.moderation.models import AuditEntry
from tests.conftest import fresh
from tests.factories import make_account, make_case, sign_in_browser, token_for

CONTENT = {
    "title": "Telling the partner",
    "summary": "A patient will not tell his partner about his diagnosis.",
    "question": "Should the doctor tell the partner?",
    "options": [{"key": "tell", "label": "Tell the partner"}, {"key": "keep", "label": "Keep it"}],
    "frameworks": ["autonomy", "confidentiality"],
    "tags": ["disclosure"],
    "references": ["GMC. Confidentiality. 2017."],
    "learning_objectives": ["Weigh confidentiality against harm."],
    "vignette": "The first version of the vignette.",
}


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


@pytest.fixture
def people(client, session):
    """Two committee members (Ann wrote the case), an admin and a student, with API headers."""
    found = {
        "ann": make_account(session, username="ann", role="committee", display_name="Ann Author"),
        "bob": make_account(session, username="bob", role="committee", display_name="Bob Review"),
        "ada": make_account(session, username="ada", role="admin", display_name="Ada Admin"),
        "stu": make_account(session, username="stu", role="student", display_name="Stu Dent"),
    }
    return {name: (account, token_for(client, account.username)) for name, account in found.items()}


@pytest.fixture
def draft(client, people):
    """A draft written by Ann, version 1."""
    response = client.post(
        "/api/v1/cases", json={"slug": "partner", **CONTENT}, headers=people["ann"][1]
    )
    assert response.status_code == 201, response.text


def move(client, headers, status, **extra):
    return client.post(
        "/api/v1/cases/partner/status", json={"status": status, **extra}, headers=headers
    )


def review(client, headers, verdict="approve", comment="Reads well."):
    return client.post(
        "/api/v1/cases/partner/reviews",
        json={"verdict": verdict, "comment": comment},
        headers=headers,
    )


def audit(session, action):
    return list(
        fresh(session).exec(
            select(AuditEntry).where(AuditEntry.action == action).order_by(col(AuditEntry.id))
        )
    )


def browser(client, account) -> str:
    client.cookies.clear()
    return sign_in_browser(client, account.username)


def test_a_case_goes_from_draft_through_review_to_curated(client, session, people, draft):
    ann, bob = people["ann"][1], people["bob"][1]
    assert move(client, ann, "review").json()["status"] == "review"

    own = review(client, ann)
    assert own.status_code == 409
    assert "may not approve" in own.json()["detail"]
    refused = move(client, ann, "curated")
    assert refused.status_code == 409
    assert "needs a review by someone other than its last editor" in refused.json()["detail"]

    # Ann may still ask for changes on her own version; that approves nothing.
    assert review(client, ann, "changes", "Needs a second look.").status_code == 201
    assert move(client, ann, "curated").status_code == 409

    approved = review(client, bob, comment="  Accurate and fair.  ")
    assert approved.status_code == 201, approved.text
    body = approved.json()
    assert (body["version"], body["verdict"], body["comment"]) == (
        1,
        "approve",
        "Accurate and fair.",
    )
    assert body["reviewer"] == {"username": "bob", "display_name": "Bob Review"}

    listed = client.get("/api/v1/cases/partner/reviews", headers=ann).json()
    assert [(r["reviewer"]["username"], r["verdict"]) for r in listed] == [
        ("bob", "approve"),
        ("ann", "changes"),
    ]
    assert {"id", "version", "verdict", "comment", "reviewer", "created_at"} == set(listed[0])

    curated = move(client, ann, "curated")
    assert curated.status_code == 200 and curated.json()["status"] == "curated"

    moves = [e.detail for e in audit(session, "case_status")]
    assert moves == [
        {"from": "draft", "to": "review", "slug": "partner", "version": 1, "override": False},
        {"from": "review", "to": "curated", "slug": "partner", "version": 1, "override": False},
    ]
    reviews = audit(session, "case_review")
    assert [(e.detail["verdict"], e.detail["version"]) for e in reviews] == [
        ("changes", 1),
        ("approve", 1),
    ]
    assert reviews[1].actor_id == people["bob"][0].id and reviews[1].target_type == "case"


def test_asking_for_changes_after_approving_withdraws_the_approval(client, people, draft):
    ann, bob = people["ann"][1], people["bob"][1]
    move(client, ann, "review")
    review(client, bob, "approve")
    review(client, bob, "changes", "On reflection, the options overlap.")
    assert move(client, ann, "curated").status_code == 409


def test_a_new_version_needs_its_own_approval(client, people, draft):
    ann, bob = people["ann"][1], people["bob"][1]
    move(client, ann, "review")
    review(client, bob, "approve")
    revised = client.put(
        "/api/v1/cases/partner",
        json={**CONTENT, "vignette": "A second version.", "change_note": "Rewrote it"},
        headers=bob,
    )
    assert revised.json()["version"] == 2
    # Bob made version 2 now: his approval of version 1 does not carry over, nor may he
    # approve his own version; Ann may.
    assert move(client, ann, "curated").status_code == 409
    assert review(client, bob).status_code == 409
    assert review(client, ann).json()["version"] == 2
    assert move(client, bob, "curated").status_code == 200


def test_forbidden_moves_are_409_naming_the_allowed_next_steps(client, people, draft):
    ann = people["ann"][1]
    for status, allowed in [("curated", "review"), ("retired", "review"), ("draft", "review")]:
        response = move(client, ann, status)
        assert response.status_code == 409, status
        assert f"may move to {allowed}" in response.json()["detail"]
    assert "already draft" in move(client, ann, "draft").json()["detail"]
    # Along the allowed path, and back again.
    for status in ("review", "draft", "review"):
        assert move(client, ann, status).status_code == 200
    move(client, people["ada"][1], "curated", override=True, reason="Long-standing case")
    refused = move(client, ann, "draft")
    assert refused.status_code == 409
    assert "may move to review or retired" in refused.json()["detail"]
    for status in ("retired", "draft"):
        assert move(client, ann, status).status_code == 200
    assert move(client, ann, "retired").status_code == 409
    assert move(client, ann, "review").status_code == 200
    assert move(client, ann, "nowhere").status_code == 422


def test_an_admin_may_override_the_review_with_a_reason(client, session, people, draft):
    ann, ada = people["ann"][1], people["ada"][1]
    move(client, ann, "review")

    no_reason = move(client, ada, "curated", override=True)
    assert no_reason.status_code == 422
    assert ["body", "reason"] in [p["loc"] for p in no_reason.json()["detail"]]
    assert move(client, ada, "curated", override=True, reason="   ").status_code == 422
    # Not asking for the override: the rule holds for admins too.
    assert move(client, ada, "curated").status_code == 409

    # A non-admin asking for it is refused whatever else they send.
    for body in ({"reason": "Trust me"}, {}):
        assert move(client, ann, "curated", override=True, **body).status_code == 403
    assert len(audit(session, "case_status")) == 1

    done = move(client, ada, "curated", override=True, reason="Approved at the March meeting")
    assert done.status_code == 200 and done.json()["status"] == "curated"
    entry = audit(session, "case_status")[-1]
    assert entry.detail["override"] is True and entry.detail["to"] == "curated"
    assert entry.reason == "Approved at the March meeting"
    assert entry.actor_id == people["ada"][0].id


def test_reviews_are_checked_before_they_are_kept(client, people, draft):
    bob, stu = people["bob"][1], people["stu"][1]
    assert review(client, bob, comment="").status_code == 422
    assert review(client, bob, comment="   ").status_code == 422
    assert review(client, bob, comment="x" * 2001).status_code == 422
    assert review(client, bob, comment="x" * 2000).status_code == 201
    assert review(client, bob, verdict="maybe").status_code == 422
    missing = client.post("/api/v1/cases/partner/reviews", json={}, headers=bob)
    assert {("body", "verdict"), ("body", "comment")} <= {
        tuple(p["loc"]) for p in missing.json()["detail"]
    }
    assert review(client, stu).status_code == 403
    assert client.post("/api/v1/cases/partner/reviews", json={}, headers=stu).status_code == 403
    assert client.get("/api/v1/cases/partner/reviews", headers=stu).status_code == 403
    assert (
        client.post(
            "/api/v1/cases/nothing/reviews",
            json={"verdict": "approve", "comment": "x"},
            headers=bob,
        ).status_code
        == 404
    )
    move(client, bob, "review")
    move(client, people["ada"][1], "curated", override=True, reason="Old case")
    move(client, bob, "retired")
    retired = review(client, bob)
    assert retired.status_code == 409 and "retired" in retired.json()["detail"]


def test_committee_members_see_drafts_and_cases_in_review(client, session, people, draft):
    make_case(session, slug="in-review", status="review")
    bob, stu = people["bob"][1], people["stu"][1]
    assert client.get("/api/v1/cases/partner", headers=bob).status_code == 200
    listed = client.get("/api/v1/cases", params={"status": "review"}, headers=bob).json()
    assert [i["slug"] for i in listed["items"]] == ["in-review"]
    assert client.get("/api/v1/cases/in-review", headers=stu).status_code == 404
    assert (
        client.get("/api/v1/cases", params={"status": "review"}, headers=stu).json()["total"] == 0
    )


def test_the_library_page_filters_by_status_and_badges_every_card(client, session, people):
    for status in ("draft", "review", "curated", "retired"):
        make_case(session, slug=f"a-{status}", title=f"A {status} case", status=status)
    browser(client, people["bob"][0])
    page = soup(client.get("/cases"))
    assert [o["value"] for o in page.select("#status option")] == [
        "",
        "draft",
        "review",
        "curated",
        "retired",
    ]
    badges = {
        li["id"]: li.select_one(".badge[class*=status-]").get_text()
        for li in page.select("li.case-card")
    }
    assert badges == {f"case-a-{s}": s for s in ("draft", "review", "curated", "retired")}
    filtered = soup(client.get("/cases", params={"status": "review"}))
    assert [li["id"] for li in filtered.select("li.case-card")] == ["case-a-review"]
    fragment = client.get(
        "/cases",
        params={"status": "draft"},
        headers={"HX-Request": "true", "HX-Target": "case-results"},
    )
    assert fragment.template.name == "cases/_results.html"
    assert [li["id"] for li in soup(fragment).select("li.case-card")] == ["case-a-draft"]

    browser(client, people["stu"][0])
    student = soup(client.get("/cases"))
    assert not student.select("#status")
    assert [li["id"] for li in student.select("li.case-card")] == ["case-a-curated"]
    assert not student.select("li.case-card .badge[class*=status-]")


def test_a_revised_curated_case_stays_curated_and_shows_its_unreviewed_changes(
    client, session, people
):
    make_case(session, slug="partner", status="curated")
    ann, bob = people["ann"], people["bob"]
    browser(client, bob[0])
    before = soup(client.get("/cases/partner"))
    assert not before.select("#unreviewed-note")
    assert before.select_one("#case-status").get_text() == "curated"

    revised = client.put(
        "/api/v1/cases/partner",
        json={**CONTENT, "change_note": "New facts"},
        headers=ann[1],
    )
    assert revised.json()["status"] == "curated" and revised.json()["version"] == 2
    student = client.get("/api/v1/cases/partner", headers=people["stu"][1]).json()
    assert (student["status"], student["version"]) == ("curated", 2)

    page = soup(client.get("/cases/partner"))
    note = page.select_one("#unreviewed-note")
    assert "Version 2 has changes not yet reviewed" in note.get_text()
    assert page.select_one("#unreviewed-diff-link")["href"] == "/cases/partner/diff?from=1&to=2"
    assert "Send back for review" in page.select_one("#moves").get_text()

    assert review(client, bob[1], comment="The new facts check out.").status_code == 201
    assert not soup(client.get("/cases/partner")).select("#unreviewed-note")

    browser(client, people["stu"][0])
    seen = soup(client.get("/cases/partner"))
    assert not seen.select("#unreviewed-note, #curation, #case-status")


def test_a_discussion_stays_pinned_to_the_version_it_was_opened_on(client, session, people):
    make_case(session, slug="partner", status="curated", vignette="Zebra facts of version one.")
    faculty = make_account(session, role="faculty")
    stu = people["stu"][0]
    cohort = cohorts.create_cohort(session, name="Ethics 101", creator=faculty)
    cohorts.join(session, code=cohort.join_code, account=stu)
    discussion = discussions.open_discussion(
        session,
        account=faculty,
        data=discussions.DiscussionInput(case_slug="partner", cohort_id=cohort.id or 0),
    )
    revised = client.put(
        "/api/v1/cases/partner",
        json={**CONTENT, "title": "Telling the partner, revised", "change_note": "Rewrote"},
        headers=people["ann"][1],
    )
    assert revised.json()["version"] == 2

    pinned = client.get(f"/api/v1/discussions/{discussion.id}", headers=people["stu"][1]).json()
    assert pinned["case_version"] == 1
    assert pinned["case"]["version"] == 1 and pinned["case"]["title"] == "A test case"
    assert "Zebra facts" in pinned["case"]["vignette"]

    browser(client, stu)
    page = soup(client.get(f"/discussions/{discussion.id}"))
    assert "(version 1)" in page.select_one("#discussion-meta").get_text()
    assert "Zebra facts of version one." in page.select_one("#case-brief").get_text()
    assert "first version of the vignette" not in page.get_text()


def test_the_curation_panel_takes_reviews_and_moves_through_forms(client, people, draft):
    ann, bob = people["ann"][0], people["bob"][0]
    csrf = browser(client, ann)
    page = soup(client.get("/cases/partner"))
    panel = page.select_one("#curation")
    assert panel.select_one("#curation-status .badge").get_text() == "draft"
    assert panel.select_one("#no-reviews")
    assert panel.select_one("#verdict-approve").has_attr("disabled")
    assert panel.select_one("#verdict-approve")["aria-describedby"] == "own-version-hint"
    assert panel.select_one("label[for=review-comment]")
    assert panel.select_one("fieldset legend")
    for form in panel.select("form[method=post]"):
        assert form.select_one("input[name=csrf_token]")
    assert [b.get_text() for b in panel.select("#moves button")] == ["Send for review"]

    moved = client.post(
        "/cases/partner/status",
        data={"status": "review", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert moved.headers["location"] == "/cases/partner#curation"
    page = soup(client.get("/cases/partner"))
    assert page.select_one("#curation-status .badge").get_text() == "review"
    assert page.select_one("#curate-blocked")
    assert not page.select("#override-form")  # only admins

    own = client.post(
        "/cases/partner/reviews",
        data={"verdict": "approve", "comment": "I like my case", "csrf_token": csrf},
    )
    assert own.status_code == 409
    assert own.template.name == "cases/curation.html"
    error = soup(own).select_one("#curation-error")
    assert error["role"] == "alert" and "may not approve" in error.get_text()
    assert soup(own).select_one("#review-comment").get_text() == "I like my case"

    blocked = client.post("/cases/partner/status", data={"status": "curated", "csrf_token": csrf})
    assert blocked.status_code == 409
    assert (
        "someone other than its last editor"
        in soup(blocked).select_one("#curation-error").get_text()
    )

    csrf = browser(client, bob)
    empty = client.post(
        "/cases/partner/reviews", data={"verdict": "approve", "comment": " ", "csrf_token": csrf}
    )
    assert empty.status_code == 422
    field = soup(empty).select_one("#review-comment")
    assert field["aria-invalid"] == "true" and field["aria-describedby"] == "comment-error"
    assert soup(empty).select_one("#comment-error").get_text()
    unset = client.post("/cases/partner/reviews", data={"comment": "Fine", "csrf_token": csrf})
    assert unset.status_code == 422 and soup(unset).select_one("#verdict-error")

    done = client.post(
        "/cases/partner/reviews",
        data={"verdict": "approve", "comment": "Balanced <b>and</b> accurate.", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = soup(client.get("/cases/partner"))
    [entry] = page.select("#reviews li")
    assert "Bob Review" in entry.get_text() and "Approved" in entry.get_text()
    assert entry.select_one(".review-comment").get_text() == "Balanced <b>and</b> accurate."
    assert not page.select("#curate-blocked")

    curated = client.post(
        "/cases/partner/status",
        data={"status": "curated", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert curated.status_code == 303
    assert soup(client.get("/cases/partner")).select_one("#case-status").get_text() == "curated"
    bad = client.post("/cases/partner/status", data={"status": "gone", "csrf_token": csrf})
    assert bad.status_code == 422 and soup(bad).select_one("#curation-error")
    assert client.post("/cases/partner/status", data={"status": "review"}).status_code == 403


def test_the_admin_override_form_needs_a_reason(client, session, people, draft):
    move(client, people["ann"][1], "review")
    csrf = browser(client, people["ada"][0])
    page = soup(client.get("/cases/partner"))
    form = page.select_one("#override-form")
    assert form.select_one("label[for=override-reason]")
    assert form.select_one("input[name=override]")["value"] == "true"

    data = {"status": "curated", "override": "true", "csrf_token": csrf}
    missing = client.post("/cases/partner/status", data={**data, "reason": ""})
    assert missing.status_code == 422
    assert soup(missing).select_one("#reason-error").get_text()
    assert soup(missing).select_one("#override-reason")["aria-describedby"] == "reason-error"
    done = client.post(
        "/cases/partner/status",
        data={**data, "reason": "Agreed by the committee"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert audit(session, "case_status")[-1].detail["override"] is True

    csrf = browser(client, people["bob"][0])
    move(client, people["bob"][1], "review")
    refused = client.post(
        "/cases/partner/status", data={**data, "csrf_token": csrf, "reason": "Because"}
    )
    assert refused.status_code == 403


def test_the_panel_is_for_editors_on_the_current_version_only(client, people, draft):
    client.put(
        "/api/v1/cases/partner",
        json={**CONTENT, "change_note": "Second"},
        headers=people["ann"][1],
    )
    browser(client, people["bob"][0])
    assert soup(client.get("/cases/partner")).select_one("#curation")
    assert not soup(client.get("/cases/partner", params={"version": 1})).select("#curation")


def test_the_panel_lists_what_the_de_identification_gate_holds_back(client, people):
    ann, bob = people["ann"], people["bob"]
    named = {**CONTENT, "vignette": "Mrs Eleanor Hughes will not tell her partner."}
    client.post("/api/v1/cases", json={"slug": "partner", **named}, headers=ann[1])
    move(client, ann[1], "review")
    review(client, bob[1])
    csrf = browser(client, bob[0])
    held = client.post("/cases/partner/status", data={"status": "curated", "csrf_token": csrf})
    assert held.status_code == 409
    problems = soup(held).select("#curation-error #curation-problems li")
    assert problems and "Eleanor Hughes" in problems[0].get_text()
    assert client.get("/api/v1/cases/partner", headers=bob[1]).json()["status"] == "review"
