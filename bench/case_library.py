"""Benchmark: the case library's pages and API against a floor, on SQLite, one worker.

Starts `ethicsforum serve` on a throw-away SQLite database holding the shipped cases plus
generated ones, and a bare Starlette "floor" app that returns the very same bytes from
memory, then measures each with wrk (-t2 -c16) when it is installed, else with a simple
threaded client. Prints requests per second and the ratio to the floor.

    .venv/bin/python bench/case_library.py [--cases 500] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
EF = REPO / ".venv" / "bin" / "ethicsforum"
PASSWORD = "bench-password-2026"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited early (code {proc.returncode})")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    sys.exit(f"no answer from {url}")


def generate_cases(directory: Path, count: int) -> None:
    source = (REPO / "cases" / "duty-to-warn-threat.md").read_text()
    words = ["capacity", "consent", "triage", "candour", "disclosure", "sedation", "genetic"]
    for n in range(count):
        slug = f"generated-case-{n:04d}"
        text = source.replace("slug: duty-to-warn-threat", f"slug: {slug}")
        text = text.replace("title: ", f"title: {words[n % len(words)].title()} {n} ", 1)
        (directory / f"{slug}.md").write_text(text)


def measure(url: str, seconds: int, headers: dict[str, str]) -> float:
    if shutil.which("wrk"):
        args = ["wrk", "-t2", "-c16", f"-d{seconds}s"]
        for key, value in headers.items():
            args += ["-H", f"{key}: {value}"]
        out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
        match = re.search(r"Requests/sec:\s+([\d.]+)", out)
        if not match or "Non-2xx" in out:
            sys.exit(f"wrk failed or saw errors for {url}:\n{out}")
        return float(match.group(1))
    done = 0
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def worker() -> None:
        nonlocal done
        with httpx.Client(headers=headers) as client:
            while time.monotonic() < stop:
                client.get(url).raise_for_status()
                with lock:
                    done += 1

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done / seconds


FLOOR = textwrap.dedent(
    """
    import sys
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route
    import uvicorn
    body = open(sys.argv[1], "rb").read()
    kind = sys.argv[2]
    async def page(request):
        return Response(body, media_type=kind)
    app = Starlette(routes=[Route("/{path:path}", page)])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
    """
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=500, help="generated cases beside the 12")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-library-"))
    cases = tmp / "cases"
    cases.mkdir()
    for path in (REPO / "cases").glob("*.md"):
        shutil.copy(path, cases)
    generate_cases(cases, args.cases)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETHICSFORUM_")}
    env.update(
        ETHICSFORUM_DATABASE_URL=f"sqlite:///{tmp / 'bench.db'}",
        ETHICSFORUM_SECRET_KEY="bench-secret-key-0123456789",
        ETHICSFORUM_RATE_LIMITS="off",
        ETHICSFORUM_CASES_DIR=str(cases),
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(EF), "serve", "--port", str(port)],
        env=env,
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    floors: list[subprocess.Popen[bytes]] = []
    try:
        wait_for(base + "/healthz", server)
        subprocess.run(
            [str(EF), "users", "create", "load-student", "--role", "student", "--password-stdin"],
            input=PASSWORD.encode(),
            env=env,
            cwd=tmp,
            check=True,
            capture_output=True,
        )
        token = httpx.post(
            base + "/api/v1/auth/token", data={"username": "load-student", "password": PASSWORD}
        ).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        targets = [
            ("library page", "/cases", {}),
            ("library search", "/cases?q=capacity+consent", {}),
            ("case page", "/cases/duty-to-warn-threat", {}),
            ("cases API", "/api/v1/cases?per_page=20", auth),
            ("cases API search", "/api/v1/cases?q=triage", auth),
        ]
        print(
            f"{args.cases + 12} cases, SQLite, one worker, {args.seconds}s each, "
            f"{'wrk -t2 -c16' if shutil.which('wrk') else '16 Python client threads'}"
        )
        print(f"{'target':<18} {'req/s':>9} {'floor req/s':>12} {'ratio':>7}")
        for name, path, headers in targets:
            response = httpx.get(base + path, headers=headers)
            response.raise_for_status()
            body = tmp / "floor-body"
            body.write_bytes(response.content)
            floor_port = free_port()
            floor = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    FLOOR,
                    str(body),
                    response.headers["content-type"],
                    str(floor_port),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            floors.append(floor)
            wait_for(f"http://127.0.0.1:{floor_port}/", floor)
            ours = measure(base + path, args.seconds, headers)
            bare = measure(f"http://127.0.0.1:{floor_port}{path}", args.seconds, {})
            floor.terminate()
            floor.wait()
            print(f"{name:<18} {ours:>9.0f} {bare:>12.0f} {ours / bare:>7.1%}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        for floor in floors:
            if floor.poll() is None:
                floor.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
