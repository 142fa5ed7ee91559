"""Imported cases arrive as drafts: curation is this library's decision, not the file's.

Only an admin (or the operator on the command line) may keep the status a file states, with
a reason that is audited, and never past the de-identification gate.
"""

from __future__ import annotations

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

from ethicsforum.cases.fileformat import render_case_file
from ethicsforum.cases.models import EthicsCase
from ethicsforum.moderation.models import AuditEntry
from tests.cases.test_reuse import ZIP, make_zip, manifest_for
from tests.conftest import SECRET, fresh
from tests.factories import case_document, make_account, token_for

MARKDOWN = {"Content-Type": "text/markdown"}
IDENTIFYING = (
    "Mr John Smith (MRN 48213377) was admitted on 3 March 2025; his daughter can be "
    "reached on 07700 900123.\n\n## Facts\n\nHe refuses the operation."
)
KEEP = {"keep_status": "true", "reason": "Reviewed by the ethics committee on 1 December"}


def case_file(**overrides) -> bytes:
    return render_case_file(case_document(**overrides)).encode()


def status_of(session, slug: str) -> str | None:
    case = fresh(session).exec(select(EthicsCase).where(EthicsCase.slug == slug)).first()
    return case.status if case else None


def imports(session) -> list[AuditEntry]:
    return list(
        fresh(session).exec(
            select(AuditEntry)
            .where(AuditEntry.action == "case_import")
            .order_by(col(AuditEntry.id))
        )
    )


@pytest.fixture
def h(client, session):
    make_account(session, username="prof", role="faculty")
    make_account(session, username="root", role="admin")
    make_account(session, username="ann")
    return {name: token_for(client, name) for name in ("prof", "root", "ann")}


def test_a_curated_file_with_identifying_text_arrives_as_a_draft_nobody_else_sees(
    client, session, h
):
    raw = case_file(slug="leaky-case", status="curated", vignette=IDENTIFYING)
    response = client.post("/api/v1/cases/import", content=raw, headers={**h["prof"], **MARKDOWN})
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "draft"
    assert status_of(session, "leaky-case") == "draft"
    assert client.get("/cases/leaky-case").status_code == 404
    assert "leaky-case" not in client.get("/cases").text
    assert client.get("/api/v1/cases/leaky-case", headers=h["ann"]).status_code == 404
    [entry] = imports(session)
    assert entry.detail == {
        "slug": "leaky-case",
        "version": 1,
        "stated_status": "curated",
        "status": "draft",
        "via": "api",
    }
    assert entry.actor_id is not None and entry.reason is None

    # The same file again is unchanged (200), although it states another status; a changed
    # file under the slug is still a conflict.
    again = client.post("/api/v1/cases/import", content=raw, headers={**h["prof"], **MARKDOWN})
    assert again.status_code == 200 and again.json()["status"] == "draft"
    changed = case_file(slug="leaky-case", status="curated", title="Another title")
    clash = client.post("/api/v1/cases/import", content=changed, headers={**h["prof"], **MARKDOWN})
    assert clash.status_code == 409
    assert len(imports(session)) == 1


def test_every_stated_status_arrives_as_a_draft(client, session, h):
    for status in ("draft", "review", "curated", "retired"):
        raw = case_file(slug=f"{status}-case", status=status)
        response = client.post(
            "/api/v1/cases/import", content=raw, headers={**h["prof"], **MARKDOWN}
        )
        assert response.status_code == 201 and response.json()["status"] == "draft"


def test_only_an_admin_with_a_reason_keeps_the_stated_status(client, session, h):
    raw = case_file(slug="clean-case", status="curated")
    url = "/api/v1/cases/import"
    refused = client.post(url, params=KEEP, content=raw, headers={**h["prof"], **MARKDOWN})
    assert refused.status_code == 403
    assert "admin" in refused.json()["detail"]
    no_reason = client.post(
        url, params={"keep_status": "true"}, content=raw, headers={**h["root"], **MARKDOWN}
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["detail"][0]["loc"] == ["query", "reason"]
    stray = client.post(
        url, params={"reason": "why not"}, content=raw, headers={**h["root"], **MARKDOWN}
    )
    assert stray.status_code == 422
    assert status_of(session, "clean-case") is None

    kept = client.post(url, params=KEEP, content=raw, headers={**h["root"], **MARKDOWN})
    assert kept.status_code == 201, kept.text
    assert kept.json()["status"] == "curated"
    assert client.get("/cases/clean-case").status_code == 200
    [entry] = imports(session)
    assert entry.reason == KEEP["reason"]
    assert entry.detail["status"] == entry.detail["stated_status"] == "curated"


def test_the_override_does_not_lift_the_deidentification_gate(client, session, h):
    raw = case_file(slug="leaky-case", status="curated", vignette=IDENTIFYING)
    response = client.post(
        "/api/v1/cases/import", params=KEEP, content=raw, headers={**h["root"], **MARKDOWN}
    )
    assert response.status_code == 409, response.text
    problems = response.json()["detail"]
    assert {p["kind"] for p in problems} >= {"name", "id_number", "phone"}
    assert all(p["type"] == "deid_unresolved" and p["file"] == "leaky-case.md" for p in problems)
    assert status_of(session, "leaky-case") is None and imports(session) == []
    # A draft stated and kept needs no gate: it is not shown to anyone yet.
    draft = case_file(slug="leaky-case", status="draft", vignette=IDENTIFYING)
    kept = client.post(
        "/api/v1/cases/import", params=KEEP, content=draft, headers={**h["root"], **MARKDOWN}
    )
    assert kept.status_code == 201 and kept.json()["status"] == "draft"


def test_a_bundle_arrives_as_drafts_unless_an_admin_keeps_it_through_the_gate(client, session, h):
    files = {
        "one-case.md": case_file(slug="one-case", status="curated"),
        "two-case.md": case_file(slug="two-case", status="retired"),
    }
    bundle = make_zip({"manifest.json": manifest_for(files), **files})
    url = "/api/v1/cases/import-bundle"
    faculty = client.post(url, content=bundle, headers={**h["prof"], **ZIP})
    assert faculty.status_code == 200, faculty.text
    assert status_of(session, "one-case") == status_of(session, "two-case") == "draft"
    assert [e.detail["via"] for e in imports(session)] == ["api", "api"]
    kept = client.post(url, params=KEEP, content=bundle, headers={**h["prof"], **ZIP})
    assert kept.status_code == 403

    leaky = {
        "three-case.md": case_file(slug="three-case", status="curated"),
        "leaky-case.md": case_file(slug="leaky-case", status="curated", vignette=IDENTIFYING),
    }
    leaky_bundle = make_zip({"manifest.json": manifest_for(leaky), **leaky})
    refused = client.post(url, params=KEEP, content=leaky_bundle, headers={**h["root"], **ZIP})
    assert refused.status_code == 409, refused.text
    assert {p["file"] for p in refused.json()["detail"]} == {"leaky-case.md"}
    assert status_of(session, "three-case") is None

    clean = {"three-case.md": leaky["three-case.md"]}
    kept = client.post(
        url,
        params=KEEP,
        content=make_zip({"manifest.json": manifest_for(clean), **clean}),
        headers={**h["root"], **ZIP},
    )
    assert kept.status_code == 200 and kept.json() == {"imported": ["three-case"], "unchanged": []}
    assert status_of(session, "three-case") == "curated"
    assert imports(session)[-1].reason == KEEP["reason"]


@pytest.fixture
def cli(settings, tmp_path, monkeypatch):
    from ethicsforum.cli import app

    monkeypatch.setenv("ETHICSFORUM_SECRET_KEY", SECRET)
    monkeypatch.setenv("ETHICSFORUM_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("ETHICSFORUM_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["cases", *args])


def test_the_command_line_imports_drafts_and_keeps_status_only_with_a_reason(
    cli, session, tmp_path
):
    clean = tmp_path / "clean-case.md"
    clean.write_bytes(case_file(slug="clean-case", status="curated"))
    leaky = tmp_path / "leaky-case.md"
    leaky.write_bytes(case_file(slug="leaky-case", status="curated", vignette=IDENTIFYING))

    assert cli("import", "--keep-status", str(clean)).exit_code == 2
    assert cli("import", "--reason", "x", str(clean)).exit_code == 2
    assert status_of(session, "clean-case") is None

    plain = cli("import", str(leaky))
    assert plain.exit_code == 0, plain.output
    assert "imported leaky-case" in plain.output and "drafts" in plain.output
    assert status_of(session, "leaky-case") == "draft"

    (tmp_path / "more").mkdir()
    other = tmp_path / "more" / "leaky-case.md"
    other.write_bytes(case_file(slug="leaky-case", status="curated", vignette=IDENTIFYING))
    kept = cli("import", "--keep-status", "--reason", "Our own library", str(clean), str(other))
    assert kept.exit_code == 0, kept.output  # the leaky case is already here, unchanged
    assert status_of(session, "clean-case") == "curated"
    assert status_of(session, "leaky-case") == "draft"
    entries = imports(session)
    assert [e.detail["via"] for e in entries] == ["command line", "command line"]
    assert entries[-1].actor_id is None and entries[-1].reason == "Our own library"


def test_the_command_line_override_stops_at_the_gate(cli, session, tmp_path):
    leaky = tmp_path / "leaky-case.md"
    leaky.write_bytes(case_file(slug="leaky-case", status="curated", vignette=IDENTIFYING))
    refused = cli("import", "--keep-status", "--reason", "trust me", str(leaky))
    assert refused.exit_code == 1
    assert "may identify a person" in refused.output and "07700 900123" in refused.output
    assert status_of(session, "leaky-case") is None


def test_the_first_run_import_keeps_the_library_status_through_the_gate(
    settings, engine, session, tmp_path, capsys
):
    from ethicsforum.cli import _import_when_empty

    folder = tmp_path / "library"
    folder.mkdir()
    (folder / "clean-case.md").write_bytes(case_file(slug="clean-case", status="curated"))
    (folder / "leaky-case.md").write_bytes(
        case_file(slug="leaky-case", status="curated", vignette=IDENTIFYING)
    )
    _import_when_empty(settings.model_copy(update={"cases_dir": folder}), engine)
    assert status_of(session, "clean-case") == "curated"
    assert status_of(session, "leaky-case") == "draft"
    err = capsys.readouterr().err
    assert "imported 2 cases" in err
    assert "leaky-case.md: may identify a person, so it arrived as a draft" in err
    by_slug = {e.detail["slug"]: e for e in imports(session)}
    assert by_slug["leaky-case"].detail["held_back"]
    assert by_slug["clean-case"].detail["via"] == "first run"
