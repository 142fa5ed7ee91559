"""The case file format: every problem with its line, and exact round trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from ethicsforum.cases.fileformat import (
    CaseFileInvalid,
    parse_case_file,
    render_case_file,
)
from ethicsforum.cases.service import read_case_file
from ethicsforum.config import DEFAULT_FRAMEWORKS

REPO = Path(__file__).resolve().parents[2]
CASE_FILES = sorted((REPO / "cases").glob("*.md"))
FRAMEWORKS = list(DEFAULT_FRAMEWORKS)

GOOD = """---
slug: sample-case
title: A sample case
summary: One sentence.
question: What now?
options:
- key: a
  label: Option A
- key: b
  label: Option B
frameworks:
- autonomy
tags:
- sample
status: draft
version: 2
references:
- A reference.
learning_objectives:
- Explain it.
---
The vignette.

## Facts

- A fact.
"""


def problems_of(text: str, **kwargs) -> list[tuple[int, str, str]]:
    with pytest.raises(CaseFileInvalid) as info:
        parse_case_file(text, frameworks=FRAMEWORKS, source="x.md", **kwargs)
    return [(p.line, p.field, p.message) for p in info.value.problems]


def test_the_library_ships_at_least_twelve_cases():
    assert len(CASE_FILES) >= 12


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_each_shipped_case_is_valid_and_in_canonical_form(path: Path):
    document = read_case_file(path, frameworks=FRAMEWORKS)
    assert render_case_file(document) == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_each_shipped_case_is_a_full_teaching_case(path: Path):
    document = read_case_file(path, frameworks=FRAMEWORKS)
    assert len(document.vignette.split()) >= 250
    assert "## Facts" in document.vignette
    assert "## Discussion prompts" in document.vignette
    assert document.status == "curated"
    assert len(document.references) >= 3
    assert len(document.learning_objectives) >= 3
    assert 2 <= len(document.options) <= 6


def test_the_shipped_cases_cover_every_framework_and_many_settings():
    documents = [read_case_file(p, frameworks=FRAMEWORKS) for p in CASE_FILES]
    used = {f for d in documents for f in d.frameworks}
    assert used == set(FRAMEWORKS)
    assert len({t for d in documents for t in d.tags}) >= 20


def test_a_good_file_parses_with_every_field():
    document = parse_case_file(GOOD, frameworks=FRAMEWORKS)
    assert document.slug == "sample-case"
    assert document.version == 2
    assert document.status == "draft"
    assert [o.key for o in document.options] == ["a", "b"]
    assert document.vignette.startswith("The vignette.")
    assert document.vignette.endswith("- A fact.")


def test_render_then_parse_gives_back_an_equal_document():
    document = parse_case_file(GOOD, frameworks=FRAMEWORKS)
    again = parse_case_file(render_case_file(document), frameworks=FRAMEWORKS)
    assert again == document


def test_optional_fields_round_trip():
    text = GOOD.replace(
        "learning_objectives:\n- Explain it.\n",
        "learning_objectives:\n- Explain it.\nderived_from:\n  slug: other-case\n  version: 3\n"
        "four_box:\n  medical_indications: Sepsis.\n  quality_of_life: Good.\n",
    )
    document = parse_case_file(text, frameworks=FRAMEWORKS)
    assert document.derived_from is not None and document.derived_from.version == 3
    assert document.four_box is not None and document.four_box.quality_of_life == "Good."
    assert render_case_file(document) == text


def test_unicode_and_multiline_text_round_trip():
    document = parse_case_file(
        GOOD.replace("title: A sample case", "title: 'Café: «naïve» — a 95-year-old''s choice'"),
        frameworks=FRAMEWORKS,
    )
    rendered = render_case_file(document)
    assert "Café" in rendered
    assert parse_case_file(rendered, frameworks=FRAMEWORKS) == document


def test_every_problem_is_reported_with_its_line():
    text = """---
slug: Not A Slug
title: ''
question: What now?
options:
- key: a
  label: Only one
frameworks: [autonomy, karma]
tags: [x, x]
status: published
version: 0
colour: blue
---
"""
    found = problems_of(text)
    fields = {field for _, field, _ in found}
    assert {
        "slug",
        "title",
        "summary",
        "options",
        "frameworks",
        "tags",
        "status",
        "version",
        "colour",
    } <= fields
    by_field = {field: (line, message) for line, field, message in found}
    assert by_field["slug"][0] == 2
    assert "lowercase letters" in by_field["slug"][1]
    assert by_field["options"][0] == 5
    assert by_field["frameworks"][0] == 8
    assert "karma" in by_field["frameworks"][1]
    assert by_field["tags"][0] == 9
    assert by_field["status"][0] == 10
    assert "draft, review, curated, retired" in by_field["status"][1]
    assert by_field["version"][0] == 11
    assert by_field["colour"][0] == 12
    assert "not a field" in by_field["colour"][1]
    assert any(f.startswith("vignette") for f in fields)
    assert found == sorted(found, key=lambda p: p[0])


def test_a_problem_inside_a_list_names_the_item_and_its_line():
    text = GOOD.replace("- key: b\n  label: Option B", "- key: B b\n  label: ''")
    found = problems_of(text)
    assert (9, "options[1].key") in {(line, field) for line, field, _ in found}
    assert (10, "options[1].label") in {(line, field) for line, field, _ in found}


def test_repeated_option_keys_are_refused():
    found = problems_of(GOOD.replace("- key: b", "- key: a"))
    assert any("appears more than once" in m for _, _, m in found)


def test_a_key_given_twice_is_reported_not_silently_overwritten():
    found = problems_of(GOOD.replace("question: What now?", "question: What now?\ntitle: Again"))
    assert (6, "title") in {(line, field) for line, field, _ in found}


def test_text_that_yaml_reads_as_another_type_is_explained():
    found = problems_of(GOOD.replace("title: A sample case", "title: 2024-01-01"))
    assert any(field == "title" and "quote it" in message for _, field, message in found)


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ("no front matter\n", 1, "open with a '---' line"),
        ("---\nslug: x\n", 3, "closing the front matter"),
        ("---\nslug: [unclosed\n---\nbody\n", 2, "not valid YAML"),
        ("---\n- a list\n---\nbody\n", 2, "mapping"),
        ("---\n---\nbody\n", 2, "mapping"),
    ],
)
def test_a_broken_file_gets_one_clear_problem(text: str, line: int, expected: str):
    [(got_line, _, message)] = problems_of(text)
    assert got_line == line
    assert expected in message


def test_the_slug_must_match_the_file_name():
    found = problems_of(GOOD, expected_slug="other-name")
    assert (2, "slug") in {(line, field) for line, field, _ in found}


def test_frameworks_are_checked_against_the_configured_set():
    text = GOOD.replace("- autonomy\n", "- non-maleficence\n")
    assert problems_of(text)
    document = parse_case_file(text, frameworks=FRAMEWORKS + ["non-maleficence"])
    assert document.frameworks == ["non-maleficence"]


def test_windows_line_endings_and_a_byte_order_mark_are_accepted():
    document = parse_case_file("\ufeff" + GOOD.replace("\n", "\r\n"), frameworks=FRAMEWORKS)
    assert document.slug == "sample-case"


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path):
    path = tmp_path / "sample-case.md"
    path.write_bytes(GOOD.encode("utf-8").replace(b"One sentence.", b"Caf\xe9"))
    with pytest.raises(CaseFileInvalid) as info:
        read_case_file(path, frameworks=FRAMEWORKS)
    assert "UTF-8" in str(info.value)
    assert str(path) in str(info.value)
