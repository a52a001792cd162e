"""The setup contract: `make run`'s supervisor starts the embedded PostgreSQL and Redis, web (gunicorn with uvicorn
workers) + worker + beat, serves the dashboard over HTTP and websockets, a Ctrl-C leaves nothing running, and a
second start reuses the data."""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import pytest
import websockets

from ecomops.embedded_redis import free_port

BASE_DIR = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _get(url: str) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5) as response:
        return response.status


def _live_socket_hello(base: str) -> dict:
    """Log in as the demo user over HTTP, open the store's live socket through the web tier, return its first
    message."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), urllib.request.ProxyHandler({}))
    page = opener.open(f"{base}/login/", timeout=10).read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf, "username": "demo", "password": "demo-pass-2026"})
    opener.open(urllib.request.Request(f"{base}/login/", data=form.encode(), headers={"Referer": f"{base}/login/"}),
                timeout=10)
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)

    async def hello() -> str:
        async with websockets.connect(f"{base.replace('http', 'ws')}/ws/stores/demo/live/",
                                      additional_headers={"Cookie": cookie, "Origin": base}) as ws:
            return await asyncio.wait_for(ws.recv(), 20)

    return json.loads(asyncio.run(hello()))


def _start(tmp_path: Path, port: int, pg_port: int, name: str):
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(ECOMOPS_VAR_DIR=str(tmp_path), ECOMOPS_PORT=str(port), ECOMOPS_PG_PORT=str(pg_port), PYTHONUNBUFFERED="1")
    log = (tmp_path / f"{name}.log").open("w+")
    proc = subprocess.Popen([sys.executable, "-m", "ecomops.devserver"], cwd=BASE_DIR, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 480  # the first start migrates and seeds: minutes on a busy machine
    status = None
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            status = _get(f"http://127.0.0.1:{port}/login/")
            break
        except OSError:
            time.sleep(1)
    log.seek(0)
    return proc, status, log.read()


def _stop(proc: subprocess.Popen) -> list[psutil.Process]:
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    time.sleep(1)
    return [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


def test_devserver_starts_everything_and_ctrl_c_stops_it(tmp_path):
    port, pg_port = free_port(), free_port()
    proc, status, output = _start(tmp_path, port, pg_port, "first")
    try:
        assert status == 200, output[-3000:]
        assert "embedded PostgreSQL 18 on postgres://postgres@127.0.0.1:" in output
        assert "embedded Redis" in output
        assert "log in as demo" in output and "ops / ops-pass-2026" in output
        assert "seeded" in output
        assert _get(f"http://127.0.0.1:{port}/static/vendor/plotly/plotly.min.js") == 200
        assert _live_socket_hello(f"http://127.0.0.1:{port}") == {"type": "hello", "store": "demo"}
        children = psutil.Process(proc.pid).children(recursive=True)
        cmdlines = [" ".join(c.cmdline()) for c in children]
        names = " ".join(cmdlines)
        assert "gunicorn" in names and "worker" in names and "beat" in names and "redis-server" in names
        assert "pginstall/bin/postgres" in names
        # gunicorn's master and its 2 uvicorn worker processes.
        assert sum("gunicorn ecomops.asgi:application" in c for c in cmdlines) == 3, cmdlines
    finally:
        alive = _stop(proc)
    assert alive == [], f"left running: {[c.cmdline() for c in alive]}"
    assert (tmp_path / "postgres" / "PG_VERSION").exists()

    # A second start finds the data of the first: no initdb, no second seeding.
    proc, status, output = _start(tmp_path, port, pg_port, "second")
    try:
        assert status == 200, output[-3000:]
        assert "A store already exists; --if-empty: nothing to do." in output, output[-3000:]
        assert "user 'ops' exists" in output
    finally:
        alive = _stop(proc)
    assert alive == [], f"left running: {[c.cmdline() for c in alive]}"
