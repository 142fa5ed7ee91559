"""Front matter that would cost the server time or memory is refused quickly, with its line.

Anchors and aliases, deep nesting, too many nodes and over-long values: every way in that
parses a case file (check, import, bundles, the command line) answers 422 or exit 1.
"""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

from ethicsforum.cases.fileformat import CaseFileInvalid, parse_case_file
from tests.cases.test_reuse import ZIP, make_zip, manifest_for
from tests.conftest import SECRET
from tests.factories import signed_in

MARKDOWN = {"Content-Type": "text/markdown"}

# The audit's document (339 bytes there): nine levels of nine aliases, 9**9 strings once expanded.
LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)


def _block_mapping(depth: int) -> str:
    return "".join(f"{' ' * i}k{i}:\n" for i in range(depth)) + f"{' ' * depth}x\n"


FRONTS = {
    "billion-laughs": (LAUGHS, 1, "anchor"),
    "self-alias": ("x: &x [*x]\n", 1, "anchor"),
    "alias-only": ("title: *t\n", 1, "alias"),
    "flow-sequences": ("title: " + "[" * 500 + "\n", 1, "nested"),
    "flow-mappings": ("title: " + "{a: " * 500 + "\n", 1, "nested"),
    "block-mappings": (_block_mapping(300), 21, "nested"),
    "block-sequences": ("tags:\n" + "".join(f"{' ' * i}- \n" for i in range(300)), 21, "nested"),
    "many-nodes": ("tags: [" + ", ".join(["a"] * 6000) + "]\n", 1, "values"),
    "long-scalar": ("title: " + "x" * 30_000 + "\n", 1, "characters"),
}


def case_text(front: str) -> str:
    return f"---\n{front}---\nThe vignette.\n"


def expected_line(front_line: int) -> int:
    return front_line + 1  # the opening '---' is line 1


@pytest.mark.parametrize("name", FRONTS)
def test_each_expensive_front_matter_is_one_clear_problem_with_its_line(name):
    front, line, word = FRONTS[name]
    # CPU seconds of this process (the app runs in it), not wall time: a blow-up is work,
    # and a machine busy with other tests must not look like one.
    started = time.process_time()
    with pytest.raises(CaseFileInvalid) as info:
        parse_case_file(case_text(front), source="x.md")
    assert time.process_time() - started < 1
    [problem] = info.value.problems
    assert problem.line == expected_line(line), problem
    assert word in problem.message, problem
    assert str(problem).startswith(f"x.md:{expected_line(line)}: ")


def test_the_billion_laughs_document_is_as_small_as_the_audits():
    assert len(LAUGHS.encode()) < 350


def test_a_front_matter_larger_than_any_case_needs_is_refused():
    front = "references:\n" + "".join(f"- {'r' * 900}\n" for _ in range(200))
    with pytest.raises(CaseFileInvalid) as info:
        parse_case_file(case_text(front), source="x.md")
    [problem] = info.value.problems
    assert problem.line == 1 and "front matter" in problem.message


def test_control_characters_in_the_front_matter_are_a_problem_not_a_crash():
    with pytest.raises(CaseFileInvalid) as info:
        parse_case_file(case_text("title: a\x00b\n"), source="x.md")
    assert "YAML" in info.value.problems[0].message


@pytest.fixture
def writer(client, session):
    return signed_in(client, session, "faculty")


@pytest.mark.parametrize("name", FRONTS)
@pytest.mark.parametrize("path", ["/api/v1/cases/check", "/api/v1/cases/import"])
def test_the_api_answers_422_with_the_line_quickly(client, writer, name, path):
    front, line, word = FRONTS[name]
    # CPU seconds of this process (the app runs in it), not wall time: a blow-up is work,
    # and a machine busy with other tests must not look like one.
    started = time.process_time()
    response = client.post(path, content=case_text(front).encode(), headers={**writer, **MARKDOWN})
    assert time.process_time() - started < 1
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["line"] == expected_line(line)
    assert problem["loc"][0] == "body"
    assert word in problem["msg"]


@pytest.mark.parametrize("name", ["billion-laughs", "self-alias", "flow-sequences"])
def test_a_bundle_holding_such_a_file_is_refused_whole(client, writer, name):
    front, line, word = FRONTS[name]
    files = {"bomb-case.md": case_text(front).encode()}
    bundle = make_zip({"manifest.json": manifest_for(files), **files})
    response = client.post("/api/v1/cases/import-bundle", content=bundle, headers={**writer, **ZIP})
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["file"] == "bomb-case.md"
    assert problem["line"] == expected_line(line) and word in problem["msg"]


@pytest.mark.parametrize("command", ["validate", "import"])
def test_the_command_line_prints_the_problem_and_exits_1(command, settings, tmp_path, monkeypatch):
    from ethicsforum.cli import app

    monkeypatch.setenv("ETHICSFORUM_SECRET_KEY", SECRET)
    monkeypatch.setenv("ETHICSFORUM_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("ETHICSFORUM_DATABASE_URL", settings.database_url)
    paths = []
    for name in ("billion-laughs", "self-alias", "flow-mappings", "block-mappings"):
        path = tmp_path / f"{name}.md"
        path.write_text(case_text(FRONTS[name][0]), encoding="utf-8")
        paths.append(path)
    result = CliRunner().invoke(app, ["cases", command, *map(str, paths)])
    assert result.exit_code == 1, result.output
    for path in paths:
        front, line, word = FRONTS[path.stem]
        assert f"{path}:{expected_line(line)}: " in result.output
    assert "anchor" in result.output and "nested" in result.output
