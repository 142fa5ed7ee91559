"""The case library's JSON API, as the contract describes it."""

from __future__ import annotations

import pytest

from ethicsforum.cases import service
from ethicsforum.cases.fileformat import parse_case_file
from tests.conftest import make_settings
from tests.factories import make_case, signed_in


@pytest.fixture
def student(client, session):
    return signed_in(client, session, "student")


@pytest.fixture
def faculty(client, session):
    return signed_in(client, session, "faculty")


@pytest.fixture
def committee(client, session):
    return signed_in(client, session, "committee")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/cases",
        "/api/v1/cases/test-case",
        "/api/v1/cases/test-case/versions",
        "/api/v1/cases/test-case/export",
    ],
)
def test_the_case_api_needs_a_signed_in_account(client, session, path):
    make_case(session)
    response = client.get(path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    bad = client.get(path, headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401


def test_listing_cases_returns_summaries_and_a_total(client, library, student):
    response = client.get("/api/v1/cases", params={"per_page": 5}, headers=student)
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == len(library)
    assert len(body["items"]) == 5
    item = body["items"][0]
    assert set(item) == {
        "slug",
        "title",
        "summary",
        "status",
        "frameworks",
        "tags",
        "version",
        "updated_at",
    }


def test_search_and_filters_through_the_api(client, library, student):
    found = client.get(
        "/api/v1/cases", params={"q": "pharmacist", "framework": "justice"}, headers=student
    ).json()
    assert [i["slug"] for i in found["items"]] == [
        "conscientious-objection-emergency-contraception"
    ]
    tagged = client.get("/api/v1/cases", params={"tag": "hiv"}, headers=student).json()
    assert [i["slug"] for i in tagged["items"]] == ["hiv-status-partner-disclosure"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"per_page": "1000"}, "per_page"),
        ({"status": "published"}, "status"),
        ({"framework": "karma"}, "framework"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_bad_query_parameters_get_422_naming_the_parameter(client, student, params, field):
    response = client.get("/api/v1/cases", params=params, headers=student)
    assert response.status_code == 422
    assert any(field in e["loc"] for e in response.json()["detail"])


def test_every_bad_parameter_is_reported_at_once(client, student):
    response = client.get("/api/v1/cases", params={"page": "0", "per_page": "0"}, headers=student)
    assert response.status_code == 422
    locs = {tuple(e["loc"]) for e in response.json()["detail"]}
    assert {("query", "page"), ("query", "per_page")} <= locs


def test_a_case_in_full_with_its_citation(client, library, student):
    response = client.get("/api/v1/cases/duty-to-warn-threat", headers=student)
    assert response.status_code == 200
    case = response.json()
    for key in (
        "slug",
        "title",
        "summary",
        "vignette",
        "question",
        "options",
        "frameworks",
        "tags",
        "status",
        "version",
        "references",
        "updated_at",
    ):
        assert key in case
    assert case["options"][0].keys() == {"key", "label"}
    assert "<h2>Facts</h2>" in case["vignette_html"]
    assert case["citation"]["url"].endswith("/cases/duty-to-warn-threat?version=1")
    assert case["citation"]["version"] == 1


def test_an_unknown_slug_is_404(client, student):
    response = client.get("/api/v1/cases/no-such-case", headers=student)
    assert response.status_code == 404
    assert "no-such-case" in response.json()["detail"]


def test_students_see_only_curated_cases_and_library_editors_see_all(
    client, session, student, committee, faculty
):
    make_case(session, slug="a-draft", status="draft")
    make_case(session, slug="a-curated", status="curated")
    listed = client.get("/api/v1/cases", headers=student).json()
    assert [i["slug"] for i in listed["items"]] == ["a-curated"]
    assert client.get("/api/v1/cases/a-draft", headers=student).status_code == 404
    # Committee members review drafts and cases in review, so they see them as faculty do.
    for headers in (faculty, committee):
        listed = client.get("/api/v1/cases", headers=headers).json()
        assert {i["slug"] for i in listed["items"]} == {"a-draft", "a-curated"}
        assert client.get("/api/v1/cases/a-draft", headers=headers).status_code == 200


def test_versions_are_listed_for_those_who_keep_the_library(client, session, student, committee):
    make_case(session, version=2)
    response = client.get("/api/v1/cases/test-case/versions", headers=committee)
    assert response.status_code == 200
    [entry] = response.json()
    assert entry["version"] == 2
    assert entry["change_note"] == "Imported"
    assert {"version", "updated_at", "updated_by", "change_note"} <= entry.keys()
    assert client.get("/api/v1/cases/test-case/versions", headers=student).status_code == 403


def test_a_version_can_be_asked_for_by_number(client, session, student, committee):
    make_case(session, version=2)
    assert client.get("/api/v1/cases/test-case?version=2", headers=committee).json()["version"] == 2
    assert client.get("/api/v1/cases/test-case?version=1", headers=committee).status_code == 404
    assert client.get("/api/v1/cases/test-case?version=2", headers=student).status_code == 200
    assert client.get("/api/v1/cases/test-case?version=0", headers=student).status_code == 422


def test_export_is_the_case_file_and_imports_elsewhere_unchanged(
    client, library, committee, student, settings, tmp_path
):
    response = client.get("/api/v1/cases/refusal-of-blood-products/export", headers=committee)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    assert (settings.cases_dir / "refusal-of-blood-products.md").read_text() == response.text
    assert (
        client.get("/api/v1/cases/refusal-of-blood-products/export", headers=student).status_code
        == 403
    )

    # Another installation: a separate SQLite database built from the migrations.
    from ethicsforum import migrate
    from ethicsforum.db import make_engine, write_session

    other = make_settings(f"sqlite:///{tmp_path / 'other.db'}", tmp_path)
    migrate.upgrade(other)
    engine = make_engine(other)
    with write_session(engine) as other_session:
        document = parse_case_file(response.text, frameworks=other.frameworks)
        service.import_case(other_session, document=document)
        again = service.export_case(other_session, slug="refusal-of-blood-products", statuses=None)
    engine.dispose()
    assert again == response.text


def test_the_openapi_document_lists_the_case_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/cases",
        "/api/v1/cases/{slug}",
        "/api/v1/cases/{slug}/versions",
        "/api/v1/cases/{slug}/export",
    ):
        assert "get" in paths[path]
