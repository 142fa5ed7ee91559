"""The OpenAPI document says what the API answers: errors, their shape, the methods of a path."""

from __future__ import annotations

from tests.factories import signed_in


def test_every_api_operation_documents_its_refusals_as_json(app):
    document = app.openapi()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status in ("401", "403", "404", "422"):
                response = operation["responses"].get(status)
                assert response, f"{method.upper()} {path} does not document {status}"
                assert list(response["content"]) == ["application/json"], (method, path, status)


def test_a_rule_broken_with_one_message_is_still_a_422_list(client, session):
    # POST /cases/import reads its own body; an empty one is refused by a rule, not the schema.
    headers = signed_in(client, session, "faculty")
    response = client.post(
        "/api/v1/cases/import", content=b"", headers={**headers, "Content-Type": "text/markdown"}
    )
    assert response.status_code == 422
    problems = response.json()["detail"]
    assert isinstance(problems, list) and problems
    assert all({"loc", "msg", "type"} <= set(p) for p in problems)


def test_another_method_on_a_literal_path_is_405_listing_every_method(client, session):
    headers = signed_in(client, session, "student")
    # /cohorts/join is an action, not a cohort called "join" (that was a 422 about an id).
    joined = client.get("/api/v1/cohorts/join", headers=headers)
    assert joined.status_code == 405 and joined.headers["allow"] == "POST"
    # Two routes share /cohorts: both methods are named, not only the first one's.
    listed = client.delete("/api/v1/cohorts", headers=headers)
    assert listed.status_code == 405
    assert set(listed.headers["allow"].split(", ")) >= {"GET", "POST"}
