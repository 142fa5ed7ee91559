"""Live updates over Server-Sent Events, rendered for each recipient."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import timedelta

import httpx
import pytest

from ethicsforum.accounts import sessions
from ethicsforum.accounts.models import Account
from ethicsforum.main import create_app
from tests.conftest import REPO, SECRET, fresh
from tests.discussions.conftest import open_discussion, position_body
from tests.live import EventReader, free_port, serve_in_thread


def cookie_for(session, username: str) -> dict[str, str]:
    from sqlmodel import select

    account = fresh(session).exec(select(Account).where(Account.username == username)).one()
    token = sessions.start(session, account=account, absolute=timedelta(hours=1), user_agent=None)
    return {sessions.COOKIE: token}


def test_a_new_position_reaches_each_viewer_rendered_for_them(client, world, session, settings):
    discussion = open_discussion(client, world)
    with serve_in_thread(create_app(settings)) as base:
        url = f"{base}/discussions/{discussion['id']}/events"
        bob = EventReader(url, cookie_for(session, "bob"))
        prof = EventReader(url, cookie_for(session, "prof"))
        try:
            assert bob.status == 200 and prof.status == 200
            posted = httpx.post(
                f"{base}/api/v1/discussions/{discussion['id']}/positions",
                json=position_body(summary="Live summary"),
                headers=world["h"]["ann"],
            )
            assert posted.status_code == 201
            seen_by_bob = bob.next()
            assert seen_by_bob.event == "position"
            assert "Live summary" in seen_by_bob.data
            assert f'id="position-{posted.json()["id"]}"' in seen_by_bob.data
            assert "Ann Real" not in seen_by_bob.data and ">ann<" not in seen_by_bob.data
            assert "Ann Real" in prof.next().data
            httpx.patch(
                f"{base}/api/v1/discussions/{discussion['id']}",
                json={"phase": "rebuttals"},
                headers=world["h"]["prof"],
            )
            assert bob.next().event == "phase"
        finally:
            bob.close()
            prof.close()


def test_post_first_keeps_peer_positions_off_the_stream_until_one_has_posted(
    client, world, session, settings
):
    discussion = open_discussion(client, world, post_first=True)
    with serve_in_thread(create_app(settings)) as base:
        bob = EventReader(
            f"{base}/discussions/{discussion['id']}/events", cookie_for(session, "bob")
        )
        try:
            httpx.post(
                f"{base}/api/v1/discussions/{discussion['id']}/positions",
                json=position_body(summary="Secret until you post"),
                headers=world["h"]["ann"],
            )
            httpx.patch(
                f"{base}/api/v1/discussions/{discussion['id']}",
                json={"phase": "rebuttals"},
                headers=world["h"]["prof"],
            )
            first = bob.next()
            assert first.event == "phase"  # the position before it was not sent to bob
            assert "Secret until you post" not in first.data
        finally:
            bob.close()


def test_the_stream_needs_sign_in_and_membership(client, world, session, settings):
    discussion = open_discussion(client, world)
    with serve_in_thread(create_app(settings)) as base:
        url = f"{base}/discussions/{discussion['id']}/events"
        anonymous = httpx.get(url, follow_redirects=False)
        assert anonymous.status_code == 303
        outsider = httpx.get(url, cookies=cookie_for(session, "zed"))
        assert outsider.status_code == 404


def test_rebuttals_reach_the_position_page_stream_of_that_position_only(
    client, world, session, settings
):
    discussion = open_discussion(client, world, early_rebuttals=True)
    ann = client.post(
        f"/api/v1/discussions/{discussion['id']}/positions",
        json=position_body(),
        headers=world["h"]["ann"],
    ).json()
    cat = client.post(
        f"/api/v1/discussions/{discussion['id']}/positions",
        json=position_body(summary="Cat's"),
        headers=world["h"]["cat"],
    ).json()
    with serve_in_thread(create_app(settings)) as base:
        reader = EventReader(
            f"{base}/discussions/{discussion['id']}/events?position={ann['id']}",
            cookie_for(session, "ann"),
        )
        try:
            httpx.post(
                f"{base}/api/v1/positions/{cat['id']}/rebuttals",
                json={"kind": "counter", "body": "Elsewhere"},
                headers=world["h"]["bob"],
            )
            httpx.post(
                f"{base}/api/v1/positions/{ann['id']}/rebuttals",
                json={"kind": "question", "body": "Here?"},
                headers=world["h"]["bob"],
            )
            event = reader.next()
            assert event.event == "rebuttal" and "Here?" in event.data
            assert "Elsewhere" not in event.data
        finally:
            reader.close()


def _serve(database_url: str, tmp_path, name: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETHICSFORUM_")}
    env.update(
        ETHICSFORUM_DATABASE_URL=database_url,
        ETHICSFORUM_SECRET_KEY=SECRET,
        ETHICSFORUM_RATE_LIMITS="off",
    )
    log = (tmp_path / f"{name}.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603
        [str(REPO / ".venv" / "bin" / "ethicsforum"), "serve", "--port", str(port), "--no-migrate"],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(base + "/healthz", timeout=1)
            return proc, base
        except httpx.HTTPError:
            assert proc.poll() is None, (tmp_path / f"{name}.log").read_text()
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not start")


def test_an_event_crosses_server_processes_through_postgresql(
    client, world, session, database_url, tmp_path
):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one server process; LISTEN/NOTIFY is PostgreSQL's")
    discussion = open_discussion(client, world)
    first, base_a = _serve(database_url, tmp_path, "worker-a")
    second, base_b = _serve(database_url, tmp_path, "worker-b")
    try:
        reader = EventReader(
            f"{base_a}/discussions/{discussion['id']}/events", cookie_for(session, "bob")
        )
        try:
            time.sleep(0.5)  # worker A's LISTEN connection is up
            posted = httpx.post(
                f"{base_b}/api/v1/discussions/{discussion['id']}/positions",
                json=position_body(summary="Through worker B"),
                headers=world["h"]["ann"],
            )
            assert posted.status_code == 201
            event = reader.next(timeout=20)
            assert event.event == "position" and "Through worker B" in event.data
        finally:
            reader.close()
    finally:
        for proc in (first, second):
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)


def test_an_announcement_is_rendered_once_per_visibility_class_not_once_per_stream(
    client, world, session, settings
):
    discussion = open_discussion(client, world)
    app = create_app(settings)
    with serve_in_thread(app) as base:
        url = f"{base}/discussions/{discussion['id']}/events"
        readers = {
            name: EventReader(url, cookie_for(session, user))
            for name, user in [
                ("ann", "ann"),
                ("bob", "bob"),
                ("bob-second-tab", "bob"),
                ("cat", "cat"),
                ("prof", "prof"),
            ]
        }
        try:
            posted = httpx.post(
                f"{base}/api/v1/discussions/{discussion['id']}/positions",
                json=position_body(summary="Shared once"),
                headers=world["h"]["ann"],
            )
            assert posted.status_code == 201
            seen = {name: reader.next() for name, reader in readers.items()}
        finally:
            for reader in readers.values():
                reader.close()
    assert all(event.event == "position" for event in seen.values())
    # Five streams, three classes: the author, faculty, and classmates who may see peers.
    assert app.state.live_renders.renders == 3
    assert seen["bob"].data == seen["bob-second-tab"].data == seen["cat"].data
    assert "Ann Real" not in seen["cat"].data and ">you<" not in seen["cat"].data
    assert "Ann Real" in seen["prof"].data
    assert ">you<" in seen["ann"].data
