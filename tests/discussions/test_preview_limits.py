"""The Markdown previews are capped like the fields they preview and rate limited per account."""

from __future__ import annotations

import time

import pytest
from bs4 import BeautifulSoup

from ethicsforum.cases.fileformat import MAX_VIGNETTE
from ethicsforum.discussions.service import MAX_BODY
from ethicsforum.discussions.views import PREVIEWS_PER_MINUTE
from ethicsforum.markdown import render_markdown
from tests.conftest import make_settings
from tests.factories import make_account, sign_in_browser

HTMX = {"HX-Request": "true"}


@pytest.fixture
def settings(database_url, tmp_path):
    return make_settings(database_url, tmp_path, rate_limits=True)


@pytest.fixture
def ann(client, session):
    make_account(session, username="ann")
    return sign_in_browser(client, "ann")


@pytest.fixture
def kim(client, session):
    make_account(session, username="kim", role="committee")
    return sign_in_browser(client, "kim")


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_the_audits_900_kb_of_brackets_is_refused_without_rendering(client, ann, headers):
    # CPU seconds of this process (the app runs in it), not wall time: a blow-up is work,
    # and a machine busy with other tests must not look like one.
    started = time.process_time()
    # 300,000 brackets are 900 KB once form-encoded (%5B), under the 1 MiB request limit.
    response = client.post(
        "/markdown/preview", data={"body": "[" * 300_000, "csrf_token": ann}, headers=headers
    )
    assert time.process_time() - started < 2
    assert response.status_code == (200 if headers else 422)
    preview = BeautifulSoup(response.text, "html.parser").select_one("#preview")
    assert preview["role"] == "alert"
    assert f"at most {MAX_BODY:,}" in preview.get_text()
    assert "[[[" not in response.text


def test_a_body_at_the_limit_is_still_previewed(client, ann):
    response = client.post(
        "/markdown/preview", data={"body": "*x* " + "y" * (MAX_BODY - 4), "csrf_token": ann}
    )
    assert response.status_code == 200 and "<em>x</em>" in response.text


def test_previews_are_rate_limited_per_account_with_retry_after(client, session, ann):
    for _ in range(PREVIEWS_PER_MINUTE):
        ok = client.post("/markdown/preview", data={"body": "*hi*", "csrf_token": ann})
        assert ok.status_code == 200
    refused = client.post(
        "/markdown/preview", data={"body": "*hi*", "csrf_token": ann}, headers=HTMX
    )
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another account has its own budget.
    client.cookies.clear()
    make_account(session, username="bob")
    bob = sign_in_browser(client, "bob")
    other = client.post("/markdown/preview", data={"body": "x", "csrf_token": bob})
    assert other.status_code == 200


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_the_case_editor_preview_is_capped_at_the_vignettes_limit(client, kim, headers):
    response = client.post(
        "/cases/preview",
        data={"vignette": "[" * (MAX_VIGNETTE + 1), "csrf_token": kim},
        headers=headers,
    )
    assert response.status_code == (200 if headers else 422)
    preview = BeautifulSoup(response.text, "html.parser").select_one("#vignette-preview")
    assert f"at most {MAX_VIGNETTE:,}" in preview.get_text()
    assert "[[[" not in response.text
    fine = client.post(
        "/cases/preview", data={"vignette": "*fine*", "csrf_token": kim}, headers=headers
    )
    assert fine.status_code == 200 and "<em>fine</em>" in fine.text


def test_the_case_editor_preview_is_rate_limited(client, kim):
    statuses = [
        client.post("/cases/preview", data={"vignette": "x", "csrf_token": kim}).status_code
        for _ in range(121)
    ]
    assert statuses[:120] == [200] * 120 and statuses[120] == 429


@pytest.mark.parametrize(
    "text",
    [
        "> " * 10_000,
        "- " * 10_000,
        "".join(" " * (2 * i) + "- x\n" for i in range(300)),
        "*a" * 10_000,
        "![" * 10_000,
    ],
    ids=["quotes", "list-markers", "nested-lists", "emphasis", "images"],
)
def test_nested_or_pathological_markdown_at_the_cap_renders_quickly(text):
    # CPU seconds of this process (the app runs in it), not wall time: a blow-up is work,
    # and a machine busy with other tests must not look like one.
    started = time.process_time()
    render_markdown(text[:MAX_BODY])
    assert time.process_time() - started < 1
    assert render_markdown("> " * 200 + "deep").count("<blockquote>") <= 20


def test_the_editors_live_check_reads_no_more_than_a_case_may_hold():
    from starlette.datastructures import FormData

    from ethicsforum.cases import editor, editor_page

    form = editor.from_form(
        FormData(
            [
                ("vignette", "The patient said no. " * 50_000),
                ("learning_objectives", "Explain it.\n" * 50_000),
                ("tags", "a," * 50_000),
            ]
        )
    )
    fields = editor_page.deid_fields(form)
    assert max(len(text) for text in fields.values()) == MAX_VIGNETTE
    assert sum(name.startswith("learning_objectives.") for name in fields) == 30
    assert sum(name.startswith("tags.") for name in fields) == 20
