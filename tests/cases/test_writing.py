"""Writing the case library through the API: create, revise, status and import."""

from __future__ import annotations

import pytest
from sqlmodel import select

from ethicsforum.cases.fileformat import render_case_file
from ethicsforum.moderation.models import AuditEntry
from tests.conftest import REPO, fresh
from tests.factories import case_document, make_case, signed_in

CONTENT = {
    "title": "Withholding a prognosis",
    "summary": "A family asks the team not to tell.",
    "question": "What should the team say?",
    "options": [{"key": "tell", "label": "Tell her"}, {"key": "wait", "label": "Wait"}],
    "frameworks": ["autonomy", "beneficence"],
    "tags": ["oncology"],
    "references": ["GMC. Decision making and consent. 2020."],
    "learning_objectives": ["Explain the duty to inform."],
    "vignette": "A vignette.\n\n## Facts\n\n- One fact.",
}


@pytest.fixture
def committee(client, session):
    return signed_in(client, session, "committee")


@pytest.fixture
def student(client, session):
    return signed_in(client, session, "student")


def test_a_new_case_starts_as_a_draft_at_version_one(client, committee):
    response = client.post(
        "/api/v1/cases", json={"slug": "withholding", **CONTENT}, headers=committee
    )
    assert response.status_code == 201, response.text
    case = response.json()
    assert (case["status"], case["version"], case["slug"]) == ("draft", 1, "withholding")
    assert case["options"] == CONTENT["options"]
    again = client.post("/api/v1/cases", json={"slug": "withholding", **CONTENT}, headers=committee)
    assert again.status_code == 409


def test_every_problem_in_a_new_case_is_listed(client, committee):
    bad = {
        **CONTENT,
        "slug": "Bad Slug",
        "options": [{"key": "only", "label": "One"}],
        "frameworks": ["karma"],
        "title": "",
    }
    response = client.post("/api/v1/cases", json=bad, headers=committee)
    assert response.status_code == 422
    locs = {tuple(e["loc"][:2]) for e in response.json()["detail"]}
    assert {("body", "slug"), ("body", "options"), ("body", "title")} <= locs


def test_an_unconfigured_framework_is_refused(client, committee):
    response = client.post(
        "/api/v1/cases",
        json={"slug": "x", **CONTENT, "frameworks": ["autonomy", "karma"]},
        headers=committee,
    )
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "frameworks", 1] and "karma" in problem["msg"]


def test_a_revision_adds_a_version_and_keeps_the_older_ones(client, session, committee):
    make_case(session, status="curated")
    revised = client.put(
        "/api/v1/cases/test-case",
        json={**CONTENT, "change_note": "Clarified the question"},
        headers=committee,
    )
    assert revised.status_code == 200, revised.text
    assert revised.json()["version"] == 2 and revised.json()["status"] == "curated"
    assert revised.json()["title"] == CONTENT["title"]
    history = client.get("/api/v1/cases/test-case/versions", headers=committee).json()
    assert [(v["version"], v["change_note"]) for v in history] == [
        (2, "Clarified the question"),
        (1, "Imported"),
    ]
    assert history[0]["updated_by"].startswith("user")
    old = client.get("/api/v1/cases/test-case?version=1", headers=committee).json()
    assert old["title"] == "A test case"
    found = client.get("/api/v1/cases", params={"q": "prognosis"}, headers=committee).json()
    assert [i["slug"] for i in found["items"]] == ["test-case"]
    assert (
        client.get("/api/v1/cases", params={"q": "zzzfirstversionword"}, headers=committee).json()[
            "total"
        ]
        == 0
    )


def test_a_revision_needs_a_change_note(client, session, committee):
    make_case(session)
    response = client.put("/api/v1/cases/test-case", json=CONTENT, headers=committee)
    assert response.status_code == 422
    assert ["body", "change_note"] in [e["loc"] for e in response.json()["detail"]]
    assert (
        client.put(
            "/api/v1/cases/nothing", json={**CONTENT, "change_note": "x"}, headers=committee
        ).status_code
        == 404
    )


def test_status_changes_are_audited(client, session, committee):
    make_case(session, status="draft")
    response = client.post(
        "/api/v1/cases/test-case/status", json={"status": "review"}, headers=committee
    )
    assert response.status_code == 200 and response.json()["status"] == "review"
    assert response.json()["version"] == 1
    bad = client.post(
        "/api/v1/cases/test-case/status", json={"status": "published"}, headers=committee
    )
    assert bad.status_code == 422
    [entry] = fresh(session).exec(select(AuditEntry).where(AuditEntry.action == "case_status"))
    assert entry.detail == {
        "from": "draft",
        "to": "review",
        "slug": "test-case",
        "version": 1,
        "override": False,
    }


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/cases", {}),
        ("put", "/api/v1/cases/test-case", {}),
        ("post", "/api/v1/cases/test-case/status", {}),
        ("post", "/api/v1/cases/import", None),
    ],
)
def test_students_may_not_write_cases_whatever_they_send(
    client, session, student, method, path, body
):
    make_case(session)
    kwargs = {"json": body} if body is not None else {"content": "not a case file"}
    response = getattr(client, method)(path, headers=student, **kwargs)
    assert response.status_code == 403


def test_import_creates_then_recognises_then_refuses_a_changed_case(client, committee):
    text = (REPO / "cases" / "research-consent-emergency.md").read_text()
    headers = {**committee, "Content-Type": "text/markdown"}
    first = client.post("/api/v1/cases/import", content=text, headers=headers)
    assert first.status_code == 201
    assert first.json()["slug"] == "research-consent-emergency"
    same = client.post("/api/v1/cases/import", content=text, headers=headers)
    assert same.status_code == 200
    changed = client.post(
        "/api/v1/cases/import", content=text.replace("version: 1", "version: 2"), headers=headers
    )
    assert changed.status_code == 409
    # The case arrived as a draft for this library's review; everything else is the file.
    assert first.json()["status"] == "draft"
    export = client.get("/api/v1/cases/research-consent-emergency/export", headers=committee)
    assert export.text == text.replace("status: curated", "status: draft")


def test_import_lists_every_problem_with_its_line(client, committee):
    text = render_case_file(case_document()).replace("status: curated", "status: nope")
    text = text.replace("- autonomy", "- karma")
    response = client.post(
        "/api/v1/cases/import", content=text, headers={**committee, "Content-Type": "text/markdown"}
    )
    assert response.status_code == 422
    problems = {(tuple(p["loc"]), p["line"]) for p in response.json()["detail"]}
    lines = text.splitlines()
    assert (("body", "status"), lines.index("status: nope") + 1) in problems
    assert (("body", "frameworks"), lines.index("frameworks:") + 1) in problems


def test_import_refuses_what_is_not_a_case_file(client, committee):
    headers = {**committee, "Content-Type": "text/markdown"}
    assert (
        client.post("/api/v1/cases/import", content=b"\xff\xfe", headers=headers).status_code == 422
    )
    assert (
        client.post("/api/v1/cases/import", content="just text", headers=headers).status_code == 422
    )
    big = "---\n" + "x" * (300 * 1024)
    assert client.post("/api/v1/cases/import", content=big, headers=headers).status_code == 413
