"""Browser fixtures: Debian's Chromium driven by Playwright against a live uvicorn server.

Each test gets the app running on a free port of 127.0.0.1 (on both database backends,
through `settings` and `library`), a fresh browser context, and a page that fails the test
on any console error or uncaught page error, so a Content-Security-Policy violation
(which Chromium reports as a console error) cannot pass unnoticed.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    Response,
    sync_playwright,
)

from ethicsforum.config import Settings
from tests.conftest import unavailable

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
SERVER_START_TIMEOUT = 10.0
BLOCKING_IMPACTS = {"serious", "critical"}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        unavailable(f"Chromium is not available at {CHROMIUM}: the file does not exist")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
        except Error as exc:
            unavailable(f"Chromium is not available at {CHROMIUM}: {exc.message.splitlines()[0]}")
        try:
            yield browser
        finally:
            browser.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def live_server(settings: Settings, library: list[str]) -> Iterator[str]:
    """The app, with the shipped library imported, served by uvicorn; yields its base URL."""
    from ethicsforum.main import create_app

    app = create_app(settings)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()

    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while not server.started:
        if not thread.is_alive():
            pytest.fail("uvicorn exited before it started serving", pytrace=False)
        if time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout=5)
            pytest.fail(f"uvicorn did not start within {SERVER_START_TIMEOUT:.0f} s", pytrace=False)
        time.sleep(0.02)

    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _watch(page: Page, problems: list[str]) -> None:
    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            problems.append(f"console error: {message.text}" + (f" ({where})" if where else ""))

    def on_pageerror(error: Error) -> None:
        problems.append(f"page error: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_pageerror)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context; the test fails on any console error or page error."""
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    _watch(page, problems)
    try:
        yield page
    finally:
        context.close()
    if problems:
        pytest.fail("The browser reported errors:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def no_js_page(browser: Browser) -> Iterator[Page]:
    """Like `page`, with JavaScript disabled: the progressive-enhancement baseline."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    problems: list[str] = []
    _watch(page, problems)
    try:
        yield page
    finally:
        context.close()
    if problems:
        pytest.fail("The browser reported errors:\n" + "\n".join(problems), pytrace=False)


# Chromium logs this console error for every response with an error status, including the
# top-level page itself, which a test sometimes means to get (a 401 or a 403) and checks.
_STATUS_ERROR = re.compile(
    r"^Failed to load resource: the server responded with a status of (\d{3})\b"
)


def _watch_excusing_error_pages(page: Page) -> Callable[[], list[str]]:
    """As _watch, except for the console error about a top-level page's own error status.

    The same error about anything else (a stylesheet, a script, an htmx request, a frame)
    still counts. Returns the function that lists the problems once the page is done.
    """
    page_errors: list[str] = []
    console_errors: list[tuple[str, str]] = []
    error_pages: set[tuple[str, int]] = set()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            console_errors.append((message.text, message.location.get("url", "")))

    def on_pageerror(error: Error) -> None:
        page_errors.append(f"page error: {error.message}")

    def on_response(response: Response) -> None:
        if (
            response.status >= 400
            and response.request.resource_type == "document"
            and response.frame.parent_frame is None
        ):
            error_pages.add((response.url, response.status))

    page.on("console", on_console)
    page.on("pageerror", on_pageerror)
    page.on("response", on_response)

    def problems() -> list[str]:
        found = list(page_errors)
        for text, where in console_errors:
            status = _STATUS_ERROR.match(text)
            if status and (where, int(status.group(1))) in error_pages:
                continue
            found.append(f"console error: {text}" + (f" ({where})" if where else ""))
        return found

    return problems


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Opens further pages, each in a fresh context of its own (a second person, a second
    browser); other keyword arguments are context options. As with `page`, the test fails on
    any console error or page error in any of them; with error_pages=True, a test that means
    to get a page answered with an error status (and checks it) may do so without the console
    error Chromium logs for it."""
    contexts: list[BrowserContext] = []
    problems: list[str] = []
    checks: list[Callable[[], list[str]]] = []

    def open_page(*, error_pages: bool = False, **context_options: Any) -> Page:
        context = browser.new_context(**context_options)
        contexts.append(context)
        page = context.new_page()
        if error_pages:
            checks.append(_watch_excusing_error_pages(page))
        else:
            _watch(page, problems)
        return page

    try:
        yield open_page
    finally:
        for context in contexts:
            context.close()
    for check in checks:
        problems += check()
    if problems:
        pytest.fail("The browser reported errors:\n" + "\n".join(problems), pytrace=False)


def _describe(violation: dict[str, Any]) -> str:
    nodes = violation.get("nodes") or []
    target = nodes[0].get("target") if nodes else None
    first = target[0] if target else "(no target)"
    return (
        f"- {violation['id']} [{violation.get('impact')}]: {violation.get('help')}"
        f" ({len(nodes)} node{'s' if len(nodes) != 1 else ''}; first: {first})"
    )


def axe_clean(page: Page) -> None:
    """Assert that axe-core finds no serious or critical accessibility violation on the page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations: list[dict[str, Any]] = results.response["violations"]
    blocking = [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]
    assert not blocking, (
        f"axe found {len(blocking)} serious or critical violation(s) on {page.url}:\n"
        + "\n".join(_describe(v) for v in blocking)
    )
