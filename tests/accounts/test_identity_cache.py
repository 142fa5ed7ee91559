"""The identity cache: a sign-in is read once and then answered from memory, and every change
that ends or alters it is refused or seen on the very next request in this process."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from ethicsforum.accounts import identity, sessions
from ethicsforum.accounts.models import Account, ApiToken, BrowserSession
from ethicsforum.accounts.service import hash_token
from ethicsforum.db import utcnow
from tests.factories import make_account, sign_in_browser, token_for


def _signed_in_browser(client, session, **account):
    make_account(session, username="jo", **account)
    csrf = sign_in_browser(client, "jo")
    assert client.get("/cohorts", follow_redirects=False).status_code == 200
    return csrf


def _refused(client) -> bool:
    response = client.get("/cohorts", follow_redirects=False)
    return response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_signed_in_request_is_answered_from_the_cache_without_reading_the_session(
    client, session, app
):
    _signed_in_browser(client, session)
    statements: list[str] = []

    from sqlalchemy import event

    def seen(_conn, _cursor, statement, *_):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(app.state.engine, "before_cursor_execute", seen)
    try:
        hits = identity.CACHE.hits
        assert client.get("/cohorts").status_code == 200
    finally:
        event.remove(app.state.engine, "before_cursor_execute", seen)
    assert identity.CACHE.hits > hits
    assert not [s for s in statements if "browser_session" in s]


def test_signing_out_is_refused_on_the_very_next_request(client, session):
    csrf = _signed_in_browser(client, session)
    kept = client.cookies["ef_session"]
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 200
    client.cookies.set("ef_session", kept)
    assert _refused(client)


def test_a_session_revoked_elsewhere_is_refused_on_the_very_next_request(client, session):
    _signed_in_browser(client, session)
    stored = session.exec(select(BrowserSession)).one()
    stored.revoked_at = utcnow()
    session.add(stored)
    session.commit()
    assert _refused(client)


def test_a_deactivated_account_is_refused_on_the_very_next_request(client, session):
    _signed_in_browser(client, session)
    headers = token_for(client, "jo")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    account = session.exec(select(Account).where(Account.username == "jo")).one()
    account.deactivated_at = utcnow()
    session.add(account)
    session.commit()
    assert _refused(client)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_role_change_is_seen_on_the_very_next_request(client, session):
    _signed_in_browser(client, session, role="faculty")
    headers = token_for(client, "jo")
    assert client.get("/moderation").status_code == 200
    assert client.get("/api/v1/me", headers=headers).json()["role"] == "faculty"
    account = session.exec(select(Account).where(Account.username == "jo")).one()
    account.role = "student"
    session.add(account)
    session.commit()
    assert client.get("/moderation").status_code == 403
    assert client.get("/api/v1/me", headers=headers).json()["role"] == "student"


def test_a_revoked_token_is_refused_on_the_very_next_request(client, session):
    make_account(session, username="jo")
    headers = token_for(client, "jo")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/revoke", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_password_change_ends_cached_sign_ins_of_that_account(client, session):
    _signed_in_browser(client, session)
    token = client.get("/api/v1/me", headers=token_for(client, "jo"))
    assert token.status_code == 200
    cookie = hash_token(client.cookies["ef_session"])
    assert identity.CACHE.get("session", cookie) is not None
    account = session.exec(select(Account).where(Account.username == "jo")).one()
    account.password_hash = "changed"
    session.add(account)
    session.commit()
    assert identity.CACHE.get("session", cookie) is None


def test_a_change_rolled_back_drops_nothing(client, session):
    _signed_in_browser(client, session)
    cookie = hash_token(client.cookies["ef_session"])
    stored = session.exec(select(BrowserSession)).one()
    stored.revoked_at = utcnow()
    session.add(stored)
    session.flush()
    session.rollback()
    assert identity.CACHE.get("session", cookie) is not None
    assert client.get("/cohorts", follow_redirects=False).status_code == 200


def test_a_read_that_began_before_a_change_is_not_kept(client, session, app):
    """A reader that read the session before a revocation committed must not cache it."""
    make_account(session, username="jo")
    sign_in_browser(client, "jo")
    token = client.cookies["ef_session"]
    identity.CACHE.clear()
    epoch = identity.CACHE.epoch
    stored = session.exec(select(BrowserSession)).one()
    stale = identity.Entry(
        kind="session",
        token_hash=stored.token_hash,
        account_id=stored.account_id,
        row=identity.snapshot(stored),
        account=identity.snapshot(session.get(Account, stored.account_id)),
    )
    stored.revoked_at = utcnow()
    session.add(stored)
    session.commit()
    identity.CACHE.put(stale, epoch=epoch)  # what the slow reader would store now
    assert identity.CACHE.get("session", hash_token(token)) is None
    assert _refused(client)


def test_entries_expire_after_their_ttl(session):
    cache = identity.IdentityCache(ttl=0.0)
    account = make_account(session, username="jo")
    cache.put(
        identity.Entry(
            kind="token",
            token_hash="x",
            account_id=account.id or 0,
            row=(),
            account=identity.snapshot(account),
        ),
        epoch=cache.epoch,
    )
    assert cache.get("token", "x") is None


def test_a_cached_session_past_its_idle_time_out_is_looked_up_again(client, session):
    _signed_in_browser(client, session)
    cookie = client.cookies["ef_session"]
    assert sessions.cached(cookie, idle=timedelta(minutes=30)) is not None
    assert sessions.cached(cookie, idle=timedelta(0)) is None


def test_bulk_changes_to_tokens_drop_every_entry(client, session):
    from sqlalchemy import update

    make_account(session, username="jo")
    headers = token_for(client, "jo")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    session.execute(update(ApiToken).values(revoked_at=utcnow()))
    session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_token_revoked_through_one_server_process_is_refused_at_once_by_another(
    session, database_url, tmp_path
):
    """Two real server processes on PostgreSQL: the change reaches the other's cache through
    NOTIFY, well inside the cache's TTL (which would otherwise let it through for 10 s)."""
    import os
    import signal
    import time

    import httpx
    import pytest

    from tests.discussions.test_live import _serve
    from tests.factories import PASSWORD

    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one server process; LISTEN/NOTIFY is PostgreSQL's")
    make_account(session, username="jo")
    workers = [_serve(database_url, tmp_path, name) for name in ("worker-a", "worker-b")]
    try:
        (_, base_a), (_, base_b) = workers
        token = httpx.post(
            f"{base_a}/api/v1/auth/token", data={"username": "jo", "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(2):  # the second is answered from worker A's cache
            assert httpx.get(f"{base_a}/api/v1/me", headers=headers).status_code == 200
        time.sleep(0.5)  # both workers' LISTEN connections are up
        revoked = httpx.post(f"{base_b}/api/v1/auth/revoke", headers=headers)
        assert revoked.status_code == 204, revoked.text
        deadline = time.monotonic() + 3  # far less than the 10 s TTL
        while httpx.get(f"{base_a}/api/v1/me", headers=headers).status_code == 200:
            assert time.monotonic() < deadline, "worker A still accepted a revoked token"
            time.sleep(0.05)
        assert httpx.get(f"{base_a}/api/v1/me", headers=headers).status_code == 401
    finally:
        for proc, _ in workers:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
