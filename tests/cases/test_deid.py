"""The de-identification check: its accuracy on labelled prose, each kind, the API, the
acceptances and the gate on curation, and the composer's gentle warning."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from ethicsforum.accounts import cohorts
from ethicsforum.cases import deid
from ethicsforum.cases.fileformat import CaseFileInvalid, render_case_file
from ethicsforum.cases.models import DeidAcceptance
from ethicsforum.discussions import service as discussions
from ethicsforum.errors import Conflict, Invalid, NotFound
from ethicsforum.moderation.models import AuditEntry
from tests.conftest import fresh
from tests.factories import case_document, make_account, make_case, sign_in_browser, token_for

DATA = Path(__file__).resolve().parents[1] / "data" / "deid_sentences.jsonl"


def labelled() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]


def overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


# --- the labelled set ------------------------------------------------------------------


def test_the_labelled_set_is_large_balanced_and_its_offsets_are_exact():
    rows = labelled()
    assert len(rows) >= 150
    with_spans = sum(1 for r in rows if r["spans"])
    assert 0.4 <= with_spans / len(rows) <= 0.6
    kinds = Counter(s["kind"] for r in rows for s in r["spans"])
    assert set(kinds) == set(deid.KINDS)
    for row in rows:
        for span in row["spans"]:
            piece = row["text"][span["start"] : span["end"]]
            assert piece and piece == piece.strip(), (row["text"], span)


def test_the_check_finds_at_least_95_percent_of_identifiers_with_80_percent_precision():
    labelled_n: Counter[str] = Counter()
    found: Counter[str] = Counter()
    warned: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for row in labelled():
        text, spans = row["text"], row["spans"]
        warnings = deid.check_fields({"vignette": text})
        for s in spans:
            labelled_n[s["kind"]] += 1
            found[s["kind"]] += any(
                w.kind == s["kind"] and overlaps(w.start, w.end, s["start"], s["end"])
                for w in warnings
            )
        for w in warnings:
            warned[w.kind] += 1
            right[w.kind] += any(
                w.kind == s["kind"] and overlaps(w.start, w.end, s["start"], s["end"])
                for s in spans
            )
    print("\n| kind | labelled | found | warnings | precision | recall |")  # noqa: T201
    for kind in deid.KINDS:
        n, f, w, r = labelled_n[kind], found[kind], warned[kind], right[kind]
        precision = f"{r / w:.2f}" if w else "-"
        recall = f"{f / n:.2f}" if n else "-"
        print(f"| {kind} | {n} | {f} | {w} | {precision} | {recall} |")  # noqa: T201
    total_n, total_f = sum(labelled_n.values()), sum(found.values())
    total_w, total_r = sum(warned.values()), sum(right.values())
    print(  # noqa: T201
        f"| overall | {total_n} | {total_f} | {total_w} | "
        f"{total_r / total_w:.2f} | {total_f / total_n:.2f} |"
    )
    assert total_f / total_n >= 0.95
    assert total_r / total_w >= 0.8


# --- each kind -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "flagged"),
    [
        ("Mrs Eleanor Hughes was admitted.", "name", "Mrs Eleanor Hughes"),
        ("Seen by Dr. Liu on the ward.", "name", "Dr. Liu"),
        ("A man named Tomasz asked to leave.", "name", "Tomasz"),
        ("Her daughter, Sarah Hughes, disagrees.", "name", "Sarah Hughes"),
        ("Margaret has lived alone for years.", "name", "Margaret"),
        ("He lives at 14 Cavendish Road with his son.", "location", "14 Cavendish Road"),
        ("Postcode BS8 1TH on the form.", "location", "BS8 1TH"),
        ("Springfield, IL 62704 is on the letter.", "location", "62704"),
        ("She lives in Hackney with her son.", "location", "Hackney"),
        ("Transferred to Leeds General Infirmary.", "location", "Leeds General Infirmary"),
        ("Admitted on 3 March 2024 with a fall.", "date", "3 March 2024"),
        ("DOB 04/05/1961.", "date", "04/05/1961"),
        ("Discharged 2024-03-11.", "date", "2024-03-11"),
        ("Seen on March 3, 2024 in clinic.", "date", "March 3, 2024"),
        ("First admitted in March 2021.", "date", "March 2021"),
        ("A 91-year-old man asks to go home.", "age", "91-year-old"),
        ("The woman, aged 93, lives alone.", "age", "aged 93"),
        ("A ninety-four-year-old widower.", "age", "ninety-four-year-old"),
        ("Call her on 07700 900123 today.", "phone", "07700 900123"),
        ("His mobile is (617) 555-0142.", "phone", "(617) 555-0142"),
        ("Ring +44 20 7946 0321 for results.", "phone", "+44 20 7946 0321"),
        ("The letter was faxed to 020 7946 0001.", "fax", "020 7946 0001"),
        ("Fax: (312) 555-0110.", "fax", "(312) 555-0110"),
        ("Write to s.oneill@example.nhs.uk now.", "email", "s.oneill@example.nhs.uk"),
        ("MRN 4432190 on the wristband.", "id_number", "4432190"),
        ("NHS number 943 476 5919 was shown.", "id_number", "943 476 5919"),
        ("Plate AB12 CDE was seen.", "id_number", "AB12 CDE"),
        ("SSN 078-05-1120 leaked.", "id_number", "078-05-1120"),
        ("See https://www.facebook.com/eleanor.hughes.92 for photos.", "url", None),
        (
            "Fundraiser at www.gofundme.com/f/help-for-tom.",
            "url",
            "www.gofundme.com/f/help-for-tom",
        ),
        ("Opened from 203.0.113.45 at night.", "ip", "203.0.113.45"),
        ("Opened from 2001:db8::1 at night.", "ip", "2001:db8::1"),
    ],
)
def test_each_kind_is_recognised(text, kind, flagged):
    warnings = deid.check_fields({"vignette": text})
    assert [w.kind for w in warnings] == [kind], warnings
    flagged = flagged or text.split()[1]
    assert warnings[0].text == flagged
    assert text[warnings[0].start : warnings[0].end] == flagged


@pytest.mark.parametrize(
    "text",
    [
        "She has taken 5 mg of bisoprolol daily since 2019.",
        "The team follows NICE NG97 and the Mental Capacity Act 2005.",
        "For three days she refused food; she is aged 45.",
        "An 89-year-old woman with dementia; in her nineties her mother died.",
        "Her GCS is 14/15, BP 150/90 and saturation 92% on room air.",
        "A 3/7 history of cough; warfarin with an INR of 4.2; lactate of 3.1 mmol/L.",
        "Will the registrar respect her wish? May the nurse tell him? Mark the notes.",
        "He has Parkinson's disease; the Caldicott principles and the Fraser criteria apply.",
        "She is a Jehovah's Witness; the family's Christian faith matters to them.",
        "The Montgomery ruling of 2015 changed consent; Section 5(2) was used.",
        "She called NHS 111 twice before her husband dialled 999.",
        "A 90-day supply was dispensed after a 90-minute meeting.",
        "The practice is in England; in California the law differs.",
        "Version 2.1 of the policy; paragraph 54 of the 2017 guidance; ISO 15189.",
        "Meanwhile, the patient's son arrived. Sadly, her husband had left. Later, a 45-year-old.",
        "See the guidance. Hope and fear alternate. Will and testament questions arose.",
        "He was taken to the Major Trauma Centre; the Young People's Service called.",
        "The St John Ambulance volunteer helped; ABC v St George's was cited.",
    ],
)
def test_ordinary_clinical_prose_raises_no_warning(text):
    assert deid.check_fields({"vignette": text}) == []


def test_every_shipped_case_reads_as_de_identified(settings):
    for path in sorted(settings.cases_dir.glob("*.md")):
        assert deid.check_case_file(path.read_text(encoding="utf-8")) == [], path.name


def test_naughty_strings_never_break_the_check():
    naughty = json.loads((DATA.parent / "blns.json").read_text(encoding="utf-8"))
    for text in naughty:
        for w in deid.check_fields({"vignette": text}):
            assert text[w.start : w.end] == w.text
    assert deid.check_fields({"vignette": "1 " * 20_000 + "Aa " * 5_000}) is not None


# --- fields, content and case files ----------------------------------------------------


def test_warnings_give_offsets_and_lines_within_each_field():
    warnings = deid.check_fields(
        {"title": "Mr Okafor's choice", "vignette": "First line.\nSeen on 3 March 2024."}
    )
    assert warnings == [
        deid.DeidWarning("title", 1, 0, 9, "name", "Mr Okafor"),
        deid.DeidWarning("vignette", 2, 20, 32, "date", "3 March 2024"),
    ]


def test_references_are_never_checked():
    citation = "Smith J. Consent. https://example.org/consent, 3 March 2024."
    assert deid.check_fields({"references.0": citation, "references": citation}) == []
    content = case_document(references=[citation])
    assert deid.check_content(content) == []


def test_check_content_covers_options_four_box_and_objectives():
    content = case_document(
        title="Mr Okafor declines",
        options=[{"key": "act", "label": "Tell Mrs Hughes"}, {"key": "wait", "label": "Wait"}],
        learning_objectives=["Call 07700 900123 first."],
        four_box={"patient_preferences": "Her son Daniel disagrees."},
        vignette="Admitted on 3 March 2024.",
    )
    found = {(w.field, w.kind, w.text) for w in deid.check_content(content)}
    assert found == {
        ("title", "name", "Mr Okafor"),
        ("options.0.label", "name", "Mrs Hughes"),
        ("learning_objectives.0", "phone", "07700 900123"),
        ("four_box.patient_preferences", "name", "Daniel"),
        ("vignette", "date", "3 March 2024"),
    }


def case_file(**overrides) -> str:
    return render_case_file(case_document(**overrides))


def test_a_case_file_reports_lines_within_the_file():
    text = case_file(
        summary="Mr Okafor refuses.",
        vignette="A first paragraph.\n\nSeen on 3 March 2024 by the team.",
    )
    lines = text.split("\n")
    warnings = {w.kind: w for w in deid.check_case_file(text)}
    assert "Mr Okafor" in lines[warnings["name"].line - 1]
    assert "3 March 2024" in lines[warnings["date"].line - 1]
    assert warnings["date"].line == len(lines) - 1  # the vignette's last line
    assert warnings["date"].field == "vignette"


def test_vignette_lines_count_the_blank_lines_before_it():
    text = case_file(vignette="Mrs Hughes.").replace("---\nMrs Hughes.", "---\n\n\nMrs Hughes.")
    (warning,) = deid.check_case_file(text)
    assert text.split("\n")[warning.line - 1] == "Mrs Hughes."


def test_a_case_file_that_does_not_parse_raises_with_its_problems():
    with pytest.raises(CaseFileInvalid):
        deid.check_case_file("no front matter")


# --- the API ---------------------------------------------------------------------------


@pytest.fixture
def faculty(client, session):
    return token_for(client, make_account(session, role="faculty").username)


@pytest.fixture
def committee(client, session):
    return token_for(client, make_account(session, role="committee").username)


def test_checking_json_fields_returns_each_warning(client, faculty):
    body = {"title": "A case", "vignette": "Seen by Dr Patel.\nMRN 4432190.", "slug": "x"}
    response = client.post("/api/v1/cases/check", json=body, headers=faculty)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "warnings": [
            {
                "field": "vignette",
                "line": 1,
                "start": 8,
                "end": 16,
                "kind": "name",
                "text": "Dr Patel",
            },
            {
                "field": "vignette",
                "line": 2,
                "start": 22,
                "end": 29,
                "kind": "id_number",
                "text": "4432190",
            },
        ]
    }


def test_partial_json_is_checked_field_by_field(client, faculty):
    body = {
        "options": [{"key": "a", "label": "Phone 07700 900123"}],
        "four_box": {"quality_of_life": "She is 93 years old."},
        "references": ["Dr Smith, 3 March 2024."],
    }
    response = client.post("/api/v1/cases/check", json=body, headers=faculty)
    assert response.status_code == 200
    assert [(w["field"], w["kind"]) for w in response.json()["warnings"]] == [
        ("options.0.label", "phone"),
        ("four_box.quality_of_life", "age"),
    ]
    empty = client.post("/api/v1/cases/check", json={}, headers=faculty)
    assert empty.json() == {"warnings": []}


def test_checking_a_markdown_case_file_reports_file_lines(client, committee):
    text = case_file(vignette="Nothing here.\n\nMrs Hughes was seen on 3 March 2024.")
    response = client.post(
        "/api/v1/cases/check",
        content=text.encode(),
        headers={**committee, "Content-Type": "text/markdown; charset=utf-8"},
    )
    assert response.status_code == 200, response.text
    warnings = response.json()["warnings"]
    last = len(text.split("\n")) - 1
    assert [(w["kind"], w["line"], w["text"]) for w in warnings] == [
        ("name", last, "Mrs Hughes"),
        ("date", last, "3 March 2024"),
    ]


def test_a_case_file_that_does_not_parse_is_a_422_listing_its_problems(client, faculty):
    text = case_file().replace("title: A test case\n", "")
    response = client.post(
        "/api/v1/cases/check",
        content=text.encode(),
        headers={**faculty, "Content-Type": "text/markdown"},
    )
    assert response.status_code == 422
    assert [p["loc"] for p in response.json()["detail"]] == [["body", "title"]]
    assert response.json()["detail"][0]["line"] >= 1


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"title": 5}', "application/json"),
        (b'{"options": "no"}', "application/json"),
        (b"{not json", "application/json"),
        (b"", "application/json"),
        (b"\xff\xfe", "text/markdown"),
        (b"title", "text/plain"),
        (json.dumps({"vignette": "x" * 50_001}).encode(), "application/json"),
    ],
)
def test_bad_check_bodies_are_422_never_500(client, faculty, content, content_type):
    response = client.post(
        "/api/v1/cases/check", content=content, headers={**faculty, "Content-Type": content_type}
    )
    assert response.status_code == 422, response.text


def test_students_may_not_check_and_strangers_must_sign_in(client, session):
    student = token_for(client, make_account(session).username)
    body = {"vignette": "Mrs Hughes"}
    assert client.post("/api/v1/cases/check", json=body, headers=student).status_code == 403
    assert client.post("/api/v1/cases/check", json=body).status_code == 401


# --- acceptances -----------------------------------------------------------------------

VIGNETTE = "Mrs Hughes was admitted on 3 March 2024."


def test_accepting_a_warning_records_it_with_an_audit_entry(session):
    actor = make_account(session, role="committee")
    case = make_case(session, vignette=VIGNETTE).case
    content = case_document(vignette=VIGNETTE)
    assert {w.kind for w in deid.unresolved(session, case_id=case.id, content=content)} == {
        "name",
        "date",
    }
    found = deid.accept(
        session,
        case_id=case.id,
        version=1,
        field="vignette",
        kind="name",
        text="Mrs Hughes",
        reason="  An invented name.  ",
        actor=actor,
    )
    assert (found.reason, found.accepted_by_id, found.version) == ("An invented name.", actor.id, 1)
    assert [w.kind for w in deid.unresolved(session, case_id=case.id, content=content)] == ["date"]
    audit = fresh(session).exec(select(AuditEntry).where(AuditEntry.action == "deid_accept")).one()
    assert (audit.target_type, audit.target_id, audit.actor_id) == ("case", case.id, actor.id)
    assert audit.detail["text"] == "Mrs Hughes"


def test_an_acceptance_holds_while_the_same_text_stays_in_the_field(session):
    actor = make_account(session, role="committee")
    case = make_case(session, vignette=VIGNETTE).case
    deid.accept(
        session,
        case_id=case.id,
        version=1,
        field="vignette",
        kind="name",
        text="Mrs Hughes",
        reason="Invented.",
        actor=actor,
    )
    later = case_document(vignette="Later, Mrs Hughes asked Mr Okafor to stay.")
    assert [w.text for w in deid.unresolved(session, case_id=case.id, content=later)] == [
        "Mr Okafor"
    ]
    moved = case_document(title="Mrs Hughes", vignette="Nothing identifying.")
    assert [w.field for w in deid.unresolved(session, case_id=case.id, content=moved)] == ["title"]


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"reason": "   "}, Invalid),
        ({"reason": "x" * 501}, Invalid),
        ({"kind": "shoe_size"}, Invalid),
        ({"text": "Mr Nobody"}, Invalid),
        ({"field": "title"}, Invalid),
        ({"version": 7}, NotFound),
    ],
)
def test_only_a_present_warning_with_a_reason_can_be_accepted(session, overrides, error):
    actor = make_account(session, role="committee")
    case = make_case(session, vignette=VIGNETTE).case
    values = {
        "case_id": case.id,
        "version": 1,
        "field": "vignette",
        "kind": "name",
        "text": "Mrs Hughes",
        "reason": "Invented.",
        "actor": actor,
        **overrides,
    }
    with pytest.raises(error):
        deid.accept(session, **values)
    assert fresh(session).exec(select(DeidAcceptance)).all() == []


def test_accepting_the_same_warning_twice_is_a_conflict(session):
    actor = make_account(session, role="committee")
    case = make_case(session, vignette=VIGNETTE).case
    values = {
        "case_id": case.id,
        "version": 1,
        "field": "vignette",
        "kind": "name",
        "text": "Mrs Hughes",
        "reason": "Invented.",
        "actor": actor,
    }
    deid.accept(session, **values)
    with pytest.raises(Conflict):
        deid.accept(session, **values)


def test_the_api_lists_warnings_and_accepts_them(client, session, committee):
    make_case(session, slug="hughes", status="draft", vignette=VIGNETTE)
    report = client.get("/api/v1/cases/hughes/deid", headers=committee)
    assert report.status_code == 200
    assert report.json()["unresolved"] == 2
    assert all(w["accepted"] is None for w in report.json()["warnings"])

    body = {"field": "vignette", "kind": "date", "text": "3 March 2024", "reason": "Invented."}
    accepted = client.post("/api/v1/cases/hughes/deid/accept", json=body, headers=committee)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["version"] == 1 and accepted.json()["by"].startswith("user")

    report = client.get("/api/v1/cases/hughes/deid", headers=committee).json()
    assert report["unresolved"] == 1
    date = next(w for w in report["warnings"] if w["kind"] == "date")
    assert date["accepted"]["reason"] == "Invented."
    assert date["accepted"]["by"] == accepted.json()["by"]

    again = client.post("/api/v1/cases/hughes/deid/accept", json=body, headers=committee)
    assert again.status_code == 409
    absent = {**body, "text": "4 March 2024"}
    response = client.post("/api/v1/cases/hughes/deid/accept", json=absent, headers=committee)
    assert response.status_code == 422
    missing = client.post("/api/v1/cases/nope/deid/accept", json=body, headers=committee)
    assert missing.status_code == 404


def test_students_may_not_see_or_accept_warnings(client, session):
    make_case(session, slug="hughes", vignette=VIGNETTE)
    student = token_for(client, make_account(session).username)
    body = {"field": "vignette", "kind": "date", "text": "3 March 2024", "reason": "Invented."}
    assert client.get("/api/v1/cases/hughes/deid", headers=student).status_code == 403
    response = client.post("/api/v1/cases/hughes/deid/accept", json=body, headers=student)
    assert response.status_code == 403


# --- the gate on curation --------------------------------------------------------------


def test_unaccepted_warnings_block_the_move_to_curated_until_accepted(client, session):
    author = token_for(client, make_account(session, role="faculty").username)
    reviewer = token_for(client, make_account(session, role="committee").username)
    make_case(session, slug="hughes", status="review", vignette=VIGNETTE)
    review = {"verdict": "approve", "comment": "Clear and fair."}
    assert client.post("/api/v1/cases/hughes/reviews", json=review, headers=reviewer).is_success

    to_curated = {"status": "curated"}
    blocked = client.post("/api/v1/cases/hughes/status", json=to_curated, headers=author)
    assert blocked.status_code == 409, blocked.text
    listed = {(p["kind"], p["text"]) for p in blocked.json()["detail"]}
    assert listed == {("name", "Mrs Hughes"), ("date", "3 March 2024")}
    assert all("may identify a person" in p["msg"] for p in blocked.json()["detail"])

    for kind, text in listed:
        body = {"field": "vignette", "kind": kind, "text": text, "reason": "Invented."}
        response = client.post("/api/v1/cases/hughes/deid/accept", json=body, headers=reviewer)
        assert response.status_code == 201
    moved = client.post("/api/v1/cases/hughes/status", json=to_curated, headers=author)
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "curated"


# --- the composer's warning ------------------------------------------------------------


@pytest.fixture
def seminar(session):
    prof = make_account(session, username="prof", role="faculty")
    ann = make_account(session, username="ann")
    outsider = make_account(session, username="zed", role="committee")
    cohort = cohorts.create_cohort(session, name="Seminar", creator=prof)
    cohorts.join(session, code=cohort.join_code, account=ann)
    make_case(session, slug="test-case")
    discussion = discussions.open_discussion(
        session,
        account=prof,
        data=discussions.DiscussionInput(case_slug="test-case", cohort_id=cohort.id or 0),
    )
    return {"discussion": discussion, "outsider": outsider}


def deid_check(client, discussion_id, token, htmx, **fields):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(
        f"/discussions/{discussion_id}/deid-check",
        data={"csrf_token": token, **fields},
        headers=headers,
    )


@pytest.mark.parametrize("htmx", [True, False])
def test_the_composer_warns_gently_of_text_that_may_identify_a_person(client, seminar, htmx):
    token = sign_in_browser(client, "ann")
    d = seminar["discussion"].id
    response = deid_check(
        client,
        d,
        token,
        htmx,
        summary="Respect Mrs <b>Hughes</b>",
        body="She was admitted on 3 March 2024.",
        **{"claims-0-text": "Call 07700 900123.", "claims-0-framework": "autonomy"},
    )
    assert response.status_code == 200
    note = BeautifulSoup(response.text, "html.parser").select_one("#deid-note")
    said = " ".join(note.text.split())
    assert said.startswith("This may identify a person:")
    assert "“3 March 2024” (date)" in said and "“07700 900123” (phone number)" in said
    assert said.endswith("Case discussions should use no real names, dates or numbers.")
    assert "<b>" not in response.text  # what the student typed is escaped

    clean = deid_check(client, d, token, htmx, summary="Act now.", body="Because autonomy.")
    assert clean.status_code == 200 and clean.text.strip() == ""


def test_the_composer_asks_for_the_warning_above_its_submit_button(client, seminar):
    sign_in_browser(client, "ann")
    d = seminar["discussion"].id
    page = BeautifulSoup(client.get(f"/discussions/{d}").text, "html.parser")
    warning = page.select_one("#composer #deid-warning")
    assert warning["hx-post"].endswith(f"/discussions/{d}/deid-check")
    assert warning["aria-live"] == "polite"
    assert warning.find_next_sibling("button")["id"] == "submit-position"


def test_a_warning_never_stops_a_post(client, seminar):
    token = sign_in_browser(client, "ann")
    d = seminar["discussion"].id
    response = client.post(
        f"/discussions/{d}/positions",
        data={
            "csrf_token": token,
            "option": "act",
            "summary": "Mrs Hughes should decide.",
            "body": "",
            "claims-0-framework": "autonomy",
            "claims-0-direction": "supports",
            "claims-0-text": "It is her life.",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_only_members_of_the_discussion_may_ask(client, seminar):
    token = sign_in_browser(client, "zed")
    response = deid_check(client, seminar["discussion"].id, token, True, summary="Mrs Hughes")
    assert response.status_code == 404
