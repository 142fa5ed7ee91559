"""ETHICSFORUM_SECRET_KEY derives the pseudonym keys and the CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac

from fastapi.testclient import TestClient
from sqlmodel import select

from ethicsforum.accounts.models import Account, BrowserSession
from ethicsforum.discussions import present
from ethicsforum.discussions.models import Discussion
from ethicsforum.main import create_app
from tests.conftest import SECRET, fresh, make_settings
from tests.discussions.conftest import open_discussion, post_position
from tests.factories import csrf_from, sign_in_browser

OTHER_SECRET = "another-secret-key-fedcba9876543210"


def label_of_ann(client: TestClient, world, discussion) -> str:  # type: ignore[no-untyped-def]
    positions = client.get(
        f"/api/v1/discussions/{discussion['id']}/positions", headers=world["h"]["bob"]
    ).json()
    [ann] = [p for p in positions if not p["author"]["is_you"]]
    return str(ann["author"]["label"])


def from_the_database_alone(salt: str, account_id: int) -> str:
    """What the stored per-discussion value alone gives (how pseudonyms were made before)."""
    digest = hmac.new(bytes.fromhex(salt), str(account_id).encode(), hashlib.sha256).digest()
    n = int.from_bytes(digest[:8], "big")
    return f"{present.ADJECTIVES[n % 64]} {present.ANIMALS[(n >> 6) % 64]} {(n >> 12) % 100:02d}"


def test_pseudonyms_need_the_secret_key_and_stay_stable_with_it(
    client, world, session, database_url, tmp_path
):
    discussion = open_discussion(client, world)
    post_position(client, world, discussion, "ann")
    post_position(client, world, discussion, "bob")
    label = label_of_ann(client, world, discussion)
    assert label == label_of_ann(client, world, discussion)

    stored = fresh(session).get(Discussion, discussion["id"])
    ann = session.exec(select(Account).where(Account.username == "ann")).one()
    assert label != from_the_database_alone(stored.pseudonym_key, ann.id)
    assert label == present.pseudonym(stored.pseudonym_key, ann.id)

    with TestClient(
        create_app(make_settings(database_url, tmp_path, secret_key=OTHER_SECRET))
    ) as c:
        assert label_of_ann(c, world, discussion) != label  # another key, other pseudonyms
    # A restart with the same key gives the same pseudonyms.
    with TestClient(create_app(make_settings(database_url, tmp_path, secret_key=SECRET))) as c:
        assert label_of_ann(c, world, discussion) == label


def test_a_signed_in_forms_token_is_derived_from_the_secret_not_stored(client, world, session):
    token = sign_in_browser(client, "prof")
    stored = fresh(session).exec(select(BrowserSession)).one().csrf_secret
    assert token != stored
    # The value in the database alone does not pass as a token.
    refused = client.post("/logout", data={"csrf_token": stored}, follow_redirects=False)
    assert refused.status_code == 403
    assert (
        client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code
        == 303
    )


def test_the_anonymous_forms_token_is_not_the_cookie_itself(client, world):
    login = client.get("/login")
    token = csrf_from(login.text)
    cookie = client.cookies["ef_csrf"]
    assert token != cookie
    data = {"username": "ann", "password": "correct-horse-battery-9"}
    planted = client.post("/login", data={**data, "csrf_token": cookie}, follow_redirects=False)
    assert planted.status_code == 403  # a planted cookie is no use without the server's token
    assert (
        client.post(
            "/login", data={**data, "csrf_token": token}, follow_redirects=False
        ).status_code
        == 303
    )


def test_a_new_secret_key_expires_open_forms_but_keeps_people_signed_in(
    world, database_url, tmp_path
):
    with TestClient(create_app(make_settings(database_url, tmp_path))) as before:
        old_token = sign_in_browser(before, "prof")
        cookies = dict(before.cookies)
    rotated = create_app(make_settings(database_url, tmp_path, secret_key=OTHER_SECRET))
    with TestClient(rotated, cookies=cookies) as after:
        expired = after.post("/logout", data={"csrf_token": old_token}, follow_redirects=False)
        assert expired.status_code == 403 and "reload the page" in expired.text
        page = after.get("/cohorts", follow_redirects=False)
        assert page.status_code == 200  # still signed in
        new_token = csrf_from(page.text)
        assert new_token != old_token
        signed_out = after.post("/logout", data={"csrf_token": new_token}, follow_redirects=False)
        assert signed_out.status_code == 303
