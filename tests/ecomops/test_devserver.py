"""The setup contract: `make run`'s supervisor starts web + worker + beat + embedded Redis on SQLite, serves the
dashboard, and a Ctrl-C leaves nothing running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from ecomops.embedded_redis import free_port

BASE_DIR = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _get(url: str) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5) as response:
        return response.status


def test_devserver_starts_everything_and_ctrl_c_stops_it(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(ECOMOPS_VAR_DIR=str(tmp_path), ECOMOPS_PORT=str(port), PYTHONUNBUFFERED="1")
    log = (tmp_path / "run.log").open("w+")
    proc = subprocess.Popen([sys.executable, "-m", "ecomops.devserver"], cwd=BASE_DIR, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = _get(f"http://127.0.0.1:{port}/login/")
                break
            except OSError:
                time.sleep(1)
        log.seek(0)
        output = log.read()
        assert status == 200, output[-3000:]
        assert "embedded Redis" in output
        assert "log in as demo" in output
        assert _get(f"http://127.0.0.1:{port}/static/vendor/plotly/plotly.min.js") == 200
        children = psutil.Process(proc.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        assert "daphne" in names and "worker" in names and "beat" in names and "redis-server" in names
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    time.sleep(1)
    alive = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"left running: {[c.cmdline() for c in alive]}"
