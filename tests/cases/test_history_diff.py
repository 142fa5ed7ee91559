"""A case's history and the changes between two versions: the API and the pages."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from ethicsforum.cases.diff import word_diff
from tests.factories import make_account, sign_in_browser, token_for

CONTENT = {
    "title": "Refusing blood after a crash",
    "summary": "An adult refuses blood products.",
    "question": "What should the team do?",
    "options": [
        {"key": "respect", "label": "Respect the refusal"},
        {"key": "give", "label": "Give blood"},
    ],
    "frameworks": ["autonomy", "beneficence"],
    "tags": ["consent", "trauma"],
    "references": ["GMC. Decision making and consent. 2020.", "Mental Capacity Act 2005."],
    "learning_objectives": ["Explain capacity.", "Weigh refusal against harm."],
    "vignette": "The patient refuses blood after the accident.\n\nHe is conscious and calm.",
}

REVISED = {
    **CONTENT,
    "options": [
        {"key": "respect", "label": "Respect his refusal"},
        {"key": "court", "label": "Ask a court"},
    ],
    "frameworks": ["autonomy", "justice"],
    "tags": ["consent", "trauma", "jehovahs-witness"],
    "references": ["GMC. Decision making and consent. 2020 edition.", "Mental Capacity Act 2005."],
    "learning_objectives": ["Explain capacity."],
    "vignette": (
        "The patient refuses a transfusion after the accident.\n\nHe is conscious and calm."
    ),
    "change_note": "Clarified the treatment and the options",
}


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


@pytest.fixture
def editor(client, session):
    """A committee member who wrote version 1 and revised it into version 2."""
    account = make_account(session, role="committee", display_name="Dana Keeper")
    headers = token_for(client, account.username)
    created = client.post("/api/v1/cases", json={"slug": "blood", **CONTENT}, headers=headers)
    assert created.status_code == 201, created.text
    revised = client.put("/api/v1/cases/blood", json=REVISED, headers=headers)
    assert revised.status_code == 200, revised.text
    return account, headers


def fields_of(body) -> dict[str, dict]:
    return {f["field"]: f for f in body["fields"]}


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("the big red dog barked.", "the small blue dog barked!"),
        ("", "new text"),
        ("old text", ""),
        ("Line one.\n\nLine two stays.\n", "Line one, edited.\n\nLine two stays.\nA third.\n"),
        ("same", "same"),
    ],
)
def test_word_diff_segments_rebuild_both_texts(before, after):
    segments = word_diff(before, after)
    assert "".join(s.text for s in segments if s.op != "insert") == before
    assert "".join(s.text for s in segments if s.op != "delete") == after
    assert all(s.text for s in segments)
    if before != after:
        assert {s.op for s in segments} & {"insert", "delete"}


def test_replaced_words_next_to_each_other_read_as_one_change():
    segments = [(s.op, s.text) for s in word_diff("the big red dog", "the small blue dog")]
    assert segments == [
        ("equal", "the "),
        ("delete", "big red"),
        ("insert", "small blue"),
        ("equal", " dog"),
    ]


def test_the_diff_of_a_revised_vignette_marks_the_inserted_and_deleted_words(client, editor):
    _, headers = editor
    response = client.get("/api/v1/cases/blood/diff", params={"from": 1, "to": 2}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["slug"], body["from"], body["to"]) == ("blood", 1, 2)
    vignette = fields_of(body)["vignette"]
    assert vignette["kind"] == "text"
    assert set(vignette) == {"field", "label", "kind", "changes"}
    changes = [(c["op"], c["text"]) for c in vignette["changes"]]
    assert ("delete", "blood") in changes
    assert ("insert", "a transfusion") in changes
    assert changes[0] == ("equal", "The patient refuses ")
    assert "".join(t for op, t in changes if op != "insert") == CONTENT["vignette"]
    assert "".join(t for op, t in changes if op != "delete") == REVISED["vignette"]
    # Only the fields that changed are listed.
    assert "title" not in fields_of(body) and "summary" not in fields_of(body)


def test_list_fields_are_compared_item_by_item(client, editor):
    _, headers = editor
    body = client.get(
        "/api/v1/cases/blood/diff", params={"from": 1, "to": 2}, headers=headers
    ).json()
    fields = fields_of(body)
    assert list(fields) == [
        "vignette",
        "options",
        "frameworks",
        "tags",
        "learning_objectives",
        "references",
    ]
    options = fields["options"]
    assert options["kind"] == "list" and "changes" not in options
    assert options["added"] == [{"key": "court", "label": "Ask a court"}]
    assert options["removed"] == [{"key": "give", "label": "Give blood"}]
    [relabelled] = options["changed"]
    assert relabelled["key"] == "respect"
    assert (relabelled["from"], relabelled["to"]) == ("Respect the refusal", "Respect his refusal")
    assert {"op": "insert", "text": "his"} in relabelled["changes"]
    assert fields["frameworks"]["added"] == ["justice"]
    assert fields["frameworks"]["removed"] == ["beneficence"]
    assert fields["tags"]["added"] == ["jehovahs-witness"] and fields["tags"]["removed"] == []
    assert fields["learning_objectives"]["removed"] == ["Weigh refusal against harm."]
    [edited] = fields["references"]["changed"]
    assert edited["to"] == "GMC. Decision making and consent. 2020 edition."
    assert "key" not in edited
    assert fields["references"]["added"] == [] and fields["references"]["removed"] == []


def test_comparing_a_version_with_itself_lists_no_fields(client, editor):
    _, headers = editor
    body = client.get(
        "/api/v1/cases/blood/diff", params={"from": 2, "to": 2}, headers=headers
    ).json()
    assert body["fields"] == []
    backwards = client.get(
        "/api/v1/cases/blood/diff", params={"from": 2, "to": 1}, headers=headers
    ).json()
    assert fields_of(backwards)["options"]["added"] == [{"key": "give", "label": "Give blood"}]


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"to": 2}, ["query", "from"]),
        ({"from": 1}, ["query", "to"]),
        ({"from": "one", "to": 2}, ["query", "from"]),
        ({"from": 1, "to": "2.5"}, ["query", "to"]),
        ({"from": 0, "to": 2}, ["query", "from"]),
    ],
)
def test_bad_diff_parameters_are_422(client, editor, params, loc):
    _, headers = editor
    response = client.get("/api/v1/cases/blood/diff", params=params, headers=headers)
    assert response.status_code == 422
    assert loc in [e["loc"] for e in response.json()["detail"]]


def test_an_unknown_version_or_case_is_404(client, editor):
    _, headers = editor
    for path, params in [
        ("/api/v1/cases/blood/diff", {"from": 1, "to": 3}),
        ("/api/v1/cases/blood/diff", {"from": 7, "to": 2}),
        ("/api/v1/cases/no-such-case/diff", {"from": 1, "to": 2}),
    ]:
        assert client.get(path, params=params, headers=headers).status_code == 404


def test_students_may_not_see_history_or_diffs(client, session, editor):
    student = make_account(session, role="student")
    api = token_for(client, student.username)
    assert client.get("/api/v1/cases/blood/diff?from=1&to=2", headers=api).status_code == 403
    # Permission comes first: no parameters, a bad slug, the same answer.
    assert client.get("/api/v1/cases/nothing/diff", headers=api).status_code == 403
    sign_in_browser(client, student.username)
    assert client.get("/cases/blood/history").status_code == 403
    assert client.get("/cases/blood/diff?from=1&to=2").status_code == 403
    assert client.get("/cases/blood/diff").status_code == 403


def test_the_openapi_document_lists_the_history_and_curation_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    diff = paths["/api/v1/cases/{slug}/diff"]["get"]
    assert {p["name"] for p in diff["parameters"]} >= {"from", "to"}
    assert {"get", "post"} <= set(paths["/api/v1/cases/{slug}/reviews"])


def test_the_history_page_lists_every_version_with_who_when_why_and_links(client, editor):
    account, _ = editor
    sign_in_browser(client, account.username)
    case_page = soup(client.get("/cases/blood"))
    assert case_page.select_one("#case-tools #history-link")["href"] == "/cases/blood/history"

    response = client.get("/cases/blood/history")
    assert response.status_code == 200
    assert response.template.name == "cases/history.html"
    page = soup(response)
    rows = page.select("#versions tbody tr")
    assert [r["id"] for r in rows] == ["version-2", "version-1"]
    newest = rows[0].get_text(" ", strip=True)
    assert "Dana Keeper" in newest and "Clarified the treatment and the options" in newest
    assert "current" in newest
    assert "Created" in rows[1].get_text(" ", strip=True)
    assert page.select_one("#read-1")["href"] == "/cases/blood?version=1"
    assert page.select_one("#changes-2")["href"] == "/cases/blood/diff?from=1&to=2"
    assert not page.select("#changes-1")
    form = page.select_one("form#compare-form")
    assert form["method"] == "get" and form["action"] == "/cases/blood/diff"
    assert page.select_one("label[for=compare-from]") and page.select_one("label[for=compare-to]")
    assert page.select_one("#compare-from option[selected]")["value"] == "1"
    assert page.select_one("#compare-to option[selected]")["value"] == "2"
    assert client.get("/cases/blood", params={"version": 1}).status_code == 200


def test_the_diff_page_marks_words_for_sighted_and_screen_reader_users(client, editor):
    account, _ = editor
    sign_in_browser(client, account.username)
    response = client.get("/cases/blood/diff", params={"from": 1, "to": 2})
    assert response.status_code == 200
    assert response.template.name == "cases/diff.html"
    page = soup(response)
    vignette = page.select_one("#diff-vignette .diff-text")
    assert [i.get_text() for i in vignette.select("ins")] == ["added: a transfusion"]
    assert [d.get_text() for d in vignette.select("del")] == ["removed: blood"]
    assert vignette.select_one("ins .visually-hidden").get_text() == "added: "
    assert "The patient refuses" in vignette.get_text()
    options = page.select_one("#diff-options")
    assert "Ask a court" in options.select_one("ins").get_text()
    assert "Give blood" in options.select_one("del").get_text()
    assert page.select_one("#diff-frameworks h2").get_text() == "Frameworks"
    assert not page.select("#diff-title-heading, #no-changes")
    assert page.select_one("#back-to-history")["href"] == "/cases/blood/history"
    assert not page.select("[style]")


def test_the_diff_page_says_when_nothing_changed(client, editor):
    account, _ = editor
    sign_in_browser(client, account.username)
    page = soup(client.get("/cases/blood/diff", params={"from": 2, "to": 2}))
    assert "Nothing changed" in page.select_one("#no-changes").get_text()
    assert not page.select(".diff-field")


def test_the_diff_page_answers_bad_parameters_with_a_readable_page(client, editor):
    account, _ = editor
    sign_in_browser(client, account.username)
    missing = client.get("/cases/blood/diff", params={"from": 1})
    assert missing.status_code == 422
    assert soup(missing).select_one("#problems li")
    assert client.get("/cases/blood/diff", params={"from": "x", "to": 2}).status_code == 422
    unknown = client.get("/cases/blood/diff", params={"from": 1, "to": 9})
    assert unknown.status_code == 404 and unknown.template.name == "errors/error.html"
