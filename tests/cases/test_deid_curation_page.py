"""Accepting de-identification warnings on the case page, so curation finishes in the browser;
and slugs that name library pages are refused."""

from __future__ import annotations

from bs4 import BeautifulSoup

from tests.cases.test_curation import CONTENT
from tests.factories import csrf_from, make_account, sign_in_browser, token_for

VIGNETTE = "Mrs Jane Doe, DOB 04/05/1961, attends the clinic with her husband."


def _case_in_review(client, session):
    ann = make_account(session, username="ann", role="committee", display_name="Ann Author")
    bob = make_account(session, username="bob", role="committee", display_name="Bob Review")
    ann_h, bob_h = token_for(client, ann.username), token_for(client, bob.username)
    body = {"slug": "partner", **CONTENT, "vignette": VIGNETTE}
    assert client.post("/api/v1/cases", json=body, headers=ann_h).status_code == 201
    moved = client.post("/api/v1/cases/partner/status", json={"status": "review"}, headers=ann_h)
    assert moved.status_code == 200, moved.text
    approved = client.post(
        "/api/v1/cases/partner/reviews",
        json={"verdict": "approve", "comment": "Reads well."},
        headers=bob_h,
    )
    assert approved.status_code == 201, approved.text
    return bob_h


def test_warnings_are_accepted_on_the_page_and_then_the_case_can_be_curated(client, session):
    bob_h = _case_in_review(client, session)
    refused = client.post("/api/v1/cases/partner/status", json={"status": "curated"}, headers=bob_h)
    assert refused.status_code == 409

    sign_in_browser(client, "bob")
    page = BeautifulSoup(client.get("/cases/partner").text, "html.parser")
    forms = page.select("#deid-warnings form.deid-accept")
    texts = {f.select_one("input[name=text]")["value"] for f in forms}
    assert "Jane Doe" in " ".join(texts) and "04/05/1961" in " ".join(texts)
    assert page.select_one("#deid-unresolved")

    # A reason is required, and what went wrong is said on the page.
    first = forms[0]
    fields = {i["name"]: i.get("value", "") for i in first.select("input[type=hidden]")}
    empty = client.post(first["action"], data={**fields, "reason": "  "}, follow_redirects=False)
    assert empty.status_code == 422
    assert "reason" in BeautifulSoup(empty.text, "html.parser").select_one("#deid-error").text

    for form in forms:
        fields = {i["name"]: i.get("value", "") for i in form.select("input[type=hidden]")}
        done = client.post(
            form["action"],
            data={**fields, "reason": "Invented for teaching."},
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
    page = BeautifulSoup(client.get("/cases/partner").text, "html.parser")
    assert not page.select("#deid-warnings form.deid-accept")
    assert "Invented for teaching." in page.select_one("#deid-warnings").text
    assert not page.select_one("#deid-unresolved")

    token = csrf_from(client.get("/cases/partner").text)
    curated = client.post(
        "/cases/partner/status",
        data={"csrf_token": token, "status": "curated"},
        follow_redirects=False,
    )
    assert curated.status_code == 303
    assert client.get("/api/v1/cases/partner", headers=bob_h).json()["status"] == "curated"


def test_a_case_without_warnings_says_so(client, session):
    _case_in_review(client, session)
    client.put(
        "/api/v1/cases/partner",
        json={**CONTENT, "change_note": "Plain vignette."},
        headers=token_for(client, "ann"),
    )
    sign_in_browser(client, "bob")
    page = BeautifulSoup(client.get("/cases/partner").text, "html.parser")
    assert page.select_one("#deid-none")


def test_a_slug_that_names_a_library_page_is_refused(client, session):
    make_account(session, username="keeper", role="committee")
    headers = token_for(client, "keeper")
    for slug in ("new", "export", "import-bundle"):
        response = client.post("/api/v1/cases", json={"slug": slug, **CONTENT}, headers=headers)
        assert response.status_code == 422, (slug, response.text)
        assert "page of the library" in response.text


def test_editors_download_the_case_file_from_the_page(client, session, library):
    make_account(session, username="keeper", role="committee")
    sign_in_browser(client, "keeper")
    slug = library[0]
    page = BeautifulSoup(client.get(f"/cases/{slug}").text, "html.parser")
    link = page.select_one("#export-link")["href"]
    response = client.get(link)
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="{slug}.md"'
    api = client.get(f"/api/v1/cases/{slug}/export", headers=token_for(client, "keeper"))
    assert response.text == api.text and response.text.startswith("---\n")


def test_an_editor_search_with_any_status_is_not_refused(client, session):
    make_account(session, username="keeper", role="committee")
    sign_in_browser(client, "keeper")
    assert client.get("/cases?q=&framework=&tag=&status=").status_code == 200
    assert client.get("/cases?status=review").status_code == 200
    assert client.get("/cases?status=bogus").status_code == 422
