"""The case library's service: import, visibility, full-text search, filters and pages."""

from __future__ import annotations

import pytest
from sqlmodel import select

from ethicsforum.cases import service
from ethicsforum.cases.fileformat import render_case_file
from ethicsforum.cases.models import CaseVersion
from tests.factories import case_document, make_case

CURATED = frozenset({"curated"})


def slugs(page: service.CasePage) -> list[str]:
    return [item.case.slug for item in page.items]


def test_importing_a_case_stores_it_exactly_as_the_file_says(session):
    result = make_case(session, version=4, status="review")
    assert result.created
    view = service.get_case(session, slug="test-case", statuses=None)
    assert view.case.current_version == 4
    assert view.case.status == "review"
    assert render_case_file(service.document_of(view)) == render_case_file(
        case_document(version=4, status="review")
    )
    assert "<em>Markdown</em>" in view.version.vignette_html


def test_importing_the_same_case_again_changes_nothing(session):
    make_case(session)
    again = make_case(session)
    assert not again.created
    versions = session.exec(select(CaseVersion)).all()
    assert len(versions) == 1


def test_importing_different_content_under_a_taken_slug_is_refused(session):
    make_case(session)
    with pytest.raises(service.CaseConflict):
        make_case(session, title="Another title")
    session.rollback()
    view = service.get_case(session, slug="test-case", statuses=None)
    assert view.version.title == "A test case"


def test_a_case_not_visible_to_the_viewer_is_not_found(session):
    make_case(session, status="draft")
    with pytest.raises(service.CaseNotFound):
        service.get_case(session, slug="test-case", statuses=CURATED)
    assert service.get_case(session, slug="test-case", statuses=None).case.status == "draft"
    assert service.list_cases(session, statuses=CURATED).total == 0


def test_an_unknown_version_is_not_found(session):
    make_case(session, version=2)
    with pytest.raises(service.CaseNotFound):
        service.get_case(session, slug="test-case", statuses=None, version=1)
    with pytest.raises(service.CaseNotFound):
        service.get_case(session, slug="nope", statuses=None)


def test_without_history_only_the_current_version_may_be_asked_for(session):
    make_case(session, version=3)
    assert (
        service.get_case(
            session, slug="test-case", statuses=None, version=3, history=False
        ).version.version
        == 3
    )
    with pytest.raises(service.CaseNotFound):
        service.get_case(session, slug="test-case", statuses=None, version=2, history=False)


def test_the_library_lists_by_title_and_counts_everything(session, library):
    page = service.list_cases(session, statuses=CURATED, per_page=100)
    assert page.total == len(library) >= 12
    titles = [item.version.title.lower() for item in page.items]
    assert titles == sorted(titles)


def test_pages_split_the_library_without_overlap(session, library):
    first = service.list_cases(session, statuses=CURATED, page=1, per_page=5)
    second = service.list_cases(session, statuses=CURATED, page=2, per_page=5)
    last = service.list_cases(session, statuses=CURATED, page=first.pages, per_page=5)
    beyond = service.list_cases(session, statuses=CURATED, page=first.pages + 1, per_page=5)
    assert len(first.items) == len(second.items) == 5
    assert not set(slugs(first)) & set(slugs(second))
    assert 1 <= len(last.items) <= 5
    assert beyond.items == [] and beyond.total == first.total


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Jehovah", "refusal-of-blood-products"),  # in the vignette
        ("BRCA1", "brca-result-and-relatives"),  # in the title and summary
        ("pharmacist", "conscientious-objection-emergency-contraception"),
        ("triage", "icu-bed-allocation-surge"),  # a tag
        ("candour", "medication-error-disclosure"),
        ("sedat", "palliative-sedation-end-of-life"),  # a prefix
    ],
)
def test_full_text_search_finds_a_case_by_its_words(session, library, query, expected):
    found = service.list_cases(session, statuses=CURATED, q=query)
    assert expected in slugs(found)
    assert found.total == len(found.items) >= 1


def test_every_word_of_a_search_must_match(session, library):
    both = service.list_cases(session, statuses=CURATED, q="interpreter son")
    assert slugs(both) == ["interpreter-family-withholding-diagnosis"]
    assert service.list_cases(session, statuses=CURATED, q="interpreter zebra").total == 0


def test_a_title_match_ranks_above_a_passing_mention(session):
    make_case(
        session,
        slug="mentions",
        title="Something else",
        vignette="A long story that mentions capacity once among many other words.",
    )
    make_case(
        session,
        slug="about",
        title="Capacity and refusal",
        vignette="The whole vignette is about something.",
    )
    found = service.list_cases(session, statuses=CURATED, q="capacity")
    assert slugs(found) == ["about", "mentions"]


@pytest.mark.parametrize(
    "query",
    ['"', "'; DROP TABLE ethics_case; --", "NEAR(", "a AND OR NOT", "*", "%_", "title:x", "()"],
)
def test_search_syntax_in_a_query_is_harmless(session, library, query):
    found = service.list_cases(session, statuses=CURATED, q=query)
    assert found.total >= 0
    assert service.count_cases(session) == len(library)


def test_search_follows_the_current_version_only(session):
    make_case(session, slug="versioned", title="Ventilator triage")
    found = service.list_cases(session, statuses=CURATED, q="ventilator")
    assert slugs(found) == ["versioned"]


def test_filter_by_framework_and_tag(session, library):
    confidential = service.list_cases(
        session, statuses=CURATED, framework="confidentiality", per_page=100
    )
    assert confidential.total >= 3
    for item in confidential.items:
        assert "confidentiality" in item.version.frameworks
    tagged = service.list_cases(session, statuses=CURATED, tag="triage")
    assert slugs(tagged) == ["icu-bed-allocation-surge"]
    both = service.list_cases(
        session, statuses=CURATED, tag="triage", framework="justice", q="ventilation"
    )
    assert slugs(both) == ["icu-bed-allocation-surge"]
    assert (
        service.list_cases(
            session, statuses=CURATED, tag="triage", framework="confidentiality"
        ).total
        == 0
    )


def test_filter_by_status_within_what_the_viewer_may_see(session):
    make_case(session, slug="draft-one", status="draft")
    make_case(session, slug="curated-one", status="curated")
    assert slugs(service.list_cases(session, statuses=None, status="draft")) == ["draft-one"]
    assert slugs(service.list_cases(session, statuses=CURATED, status="draft")) == []
    assert service.list_cases(session, statuses=None).total == 2


def test_library_tags_are_those_of_visible_cases(session):
    make_case(session, slug="shown", tags=["visible-tag"])
    make_case(session, slug="hidden", status="draft", tags=["secret-tag"])
    assert service.library_tags(session, statuses=CURATED) == ["visible-tag"]
    assert service.library_tags(session, statuses=None) == ["secret-tag", "visible-tag"]


def test_export_gives_back_the_shipped_file_byte_for_byte(session, library, settings):
    for path in sorted(settings.cases_dir.glob("*.md")):
        exported = service.export_case(session, slug=path.stem, statuses=None)
        assert exported == path.read_text(encoding="utf-8")


def test_a_directory_import_reports_bad_files_and_keeps_the_good(session, tmp_path, settings):
    good = tmp_path / "test-case.md"
    good.write_text(render_case_file(case_document()), encoding="utf-8")
    bad = tmp_path / "broken.md"
    bad.write_text("---\nslug: broken\n---\n", encoding="utf-8")
    result = service.import_directory(session, paths=[bad, good], frameworks=settings.frameworks)
    assert result.created == ["test-case"]
    assert result.problems and all(str(bad) in p for p in result.problems)
    assert service.count_cases(session) == 1
