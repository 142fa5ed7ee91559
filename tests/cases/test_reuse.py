"""Reuse and provenance: copies, discussions started from a case, dossiers and bundles."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from ethicsforum.accounts import cohorts
from ethicsforum.cases.fileformat import render_case_file
from ethicsforum.cases.models import EthicsCase
from ethicsforum.db import make_engine
from ethicsforum.discussions.models import Discussion
from ethicsforum.discussions.present import pseudonym
from tests.conftest import SECRET, fresh, make_settings
from tests.factories import case_document, make_account, make_case, sign_in_browser, token_for

ZIP = {"Content-Type": "application/zip"}
FOUR_BOX = {
    "medical_indications": "Transfusion is the only way to survive the bleed.",
    "patient_preferences": "She refused blood products, in writing, last year.",
}


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def count_cases(session: Session) -> int:
    return fresh(session).exec(select(func.count()).select_from(EthicsCase)).one()


@pytest.fixture
def people(client, session):
    """A faculty member running a cohort, a committee member, a student, and their tokens."""
    accounts = {
        "prof": make_account(session, username="prof", role="faculty", display_name="Dr Prof"),
        "lone": make_account(session, username="lone", role="faculty"),
        "kim": make_account(session, username="kim", role="committee"),
        "ann": make_account(session, username="ann", display_name="Annabel Student"),
    }
    cohort = cohorts.create_cohort(session, name="Ethics 101", creator=accounts["prof"])
    cohorts.join(session, code=cohort.join_code, account=accounts["ann"])
    headers = {name: token_for(client, name) for name in accounts}
    return {"cohort": cohort, "h": headers, **accounts}


# ---- copies and provenance ----------------------------------------------------------------


def test_a_copy_is_a_draft_that_names_its_source_and_both_pages_show_it(client, session, people):
    make_case(session, slug="source-case", title="The source", four_box=FOUR_BOX)
    h = people["h"]
    revised = case_document(title="The source, revised").model_dump(
        mode="json", exclude={"slug", "status", "version"}
    )
    response = client.put(
        "/api/v1/cases/source-case", json={**revised, "change_note": "Sharper"}, headers=h["prof"]
    )
    assert response.status_code == 200 and response.json()["version"] == 2

    current = client.post(
        "/api/v1/cases/source-case/copy", json={"slug": "copy-now"}, headers=h["kim"]
    )
    assert current.status_code == 201, current.text
    body = current.json()
    assert body["derived_from"] == {"slug": "source-case", "version": 2}
    assert (body["status"], body["version"], body["title"]) == ("draft", 1, "The source, revised")
    older = client.post(
        "/api/v1/cases/source-case/copy",
        json={"slug": "copy-old", "version": 1, "title": "For nurses"},
        headers=h["prof"],
    )
    assert older.status_code == 201, older.text
    assert older.json()["derived_from"] == {"slug": "source-case", "version": 1}
    assert older.json()["title"] == "For nurses"
    assert older.json()["four_box"]["patient_preferences"] == FOUR_BOX["patient_preferences"]
    [history] = client.get("/api/v1/cases/copy-old/versions", headers=h["prof"]).json()
    assert history["change_note"] == "Copied from source-case version 1"
    assert history["updated_by"] == "prof"

    sign_in_browser(client, "prof")
    copy_page = soup(client.get("/cases/copy-old"))
    derived = copy_page.select_one("#derived-from")
    assert "Derived from The source (version 1)" in " ".join(derived.text.split())
    assert derived.select_one("a")["href"] == "/cases/source-case?version=1"
    source_page = soup(client.get("/cases/source-case"))
    assert [li["id"] for li in source_page.select("#copies li")] == [
        "copy-copy-now",
        "copy-copy-old",
    ]
    assert source_page.select_one("#copy-copy-old a")["href"] == "/cases/copy-old"
    assert "copied from version 1" in source_page.select_one("#copy-copy-old").text

    # The copies are drafts: a student reading the curated source is not told of them.
    client.cookies.clear()
    sign_in_browser(client, "ann")
    assert not soup(client.get("/cases/source-case")).select_one("#copies")


def test_a_copy_needs_a_free_valid_slug_and_an_existing_source(client, session, people):
    make_case(session, slug="source-case")
    make_case(session, slug="taken", title="Taken")
    h = people["h"]
    before = count_cases(session)

    def copy(source, body, who="prof"):
        return client.post(f"/api/v1/cases/{source}/copy", json=body, headers=h[who])

    assert copy("source-case", {"slug": "taken"}).status_code == 409
    invalid = copy("source-case", {"slug": "Not A Slug", "title": ""})
    assert invalid.status_code == 422
    assert {tuple(e["loc"]) for e in invalid.json()["detail"]} == {
        ("body", "slug"),
        ("body", "title"),
    }
    assert copy("source-case", {"slug": "new-one", "version": 7}).status_code == 404
    assert copy("no-such-case", {"slug": "new-one"}).status_code == 404
    assert copy("source-case", {"slug": "new-one"}, who="ann").status_code == 403
    assert count_cases(session) == before
    assert client.get("/api/v1/cases/taken", headers=h["prof"]).json()["title"] == "Taken"


def test_the_copy_form_makes_a_copy_and_answers_problems_beside_the_field(client, session, people):
    make_case(session, slug="source-case", title="The source")
    make_case(session, slug="taken")
    csrf = sign_in_browser(client, "kim")
    page = client.get("/cases/source-case")
    assert soup(page).select_one("#case-tools #copy-link")["href"] == "/cases/source-case/copy"
    form_page = client.get("/cases/source-case/copy")
    assert form_page.status_code == 200 and form_page.template.name == "cases/copy.html"
    form = soup(form_page).select_one("form#copy-form")
    assert form["action"] == "/cases/source-case/copy"
    assert form.select_one("input[name=csrf_token]") and form.select_one("label[for=slug]")

    def submit(**fields):
        data = {"csrf_token": csrf, "version": "1", **fields}
        return client.post("/cases/source-case/copy", data=data, follow_redirects=False)

    bad = submit(slug="Bad Slug!")
    assert bad.status_code == 422
    assert "lowercase letters" in soup(bad).select_one("#slug-error").text
    assert soup(bad).select_one("#slug")["value"] == "Bad Slug!"
    taken = submit(slug="taken")
    assert (
        taken.status_code == 409 and "already exists" in soup(taken).select_one("#slug-error").text
    )
    made = submit(slug="kims-copy", title="Kim's session")
    assert made.status_code == 303 and made.headers["location"].endswith("/cases/kims-copy")
    # A draft: the committee member who made it reads it through the API as faculty would.
    created = client.get("/api/v1/cases/kims-copy", headers=people["h"]["prof"]).json()
    assert created["title"] == "Kim's session"
    assert created["derived_from"] == {"slug": "source-case", "version": 1}

    client.cookies.clear()
    sign_in_browser(client, "ann")
    assert not soup(client.get("/cases/source-case")).select_one("#copy-link")
    assert client.get("/cases/source-case/copy").status_code == 403


# ---- starting a discussion ----------------------------------------------------------------


def test_faculty_start_a_discussion_from_the_case_page_through_the_cohort_route(
    client, session, people
):
    make_case(session, slug="to-discuss", title="To discuss")
    csrf = sign_in_browser(client, "prof")
    link = soup(client.get("/cases/to-discuss")).select_one("#case-tools #discuss-link")
    assert link["href"] == "/cases/to-discuss/discuss"
    page = client.get(link["href"])
    assert page.status_code == 200 and page.template.name == "cases/discuss.html"
    form = soup(page).select_one("form#discuss-form")
    cohort_route = f"/cohorts/{people['cohort'].id}/discussions"
    assert form.select_one("input[name=case_slug]")["value"] == "to-discuss"
    [button] = form.select("#cohort-choice button[type=submit]")
    assert button["formaction"] == cohort_route and "Ethics 101" in button.text
    assert not soup(page).select_one("#status-note")  # a curated case

    response = client.post(
        button["formaction"],
        data={
            "csrf_token": csrf,
            "case_slug": "to-discuss",
            "title": "Monday seminar",
            "anonymity": "named",
            "early_rebuttals": "on",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    discussion = fresh(session).exec(select(Discussion)).one()
    assert response.headers["location"].endswith(f"/discussions/{discussion.id}")
    assert (discussion.title, discussion.anonymity) == ("Monday seminar", "named")
    assert discussion.early_rebuttals and not discussion.post_first
    assert discussion.cohort_id == people["cohort"].id


def test_the_discussion_form_is_only_for_faculty_who_run_a_cohort(client, session, people):
    make_case(session, slug="to-discuss")
    make_case(session, slug="draft-case", status="draft")
    for who in ("ann", "kim"):
        client.cookies.clear()
        sign_in_browser(client, who)
        assert not soup(client.get("/cases/to-discuss")).select_one("#discuss-link")
        assert client.get("/cases/to-discuss/discuss").status_code == 403
    client.cookies.clear()
    sign_in_browser(client, "lone")  # faculty, but runs no cohort
    assert not soup(client.get("/cases/to-discuss")).select_one("#discuss-link")
    assert soup(client.get("/cases/to-discuss/discuss")).select_one("#no-cohorts")
    client.cookies.clear()
    sign_in_browser(client, "prof")
    note = soup(client.get("/cases/draft-case/discuss")).select_one("#status-note")
    assert "draft" in note.text and "not curated" in note.text


# ---- the dossier --------------------------------------------------------------------------


def _closed_discussion_with_exemplary_position(client, people, *, close: bool = True):
    h = people["h"]
    discussion = client.post(
        "/api/v1/discussions",
        json={
            "case_slug": "dossier-case",
            "cohort_id": people["cohort"].id,
            "anonymity": "anonymous_to_peers",
            "post_first": False,
        },
        headers=h["prof"],
    ).json()
    position = client.post(
        f"/api/v1/discussions/{discussion['id']}/positions",
        json={
            "option": "wait",
            "summary": "Honour the refusal she made with capacity",
            "body": "Her *written* refusal still speaks for her.",
            "claims": [
                {"framework": "autonomy", "direction": "supports", "text": "A valid refusal."},
                {"framework": "justice", "direction": "challenges", "text": "Others need it."},
            ],
        },
        headers=h["ann"],
    )
    assert position.status_code == 201, position.text
    marked = client.put(
        f"/api/v1/positions/{position.json()['id']}/exemplary",
        json={"note": "Weighs autonomy against justice explicitly."},
        headers=h["prof"],
    )
    assert marked.status_code == 200, marked.text
    if close:
        closed = client.patch(
            f"/api/v1/discussions/{discussion['id']}", json={"phase": "closed"}, headers=h["prof"]
        )
        assert closed.status_code == 200
    return discussion["id"]


def test_the_dossier_has_the_case_four_box_anonymised_reasoning_and_citation(
    client, session, people
):
    make_case(session, slug="dossier-case", title="Blood and belief", four_box=FOUR_BOX)
    discussion = session.get(Discussion, _closed_discussion_with_exemplary_position(client, people))
    alias = pseudonym(discussion.pseudonym_key, people["ann"].id)
    h = people["h"]
    response = client.get("/api/v1/cases/dossier-case/dossier?format=markdown", headers=h["kim"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    text = response.text
    assert text.startswith("# Blood and belief\n")
    for expected in (
        "## Four-box analysis",
        FOUR_BOX["medical_indications"],
        FOUR_BOX["patient_preferences"],
        "### 1. A position: Wait",
        "**Honour the refusal she made with capacity**",
        # The student's Markdown is quoted as text, escaped, so it makes no element.
        "Her \\*written\\* refusal still speaks for her.",
        "- *autonomy*, supports: A valid refusal.",
        "**Why it is exemplary:** Weighs autonomy against justice explicitly.",
        "## Citation",
        "Blood and belief. ethicsforum case library, version 1, ",
        "http://testserver/cases/dossier-case?version=1",
    ):
        assert expected in text, expected
    for leak in ("Annabel", "Dr Prof", alias):  # no name and no pseudonym
        assert leak not in text, leak
    assert "ann" not in text.split() and "prof" not in text.split()
    assert client.get("/api/v1/cases/dossier-case/dossier", headers=h["ann"]).status_code == 403
    assert (
        client.get("/api/v1/cases/dossier-case/dossier?format=pdf", headers=h["kim"]).status_code
        == 422
    )

    sign_in_browser(client, "kim")
    link = soup(client.get("/cases/dossier-case")).select_one("#case-tools #dossier-link")
    assert link["href"] == "/cases/dossier-case/dossier"
    page = client.get(link["href"])
    assert page.status_code == 200 and page.template.name == "cases/dossier.html"
    html = soup(page)
    assert FOUR_BOX["patient_preferences"] in html.select_one("#dossier-four-box").text
    [item] = html.select("#dossier-exemplary li.exemplary-item")
    assert "Honour the refusal" in item.text and "Weighs autonomy" in item.text
    assert "Annabel" not in page.text and alias not in page.text
    assert "Dr Prof" not in html.select_one("#dossier").text
    assert "/cases/dossier-case?version=1" in html.select_one("#dossier-citation").text
    assert "no-print" in html.select_one("#dossier-actions")["class"]
    download = client.get(html.select_one("#dossier-markdown")["href"])
    assert download.status_code == 200 and download.text == text


def test_the_dossier_leaves_out_reasoning_from_discussions_still_open(client, session, people):
    make_case(session, slug="dossier-case", title="Blood and belief")
    _closed_discussion_with_exemplary_position(client, people, close=False)
    text = client.get("/api/v1/cases/dossier-case/dossier", headers=people["h"]["prof"]).text
    assert "Honour the refusal" not in text
    assert "No reasoning from a closed discussion" in text
    assert "## Four-box analysis" not in text


# ---- bundles ------------------------------------------------------------------------------


def make_zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def manifest_for(files: dict[str, bytes], **changes: dict[str, object]) -> bytes:
    cases = [
        {
            "slug": name.removesuffix(".md"),
            "version": 1,
            "file": name,
            "sha256": hashlib.sha256(data).hexdigest(),
            **changes.get(name, {}),
        }
        for name, data in files.items()
    ]
    manifest = {"format": 1, "exported_at": "2026-01-01T00:00:00Z", "cases": cases}
    return json.dumps(manifest).encode()


def case_file(**overrides) -> bytes:
    return render_case_file(case_document(**overrides)).encode()


@pytest.fixture
def second_library(tmp_path, sqlite_template):
    """Another installation: its own app on a new SQLite file, with an admin."""
    path = tmp_path / "second" / "ethicsforum.db"
    path.parent.mkdir()
    shutil.copyfile(sqlite_template, path)
    settings = make_settings(f"sqlite:///{path}", path.parent)
    engine = make_engine(settings)
    with Session(engine, expire_on_commit=False) as session:
        make_account(session, username="other-admin", role="admin")
    from ethicsforum.main import create_app

    with TestClient(create_app(settings)) as client:
        yield client, token_for(client, "other-admin"), settings
    engine.dispose()


def test_a_bundle_round_trips_into_another_installation_byte_for_byte(
    client, session, people, second_library
):
    make_case(session, slug="first-case", four_box=FOUR_BOX, tags=["blood", "refusal"])
    make_case(session, slug="second-case", status="draft", title="Ünïcode — “quoted”")
    h = people["h"]
    assert (
        client.post(
            "/api/v1/cases/first-case/copy", json={"slug": "third-case"}, headers=h["prof"]
        ).status_code
        == 201
    )
    slugs = ["first-case", "second-case", "third-case"]
    response = client.get(
        "/api/v1/cases/export",
        params={"slugs": "first-case,second-case,third-case"},
        headers=h["prof"],
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith("attachment;")
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.namelist() == ["manifest.json", *[f"{s}.md" for s in slugs]]
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["format"] == 1 and manifest["exported_at"].endswith("Z")
    originals = {}
    for entry, slug in zip(manifest["cases"], slugs, strict=True):
        single = client.get(f"/api/v1/cases/{slug}/export", headers=h["prof"]).content
        originals[slug] = single
        assert entry == {
            "slug": slug,
            "version": 1,
            "file": f"{slug}.md",
            "sha256": hashlib.sha256(single).hexdigest(),
        }
        assert archive.read(entry["file"]) == single

    # The other installation's admin keeps the statuses the files state (an audited override;
    # without it every case would arrive as a draft for that library's own review).
    other, other_h, _ = second_library
    keep = {"keep_status": "true", "reason": "Our partner library's curated cases"}
    imported = other.post(
        "/api/v1/cases/import-bundle",
        params=keep,
        content=response.content,
        headers={**other_h, **ZIP},
    )
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"imported": slugs, "unchanged": []}
    for slug in slugs:
        again = other.get(f"/api/v1/cases/{slug}/export", headers=other_h)
        assert again.content == originals[slug], slug
    assert other.get("/api/v1/cases/third-case", headers=other_h).json()["derived_from"] == {
        "slug": "first-case",
        "version": 1,
    }
    second = other.post(
        "/api/v1/cases/import-bundle", content=response.content, headers={**other_h, **ZIP}
    )
    assert second.json() == {"imported": [], "unchanged": slugs}


def test_a_bundle_with_problems_is_refused_whole_with_every_problem(client, session, people):
    good, broken = (
        case_file(slug="good-case"),
        b"---\nslug: broken-case\ntitle: [unclosed\n---\nx\n",
    )
    tampered = case_file(slug="tampered-case")
    listed = {"good-case.md": good, "tampered-case.md": tampered, "broken-case.md": broken}
    manifest = json.loads(manifest_for({**listed, "missing-case.md": b"x"}))
    files = {
        "manifest.json": json.dumps(manifest).encode(),
        **listed,
        "tampered-case.md": tampered.replace(b"A test case", b"A changed case"),
        "../escape.md": good,
    }
    before = count_cases(session)
    response = client.post(
        "/api/v1/cases/import-bundle",
        content=make_zip(files),
        headers={**people["h"]["kim"], **ZIP},
    )
    assert response.status_code == 422, response.text
    problems = response.json()["detail"]
    by_file = {}
    for problem in problems:
        by_file.setdefault(problem.get("file"), []).append(problem)
    assert set(by_file) == {"tampered-case.md", "broken-case.md", "missing-case.md", "../escape.md"}
    assert "sha256" in by_file["tampered-case.md"][0]["msg"]
    assert "missing" in by_file["missing-case.md"][0]["msg"]
    assert "plain file name" in by_file["../escape.md"][0]["msg"]
    [yaml_problem] = by_file["broken-case.md"]
    assert yaml_problem["line"] == 3 and "YAML" in yaml_problem["msg"]
    assert count_cases(session) == before
    assert client.get("/api/v1/cases/good-case", headers=people["h"]["kim"]).status_code == 404


def test_a_bundle_that_conflicts_with_the_library_changes_nothing(client, session, people):
    make_case(session, slug="existing-case", title="As it is here")
    # The new case comes first, so importing case by case would have written it already.
    files = {
        "new-case.md": case_file(slug="new-case"),
        "existing-case.md": case_file(slug="existing-case", title="As it is elsewhere"),
    }
    bundle = make_zip({"manifest.json": manifest_for(files), **files})
    h = people["h"]
    response = client.post(
        "/api/v1/cases/import-bundle", content=bundle, headers={**h["prof"], **ZIP}
    )
    assert response.status_code == 409, response.text
    [problem] = response.json()["detail"]
    assert problem["file"] == "existing-case.md" and "different content" in problem["msg"]
    assert client.get("/api/v1/cases/new-case", headers=h["prof"]).status_code == 404
    assert (
        client.get("/api/v1/cases/existing-case", headers=h["prof"]).json()["title"]
        == "As it is here"
    )
    assert (
        client.post(
            "/api/v1/cases/import-bundle", content=bundle, headers={**h["ann"], **ZIP}
        ).status_code
        == 403
    )


def test_a_zip_bomb_or_not_a_zip_is_refused_before_it_is_unpacked(client, session, people):
    h = {**people["h"]["prof"], **ZIP}
    files = {"bomb-case.md": b"\n" * (11 * 1024 * 1024)}
    bomb = make_zip({"manifest.json": manifest_for(files), **files})
    assert len(bomb) < 1024 * 1024  # it fits through the 1 MiB request limit
    response = client.post("/api/v1/cases/import-bundle", content=bomb, headers=h)
    assert response.status_code == 422
    assert "at most" in response.json()["detail"][0]["msg"]
    junk = client.post("/api/v1/cases/import-bundle", content=b"PK\x03\x04 not really", headers=h)
    assert junk.status_code == 422 and "zip" in junk.json()["detail"][0]["msg"]
    assert count_cases(session) == 0


def test_exporting_a_bundle_names_every_case_it_cannot_find(client, session, people):
    make_case(session, slug="here-case")
    h = people["h"]
    missing = client.get(
        "/api/v1/cases/export", params={"slugs": "here-case,nowhere,gone-too"}, headers=h["kim"]
    )
    assert missing.status_code == 404
    assert "nowhere" in missing.json()["detail"] and "gone-too" in missing.json()["detail"]
    assert (
        client.get("/api/v1/cases/export", params={"slugs": " , "}, headers=h["kim"]).status_code
        == 422
    )
    assert client.get("/api/v1/cases/export?slugs=here-case", headers=h["ann"]).status_code == 403


def test_the_command_line_moves_a_bundle_between_databases(
    session, settings, tmp_path, sqlite_template, monkeypatch
):
    from ethicsforum.cli import app

    make_case(session, slug="cli-one", four_box=FOUR_BOX)
    make_case(session, slug="cli-two", status="review")
    monkeypatch.setenv("ETHICSFORUM_SECRET_KEY", SECRET)
    monkeypatch.setenv("ETHICSFORUM_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("ETHICSFORUM_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    bundle = tmp_path / "library.zip"
    exported = runner.invoke(app, ["cases", "export", "--bundle", str(bundle)])
    assert exported.exit_code == 0, exported.output
    names = zipfile.ZipFile(bundle).namelist()
    assert names == ["manifest.json", "cli-one.md", "cli-two.md"]

    target = tmp_path / "target.db"
    shutil.copyfile(sqlite_template, target)
    monkeypatch.setenv("ETHICSFORUM_DATABASE_URL", f"sqlite:///{target}")
    imported = runner.invoke(
        app, ["cases", "import", "--bundle", str(bundle), "--keep-status", "--reason", "Moved"]
    )
    assert imported.exit_code == 0, imported.output
    assert "imported cli-one" in imported.output and "imported cli-two" in imported.output
    again = runner.invoke(
        app, ["cases", "export", "--bundle", str(tmp_path / "again.zip"), "cli-two"]
    )
    assert again.exit_code == 0, again.output
    assert zipfile.ZipFile(tmp_path / "again.zip").read("cli-two.md") == zipfile.ZipFile(
        bundle
    ).read("cli-two.md")

    broken = tmp_path / "broken.zip"
    broken.write_bytes(make_zip({"cli-three.md": case_file(slug="cli-three")}))
    refused = runner.invoke(app, ["cases", "import", "--bundle", str(broken)])
    assert refused.exit_code == 1
    assert "manifest.json: is missing" in refused.output
