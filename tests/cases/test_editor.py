"""The case editor: new cases and new versions through the HTML form, with htmx and without."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from ethicsforum.cases import deid
from ethicsforum.cases.models import CaseVersion, EthicsCase
from tests.conftest import fresh
from tests.factories import make_account, make_case, sign_in_browser, token_for

HTMX = {"HX-Request": "true"}
IDENTIFYING = "Mrs Jane Doe, DOB 04/05/1961, MRN 4432190, was admitted on a Tuesday."


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def textarea(page: BeautifulSoup, name: str) -> str:
    # The template writes a newline after <textarea>, which browsers drop (html.parser keeps it).
    return page.select_one(f"textarea#{name}").text.removeprefix("\n")


def case_form(token: str, **overrides) -> dict:
    data = {
        "csrf_token": token,
        "slug": "withholding-prognosis",
        "title": "Withholding a prognosis",
        "summary": "A family asks the team not to tell.",
        "question": "What should the team say?",
        "options-0-key": "tell",
        "options-0-label": "Tell her",
        "options-1-key": "wait",
        "options-1-label": "Wait for her to ask",
        "frameworks": ["autonomy", "beneficence"],
        "tags": "oncology, consent",
        "references": "GMC. Decision making and consent. 2020.\n\nBeauchamp and Childress.",
        "learning_objectives": "Explain the duty to inform.",
        "vignette": "A vignette.\r\n\r\n## Facts\r\n\r\n- One *fact*.",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def feedback_of(page: BeautifulSoup, name: str) -> str:
    """The message beside a field, reached the way assistive technology reaches it."""
    field = page.select_one(f"#{name}")
    described = field["aria-describedby"].split()
    assert f"{name}-feedback" in described
    return page.select_one(f"#{name}-feedback").get_text(" ", strip=True)


@pytest.fixture
def people(session):
    return {
        role: make_account(session, username=role, role=role)
        for role in ("faculty", "committee", "student", "admin")
    }


def test_a_faculty_member_creates_a_case_with_added_options_frameworks_and_four_box(
    client, session, people
):
    token = sign_in_browser(client, "faculty")
    blank = client.get("/cases/new")
    assert blank.status_code == 200 and blank.template.name == "cases/edit.html"
    page = soup(blank)
    assert page.select_one("#case-editor input[name=csrf_token]")["value"] == token
    assert len(page.select("#option-rows .option-row")) == 2
    assert "lowercase letters, digits and single hyphens" in page.select_one("#slug-hint").text
    assert {i["value"] for i in page.select("input[name=frameworks]")} == {
        "autonomy",
        "confidentiality",
        "justice",
        "beneficence",
    }
    # A third option added in place (htmx numbers it after the highest row, here 4).
    data = case_form(
        token,
        **{"options-4-key": "ask-family", "options-4-label": "Ask the family why"},
        **{
            "four_box-medical_indications": "Metastatic disease.\nWeeks to live.",
            "four_box-patient_preferences": "She has not asked.",
        },
    )
    created = client.post("/cases/new", data=data, follow_redirects=False)
    assert created.status_code == 303, created.text
    assert created.headers["location"].endswith("/cases/withholding-prognosis?saved=1")

    page = soup(client.get(created.headers["location"]))
    assert "created as a draft, version 1" in page.select_one("#saved-notice").text
    assert page.select_one("#case-title").text == "Withholding a prognosis"
    assert [li["id"] for li in page.select("#options li")] == [
        "option-tell",
        "option-wait",
        "option-ask-family",
    ]
    assert [a.text for a in page.select("#frameworks a")] == ["autonomy", "beneficence"]
    boxes = {div.dt.text: div.dd.text for div in page.select("#four-box dl div")}
    assert boxes == {
        "Medical indications": "Metastatic disease.\nWeeks to live.",
        "Patient preferences": "She has not asked.",
    }
    assert page.select_one("#vignette h2").text == "Facts"

    case = client.get(
        "/api/v1/cases/withholding-prognosis", headers=token_for(client, "faculty")
    ).json()
    assert (case["status"], case["version"]) == ("draft", 1)
    assert case["tags"] == ["oncology", "consent"]
    assert case["references"] == [
        "GMC. Decision making and consent. 2020.",
        "Beauchamp and Childress.",
    ]
    assert case["learning_objectives"] == ["Explain the duty to inform."]
    assert case["vignette"] == "A vignette.\n\n## Facts\n\n- One *fact*."  # CRLF from browsers
    assert case["four_box"]["quality_of_life"] is None


def test_invalid_input_is_a_422_with_every_message_beside_its_field_and_nothing_lost(
    client, session, people
):
    token = sign_in_browser(client, "faculty")
    rows = {}
    for n in range(7):  # one more than a case may have, the last with a bad key
        rows[f"options-{n}-key"] = f"opt-{n}" if n < 6 else "Bad Key"
        rows[f"options-{n}-label"] = f"Option number {n}"
    data = case_form(
        token,
        slug="Not A Slug",
        title="",
        frameworks=None,
        tags="Palliative Care",
        vignette="  Indented *start* kept.\n\nSecond paragraph.",
        **{"four_box-quality_of_life": "x" * 4001},
    )
    data.update(rows)
    response = client.post("/cases/new", data=data)
    assert response.status_code == 422
    page = soup(response)
    summary = page.select_one("#error-summary")
    assert summary["role"] == "alert"
    targets = [a["href"] for a in summary.select("a")]
    assert targets == [
        "#slug",
        "#title",
        "#four_box-quality_of_life",
        "#options-0-key",
        "#options-6-key",
        "#frameworks-autonomy",
        "#tags",
    ]
    for name, words in [
        ("slug", "lowercase letters, digits and single hyphens"),
        ("title", "required"),
        ("four_box-quality_of_life", "at most 4,000 characters (this has 4,001)"),
        ("options-6-key", "lowercase letters"),
        ("tags", "Palliative Care"),
    ]:
        assert page.select_one(f"#{name}")["aria-invalid"] == "true"
        assert words in feedback_of(page, name)
    assert "at most 6 options; there are 7" in page.select_one("#options-feedback").text
    assert page.select_one("#options-field")["aria-invalid"] == "true"
    assert "at least one framework" in page.select_one("#frameworks-feedback").text
    # What was typed comes back, rows renumbered from 0 in the order they were sent.
    assert page.select_one("#slug")["value"] == "Not A Slug"
    assert textarea(page, "vignette") == "  Indented *start* kept.\n\nSecond paragraph."
    assert len(textarea(page, "four_box-quality_of_life")) == 4001
    assert [i["value"] for i in page.select("#option-rows input[name$='-label']")] == [
        f"Option number {n}" for n in range(7)
    ]
    assert page.select_one("#options-6-key")["value"] == "Bad Key"
    assert not page.select("input[name=frameworks][checked]")
    assert page.select_one("#tags")["value"] == "Palliative Care"
    assert fresh(session).exec(select(EthicsCase)).all() == []


def test_a_slug_already_in_use_is_reported_beside_it_after_a_save_and_live(client, session, people):
    make_case(session, slug="taken-case", status="draft")
    token = sign_in_browser(client, "committee")
    response = client.post("/cases/new", data=case_form(token, slug="taken-case"))
    assert response.status_code == 422
    page = soup(response)
    assert "Another case already uses the slug “taken-case”" in feedback_of(page, "slug")
    assert page.select_one("#error-summary a[href='#slug']")

    def live(slug: str) -> BeautifulSoup:
        answer = client.post(
            "/cases/check?field=slug", data=case_form(token, slug=slug), headers=HTMX
        )
        assert answer.status_code == 200
        return soup(answer)

    assert "already uses" in live("taken-case").select_one("#slug-messages #slug-error").text
    assert "single hyphens" in live("Taken Case").select_one("#slug-error").text
    free = live("a-free-slug").select_one("#slug-messages")
    assert free.text.strip() == "" and not free.select(".field-error")


@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "plain"])
def test_options_are_checked_live_for_count_and_repeated_keys(client, session, people, headers):
    token = sign_in_browser(client, "faculty")
    same = case_form(token, **{"options-1-key": "tell"})
    answer = soup(client.post("/cases/check?field=options", data=same, headers=headers))
    assert "'tell' appears more than once" in answer.select_one("#options-error").text
    one = case_form(token, **{"options-1-key": "", "options-1-label": ""})
    answer = soup(client.post("/cases/check?field=options", data=one, headers=HTMX))
    assert "at least 2 options; there is 1" in answer.select_one("#options-error").text
    key = soup(
        client.post(
            "/cases/check?field=options-1-key",
            data=case_form(token, **{"options-1-key": "Wait!"}),
            headers=HTMX,
        )
    )
    assert "lowercase" in key.select_one("#options-1-key-error").text
    refused = client.post("/cases/check?field=not%20a%20field", data=same, headers=HTMX)
    assert refused.status_code == 422


@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "plain"])
def test_the_add_option_fragment_is_one_more_row_numbered_after_the_highest(
    client, session, people, headers
):
    token = sign_in_browser(client, "faculty")
    rows = {f"options-{n}-label": "x" for n in (0, 1, 4)}  # 2 and 3 were removed in place
    added = client.post("/cases/option-row", data={**rows, "csrf_token": token}, headers=headers)
    assert added.status_code == 200
    fragment = soup(added)
    row = fragment.select_one("fieldset.option-row")
    assert row["id"] == "option-row-5" and row.legend.text == "Option 6"
    assert row.select_one("input#options-5-key").has_attr("autofocus")
    assert row.select_one("input#options-5-label")["value"] == ""
    assert row.select_one("button.remove-option")["hx-target"] == "#option-row-5"
    assert fragment.select_one("#options-messages")["hx-swap-oob"] == "true"

    full = {f"options-{n}-label": "x" for n in range(6)}
    refused = soup(client.post("/cases/option-row", data={**full, "csrf_token": token}))
    assert not refused.select("fieldset")
    assert "at most 6 options" in refused.select_one("#options-messages").text

    two = {
        "options-0-key": "a",
        "options-0-label": "A",
        "options-1-key": "b",
        "options-1-label": "B",
    }
    removed = soup(
        client.post(
            "/cases/option-row?remove=1", data={**two, "csrf_token": token}, headers=headers
        )
    )
    assert not removed.select("fieldset")
    assert "at least 2 options; there is 1" in removed.select_one("#options-messages").text


def test_without_javascript_buttons_add_remove_and_preview_by_rerendering(client, session, people):
    token = sign_in_browser(client, "faculty")
    typed = case_form(token, title="Kept title")
    more = client.post("/cases/new", data={**typed, "add_option": "1"})
    assert more.status_code == 200
    page = soup(more)
    assert [r["id"] for r in page.select(".option-row")] == [f"option-row-{n}" for n in range(3)]
    assert page.select_one("#options-2-key").has_attr("autofocus")
    assert page.select_one("#options-1-label")["value"] == "Wait for her to ask"
    assert page.select_one("#title")["value"] == "Kept title"
    assert not page.select_one("#error-summary")

    fewer = soup(client.post("/cases/new", data={**typed, "remove_option": "0"}))
    assert [i["value"] for i in fewer.select("#option-rows input[name$='-key']")] == ["wait"]
    assert fewer.select_one("#options-0-key")["value"] == "wait"

    preview = soup(client.post("/cases/new", data={**typed, "preview": "1"}))
    assert preview.select_one("#vignette-preview").has_attr("autofocus")
    assert preview.select_one("#vignette-preview h2").text == "Facts"
    assert preview.select_one("#vignette-preview em").text == "fact"
    assert fresh(session).exec(select(EthicsCase)).all() == []


@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "plain"])
def test_the_preview_renders_markdown_sanitised(client, session, people, headers):
    token = sign_in_browser(client, "faculty")
    response = client.post(
        "/cases/preview",
        data={"vignette": "<script>alert(1)</script> *hi* [x](javascript:alert(2))"},
        headers={**headers, "X-CSRF-Token": token},
    )
    assert response.status_code == 200
    preview = soup(response).select_one("#vignette-preview")
    assert preview.em.text == "hi"
    assert not preview.select("script")
    assert "<script>" not in response.text and "&lt;script&gt;" in response.text
    assert not [a for a in preview.select("a") if "javascript" in a.get("href", "")]
    assert preview["hx-trigger"] == "input delay:600ms from:#vignette"


def test_editing_saves_version_two_with_its_note_and_keeps_version_one(client, session, people):
    make_case(
        session,
        slug="test-case",
        status="curated",
        derived_from={"slug": "older-case", "version": 3},
    )
    token = sign_in_browser(client, "committee")
    case_page = soup(client.get("/cases/test-case"))
    assert case_page.select_one("#case-tools #edit-case-link")["href"] == "/cases/test-case/edit"

    form = client.get("/cases/test-case/edit")
    assert form.status_code == 200
    page = soup(form)
    assert page.select_one("#title")["value"] == "A test case"
    assert page.select_one("#options-1-key")["value"] == "wait"
    assert {i["value"] for i in page.select("input[name=frameworks][checked]")} == {
        "autonomy",
        "justice",
    }
    assert page.select_one("#tags")["value"] == "testing"
    assert textarea(page, "references") == "A reference."
    assert "older-case, version 3" in page.select_one("#derived-from").text
    assert not page.select_one("#slug")  # a slug never changes
    assert page.select_one("input[name=base_version]")["value"] == "1"

    data = case_form(
        token,
        slug=None,
        title="A test case, revised",
        frameworks=["autonomy", "justice"],
        change_note="Sharper title",
        base_version="1",
        **{"four_box-contextual_features": "The family are at the bedside."},
    )
    saved = client.post("/cases/test-case/edit", data=data, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"].endswith("/cases/test-case?saved=2")

    current = soup(client.get(saved.headers["location"]))
    assert "Saved as version 2" in current.select_one("#saved-notice").text
    assert current.select_one("#case-title").text == "A test case, revised"
    assert "The family are at the bedside." in current.select_one("#four-box").text
    old = soup(client.get("/cases/test-case?version=1"))
    assert old.select_one("#case-title").text == "A test case"
    assert not old.select_one("#four-box")
    assert old.select_one("#edit-case-link")["href"] == "/cases/test-case/edit?from_version=1"

    versions = fresh(session).exec(select(CaseVersion).order_by(CaseVersion.version)).all()
    assert [(v.version, v.title, v.change_note) for v in versions] == [
        (1, "A test case", "Imported"),
        (2, "A test case, revised", "Sharper title"),
    ]
    assert versions[1].derived_from == {"slug": "older-case", "version": 3}
    case = fresh(session).exec(select(EthicsCase)).one()
    assert (case.status, case.current_version) == ("curated", 2)


def test_a_revision_needs_a_change_note_and_saves_nothing_without_one(client, session, people):
    make_case(session, slug="test-case")
    token = sign_in_browser(client, "faculty")
    data = case_form(token, slug=None, title="Changed", change_note="   ", base_version="1")
    response = client.post("/cases/test-case/edit", data=data)
    assert response.status_code == 422
    page = soup(response)
    assert "required" in feedback_of(page, "change_note")
    assert page.select_one("#change_note")["aria-invalid"] == "true"
    assert page.select_one("#title")["value"] == "Changed"
    assert fresh(session).exec(select(EthicsCase)).one().current_version == 1


def test_editing_can_start_from_an_older_version_to_restore_it(client, session, people):
    make_case(session, slug="test-case")
    token = sign_in_browser(client, "faculty")
    data = case_form(token, slug=None, title="Second title", change_note="New title")
    data["base_version"] = "1"
    first = client.post("/cases/test-case/edit", data=data, follow_redirects=False)
    assert first.status_code == 303
    page = soup(client.get("/cases/test-case/edit?from_version=1"))
    assert page.select_one("#title")["value"] == "A test case"
    assert "starts from version 1" in page.select_one("#restore-note").text
    assert textarea(page, "change_note") == "Restored the text of version 1."
    assert page.select_one("input[name=base_version]")["value"] == "2"
    restored = {i["name"]: i.get("value", "") for i in page.select("#case-editor input[type=text]")}
    restored |= {t["name"]: textarea(page, t["name"]) for t in page.select("#case-editor textarea")}
    restored |= {"csrf_token": token, "base_version": "2", "frameworks": ["autonomy", "justice"]}
    saved = client.post("/cases/test-case/edit", data=restored, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"].endswith("?saved=3")
    versions = fresh(session).exec(select(CaseVersion).order_by(CaseVersion.version)).all()
    first, third = versions[0], versions[2]
    assert (third.title, third.options, third.vignette) == (
        first.title,
        first.options,
        first.vignette,
    )
    assert third.change_note == "Restored the text of version 1."
    assert client.get("/cases/test-case/edit?from_version=9").status_code == 404


def test_a_form_opened_before_someone_elses_save_does_not_quietly_undo_it(client, session, people):
    make_case(session, slug="test-case")
    token = sign_in_browser(client, "faculty")
    data = case_form(token, slug=None, title="Mine", change_note="Mine", base_version="1")
    theirs = {**data, "title": "Theirs", "change_note": "Theirs"}
    assert (
        client.post("/cases/test-case/edit", data=theirs, follow_redirects=False).status_code == 303
    )
    stale = client.post("/cases/test-case/edit", data=data)
    assert stale.status_code == 409
    page = soup(stale)
    assert "Version 2 was saved while you were editing version 1" in page.select_one(
        "#error-summary"
    ).get_text(" ")
    assert page.select_one("#title")["value"] == "Mine"
    assert page.select_one("input[name=base_version]")["value"] == "2"
    again = client.post(
        "/cases/test-case/edit", data={**data, "base_version": "2"}, follow_redirects=False
    )
    assert again.status_code == 303 and again.headers["location"].endswith("?saved=3")


def test_students_get_403_or_404_and_visitors_are_sent_to_sign_in(client, session, people):
    make_case(session, slug="curated-case", status="curated")
    make_case(session, slug="draft-case", status="draft")
    assert client.get("/cases/new", follow_redirects=False).headers["location"].startswith("/login")
    token = sign_in_browser(client, "student")
    assert client.get("/cases/new").status_code == 403
    assert client.post("/cases/new", data=case_form(token)).status_code == 403
    assert client.get("/cases/curated-case/edit").status_code == 403
    assert client.get("/cases/draft-case/edit").status_code == 404  # not visible to students
    assert client.get("/cases/no-such-case/edit").status_code == 404
    assert client.post("/cases/preview", data={"csrf_token": token}).status_code == 403
    edit = client.post("/cases/curated-case/edit", data=case_form(token, change_note="x"))
    assert edit.status_code == 403
    assert fresh(session).exec(select(EthicsCase)).all()[0].current_version == 1
    library = soup(client.get("/cases"))
    assert not library.select_one("#new-case-link")
    assert not soup(client.get("/cases/curated-case")).select_one("#edit-case-link")


def test_a_form_without_its_csrf_token_is_refused(client, session, people):
    sign_in_browser(client, "faculty")
    data = case_form("")
    del data["csrf_token"]
    assert client.post("/cases/new", data=data).status_code == 403
    assert client.post("/cases/preview", data={"vignette": "*x*"}).status_code == 403
    assert client.post("/cases/check?field=slug", data=data).status_code == 403
    assert fresh(session).exec(select(EthicsCase)).all() == []


def test_editors_find_the_editor_from_the_library_and_the_case_page(client, session, people):
    make_case(session, slug="test-case")
    sign_in_browser(client, "admin")
    link = soup(client.get("/cases")).select_one("#new-case-link")
    assert link["href"] == "/cases/new"
    assert soup(client.get("/cases/test-case")).select_one("#case-tools #edit-case-link")


def test_text_that_may_identify_someone_is_flagged_beside_its_field_but_saves(
    client, session, people
):
    token = sign_in_browser(client, "faculty")
    data = case_form(
        token,
        vignette=f"## Facts\n\n{IDENTIFYING}",
        **{"options-1-label": "Ring John Smith"},
    )
    saved = client.post("/cases/new", data=data, follow_redirects=False)
    assert saved.status_code == 303  # warnings never block a save
    notice = soup(client.get(saved.headers["location"])).select_one("#saved-notice")
    assert re.search(r"\d+ passages may identify a real person", notice.text)
    assert notice.select_one("a")["href"] == "/cases/withholding-prognosis/edit#deid-summary"

    page = soup(client.get("/cases/withholding-prognosis/edit"))
    warnings = [li.text for li in page.select("#vignette-deid li")]
    assert "May identify a person (name): “Mrs Jane Doe” (line 3)" in warnings
    assert any("“04/05/1961”" in w for w in warnings)
    assert any("“4432190”" in w for w in warnings)
    assert "vignette-feedback" in page.select_one("#vignette")["aria-describedby"]
    assert "“John Smith”" in page.select_one("#options-1-label-deid").text
    assert page.select_one("#deid-summary a[href='#vignette']")
    assert not page.select_one("#title-deid")

    # Once accepted (in the curation panel), a warning is shown as such and no longer counted.
    case = fresh(session).exec(select(EthicsCase)).one()
    deid.accept(
        session,
        case_id=case.id,
        version=1,
        field="vignette",
        kind="name",
        text="Mrs Jane Doe",
        reason="An invented name.",
        actor=people["committee"],
    )
    page = soup(client.get("/cases/withholding-prognosis/edit"))
    accepted = page.select_one("#vignette-deid li.accepted")
    assert accepted.text == "May identify a person (name): “Mrs Jane Doe” (line 3) — accepted"
    listed = page.select_one("#deid-summary a[href='#vignette']").parent.text
    assert f"{len(warnings) - 1} passage" in listed
    edit_form = case_form(
        token, slug=None, vignette=f"## Facts\n\n{IDENTIFYING}", editing="withholding-prognosis"
    )
    live = soup(client.post("/cases/check?field=vignette", data=edit_form, headers=HTMX))
    assert "— accepted" in live.select_one("#vignette-deid li.accepted").text

    live = client.post(
        "/cases/check?field=four_box-patient_preferences",
        data=case_form(token, **{"four_box-patient_preferences": "Her son, Peter Jones."}),
        headers=HTMX,
    )
    fragment = soup(live).select_one("#four_box-patient_preferences-messages")
    assert "May identify a person (name): “Peter Jones”" in fragment.text
    assert not fragment.select(".field-error")


def test_the_four_boxes_sit_beside_the_vignette_on_the_case_page(client, session, people):
    make_case(
        session,
        slug="boxed",
        four_box={"medical_indications": "Sepsis.", "contextual_features": "A court order."},
    )
    make_case(session, slug="plain")
    page = soup(client.get("/cases/boxed"))
    body = page.select_one("#case-body.has-four-box")
    assert [child["id"] for child in body.find_all(recursive=False)] == ["vignette", "four-box"]
    assert [dt.text for dt in body.select("#four-box dt")] == [
        "Medical indications",
        "Contextual features",
    ]
    plain = soup(client.get("/cases/plain"))
    assert "has-four-box" not in plain.select_one("#case-body")["class"]
    assert not plain.select_one("#four-box")
    css = client.get("/static/site.css").text
    wide = css[css.index("@media screen and (min-width: 64rem)") :]
    assert ".case-body.has-four-box { display: grid;" in wide  # on screens only: print stacks
