"""Overload: a full server answers 503 with Retry-After at once, never 500; event streams
are capped per sign-in and per process, re-check the sign-in and end after their lifetime."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from ethicsforum.accounts import sessions
from ethicsforum.accounts.models import Account
from ethicsforum.db import utcnow
from ethicsforum.main import create_app
from tests.conftest import fresh, make_settings
from tests.discussions.conftest import open_discussion
from tests.factories import csrf_from
from tests.live import serve_in_thread


def start_session(session, username: str) -> dict[str, str]:
    account = fresh(session).exec(select(Account).where(Account.username == username)).one()
    token = sessions.start(session, account=account, absolute=timedelta(hours=1), user_agent=None)
    return {sessions.COOKIE: token}


class Watcher:
    """Reads one event stream in a thread until the server ends it."""

    def __init__(self, url: str, cookies: dict[str, str]):
        self.lines: list[str] = []
        self.status: int | None = None
        self.opened = threading.Event()
        self.ended = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url, cookies), daemon=True)
        self._thread.start()
        assert self.opened.wait(15), "the stream did not open"

    def _run(self, url: str, cookies: dict[str, str]) -> None:
        try:
            with (
                httpx.Client(cookies=cookies, timeout=httpx.Timeout(30)) as client,
                client.stream("GET", url) as response,
            ):
                self.status = response.status_code
                self.opened.set()
                for line in response.iter_lines():
                    self.lines.append(line)
        except httpx.HTTPError:
            pass
        finally:
            self.opened.set()
            self.ended.set()


@pytest.fixture
def stream_settings(database_url, tmp_path):
    return make_settings(
        database_url,
        tmp_path,
        stream_keepalive_seconds=0.3,
        stream_lifetime_seconds=60,
        max_streams_per_session=5,
    )


def test_a_burst_of_requests_and_streams_gets_only_200_or_503(
    client, world, session, database_url, tmp_path
):
    discussion = open_discussion(client, world)
    settings = make_settings(
        database_url,
        tmp_path,
        max_requests=8,
        max_streams=60,
        max_streams_per_session=5,
        pool_timeout_seconds=2,
    )
    cookies = [start_session(session, name) for name in ("ann", "bob", "cat") for _ in range(17)]
    bearer = world["h"]["ann"]
    with serve_in_thread(create_app(settings)) as base:
        paths = ["/api/v1/me", "/cases", "/api/v1/cases", f"/discussions/{discussion['id']}"]

        async def burst() -> tuple[list[httpx.Response], list[int]]:
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
            timeout = httpx.Timeout(120)
            async with httpx.AsyncClient(limits=limits, timeout=timeout) as plain:

                async def one(i: int) -> httpx.Response:
                    path = paths[i % len(paths)]
                    if path.startswith("/api/"):
                        return await plain.get(base + path, headers=bearer)
                    [(name, value)] = cookies[i % len(cookies)].items()
                    return await plain.get(base + path, headers={"Cookie": f"{name}={value}"})

                answers = await asyncio.gather(*(one(i) for i in range(300)))

            close = asyncio.Event()
            statuses: list[int] = []

            async def stream(i: int) -> None:
                async with (
                    httpx.AsyncClient(cookies=cookies[i % len(cookies)], timeout=timeout) as c,
                    c.stream("GET", f"{base}/discussions/{discussion['id']}/events") as r,
                ):
                    statuses.append(r.status_code)
                    if r.status_code == 200:
                        await close.wait()

            tasks = [asyncio.create_task(stream(i)) for i in range(250)]
            while len(statuses) < 250 and not any(t.done() and t.exception() for t in tasks):
                await asyncio.sleep(0.05)
            close.set()
            await asyncio.gather(*tasks)
            return answers, statuses

        # In a thread of its own: a browser test earlier in this worker may have left
        # Playwright's event loop running in the main thread, where asyncio.run refuses.
        with concurrent.futures.ThreadPoolExecutor(1) as runner:
            answers, stream_statuses = runner.submit(asyncio.run, burst()).result()
        after = httpx.get(f"{base}/api/v1/me", headers=bearer)

    codes = [a.status_code for a in answers]
    assert set(codes) <= {200, 503}, sorted(set(codes))
    assert 503 in codes and 200 in codes
    busy = next(a for a in answers if a.status_code == 503)
    assert busy.headers["retry-after"] == "1"
    assert busy.headers["x-content-type-options"] == "nosniff"
    api_busy = [a for a in answers if a.status_code == 503 and "/api/" in str(a.url)]
    assert all(a.json()["detail"] for a in api_busy)
    assert set(stream_statuses) <= {200, 503}, sorted(set(stream_statuses))
    assert stream_statuses.count(200) <= 60 and 503 in stream_statuses
    assert after.status_code == 200  # and the server is fine afterwards


def test_a_pool_that_stays_full_answers_503_with_retry_after_not_500(
    database_url, tmp_path, world, client
):
    settings = make_settings(database_url, tmp_path, max_requests=2, pool_timeout_seconds=0.2)
    app = create_app(settings)
    bearer = world["h"]["ann"]
    with TestClient(app) as busy_client, contextlib.ExitStack() as held:
        # Something else holds every connection of the pool (capacity: requests + streams).
        for _ in range(settings.pool_capacity):
            held.enter_context(app.state.engine.connect())
        api = busy_client.get("/api/v1/me", headers=bearer)
        page = busy_client.get("/cases")
    assert api.status_code == 503 and api.headers["retry-after"] == "1"
    assert "busy" in api.json()["detail"]
    assert page.status_code == 503 and page.headers["retry-after"] == "1"
    assert "busy" in page.text and page.headers["content-security-policy"]


def test_the_pool_is_never_smaller_than_the_requests_let_in(database_url, tmp_path):
    from ethicsforum.db import make_engine

    for max_requests in (1, 40, 120):
        settings = make_settings(database_url, tmp_path, max_requests=max_requests)
        engine = make_engine(settings)
        try:
            pool = engine.pool
            capacity = pool.size() + pool._max_overflow  # type: ignore[attr-defined]
            assert capacity >= max_requests + 1
            assert pool._timeout <= 5  # type: ignore[attr-defined]
        finally:
            engine.dispose()


def test_the_sixth_stream_of_one_sign_in_is_refused(client, world, session, stream_settings):
    discussion = open_discussion(client, world)
    cookie = start_session(session, "bob")
    with serve_in_thread(create_app(stream_settings)) as base:
        url = f"{base}/discussions/{discussion['id']}/events"
        watchers = [Watcher(url, cookie) for _ in range(5)]
        assert [w.status for w in watchers] == [200] * 5
        sixth = httpx.get(url, cookies=cookie, headers={"Accept": "text/event-stream"})
        assert sixth.status_code == 429
        assert sixth.headers["retry-after"]
        # Another sign-in of the same person is a separate budget; a closed tab frees one.
        other = Watcher(url, start_session(session, "bob"))
        assert other.status == 200
        assert not any(w.ended.is_set() for w in watchers)


def test_signing_out_ends_an_open_stream(client, world, session, stream_settings):
    discussion = open_discussion(client, world)
    cookie = start_session(session, "bob")
    with serve_in_thread(create_app(stream_settings)) as base:
        watcher = Watcher(f"{base}/discussions/{discussion['id']}/events", cookie)
        assert watcher.status == 200
        with httpx.Client(base_url=base, cookies=cookie) as browser:
            token = csrf_from(browser.get("/cohorts").text)
            out = browser.post("/logout", data={"csrf_token": token}, follow_redirects=False)
            assert out.status_code == 303
        assert watcher.ended.wait(10), "the stream outlived the sign-in"
        assert ": signed out" in watcher.lines


def test_deactivating_an_account_ends_its_open_stream(client, world, session, stream_settings):
    discussion = open_discussion(client, world)
    cookie = start_session(session, "cat")
    with serve_in_thread(create_app(stream_settings)) as base:
        watcher = Watcher(f"{base}/discussions/{discussion['id']}/events", cookie)
        assert watcher.status == 200
        account = fresh(session).exec(select(Account).where(Account.username == "cat")).one()
        account.deactivated_at = utcnow()
        session.add(account)
        session.commit()
        assert watcher.ended.wait(10), "the stream outlived the account"


def test_a_stream_ends_after_its_lifetime_and_may_reconnect(
    client, world, session, database_url, tmp_path
):
    discussion = open_discussion(client, world)
    settings = make_settings(
        database_url, tmp_path, stream_lifetime_seconds=1.5, stream_keepalive_seconds=0.5
    )
    cookie = start_session(session, "ann")
    with serve_in_thread(create_app(settings)) as base:
        url = f"{base}/discussions/{discussion['id']}/events"
        watcher = Watcher(url, cookie)
        assert watcher.status == 200
        assert watcher.ended.wait(15), "the stream did not end after its lifetime"
        assert "retry: 3000" in watcher.lines  # the browser reconnects by itself
        again = Watcher(url, cookie)  # still signed in: the reconnection is let in
        assert again.status == 200
