"""The case library's pages, read as HTML."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from ethicsforum.security import CONTENT_SECURITY_POLICY
from tests.factories import make_case


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def listed(response) -> list[str]:
    return [li["id"].removeprefix("case-") for li in soup(response).select("li.case-card")]


def test_the_home_page_sends_a_visitor_to_sign_in(client):
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def test_the_library_page_lists_cases_with_a_search_form(client, library):
    response = client.get("/cases")
    assert response.status_code == 200
    assert response.template.name == "cases/list.html"
    page = soup(response)
    assert page.select_one("form#case-search input#q[type=search]")
    assert page.select_one("label[for=q]")
    assert len(listed(response)) == 20 or len(listed(response)) == len(library)
    assert page.select_one("#result-count").get_text(strip=True).startswith(f"{len(library)} ")


def test_the_page_has_landmarks_a_skip_link_and_local_htmx(client):
    page = soup(client.get("/cases"))
    assert page.select_one("a.skip-link")["href"] == "#main"
    assert page.select_one("main#main") and page.select_one("header") and page.select_one("nav")
    script = page.select_one("script[src]")
    assert "/static/htmx-2" in script["src"]
    assert not page.select("script:not([src])"), "no inline script under the CSP"
    assert client.get(script["src"]).status_code == 200


def test_search_narrows_the_list(client, library):
    response = client.get("/cases", params={"q": "Jehovah"})
    assert listed(response) == ["refusal-of-blood-products"]
    assert soup(response).select_one("#q")["value"] == "Jehovah"


def test_filters_by_framework_and_tag(client, library):
    response = client.get("/cases", params={"tag": "hiv", "framework": ""})
    assert listed(response) == ["hiv-status-partner-disclosure"]
    page = soup(response)
    assert page.select_one("#tag option[selected]")["value"] == "hiv"


def test_no_match_shows_an_empty_state_with_a_way_back(client, library):
    page = soup(client.get("/cases", params={"q": "xylophone"}))
    empty = page.select_one("#empty-state")
    assert "No cases match" in empty.get_text()
    assert empty.select_one("a")["href"].endswith("/cases")


def test_an_empty_library_says_how_to_fill_it(client):
    empty = soup(client.get("/cases")).select_one("#empty-state")
    assert "no cases yet" in empty.get_text()


def test_pages_link_to_each_other(client, session):
    for n in range(25):
        make_case(session, slug=f"case-{n:02d}", title=f"Case {n:02d}")
    first = soup(client.get("/cases", params={"q": "case"}))
    next_link = first.select_one("nav.pagination a[rel=next]")
    assert "page=2" in next_link["href"] and "q=case" in next_link["href"]
    second = client.get("/cases", params={"q": "case", "page": 2})
    assert len(listed(second)) == 5
    assert soup(second).select_one("nav.pagination a[rel=prev]")


def test_htmx_search_gets_only_the_results_fragment(client, library):
    headers = {"HX-Request": "true", "HX-Target": "case-results"}
    response = client.get("/cases", params={"q": "BRCA1"}, headers=headers)
    assert response.status_code == 200
    assert response.template.name == "cases/_results.html"
    assert response.text.lstrip().startswith('<section id="case-results"')
    assert listed(response) == ["brca-result-and-relatives"]
    assert "HX-Request" in response.headers["vary"]
    full = client.get("/cases", params={"q": "BRCA1"})
    assert full.template.name == "cases/list.html"
    assert listed(full) == listed(response)


def test_the_case_page_shows_vignette_question_options_frameworks_and_references(client, library):
    response = client.get("/cases/refusal-of-blood-products")
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("h1#case-title").get_text(strip=True)
    assert page.select_one("#vignette h2").get_text() == "Facts"
    assert len(page.select("#options li")) >= 2
    assert {a.get_text() for a in page.select("#frameworks a")} == {"autonomy", "beneficence"}
    assert len(page.select("#references li")) >= 3
    assert "version=1" in page.select_one("#citation a")["href"]


def test_markdown_in_a_vignette_cannot_inject_markup(client, session):
    make_case(
        session,
        vignette="<script>alert(1)</script> [x](javascript:alert(2))\n\n"
        "<img src=x onerror=alert(3)>",
    )
    page = soup(client.get("/cases/test-case"))
    vignette = page.select_one("#vignette")
    assert not vignette.select("script, img")
    assert not [a for a in vignette.select("a") if "javascript" in a.get("href", "")]
    assert "<script>alert(1)</script>" in vignette.get_text()


def test_an_unknown_case_is_a_readable_404_page(client):
    response = client.get("/cases/no-such-case")
    assert response.status_code == 404
    assert response.template.name == "errors/error.html"
    assert soup(response).select_one("h1").get_text() == "Not found"


def test_a_draft_is_not_found_for_visitors(client, session):
    make_case(session, status="draft")
    assert client.get("/cases/test-case").status_code == 404
    assert "test-case" not in client.get("/cases").text


@pytest.mark.parametrize(
    "params", [{"page": "0"}, {"page": "x"}, {"framework": "karma"}, {"status": "nope"}]
)
def test_bad_query_parameters_get_a_readable_page(client, params):
    response = client.get("/cases", params=params)
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("h1").get_text() == "Please correct the following"
    assert page.select("#problems li")


def test_an_unknown_address_is_a_404_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "<h1" in response.text


def test_every_response_carries_the_security_headers(client, library):
    for path in (
        "/cases",
        "/cases/duty-to-warn-threat",
        "/cases/none",
        "/api/v1/cases",
        "/static/site.css",
        "/openapi.json",
    ):
        response = client.get(path)
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
    csp = CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
