"""Real processes for end-to-end tests: a Celery worker and the web tier (gunicorn + uvicorn workers, what
`make run` and production run) on the test database.

The tests that use them run with `django_db(transaction=True)`, so what they write is committed and the
subprocesses (pointed at the test database through DATABASE_URL) see it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

REPO = Path(__file__).resolve().parents[2]


def database_url_for_subprocesses() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="ecomops.settings.test",
        DATABASE_URL=database_url_for_subprocesses(),
        REDIS_URL=settings.REDIS_URL,
        DATABASE_CONN_MAX_AGE="0",
        PYTHONUNBUFFERED="1",
        HF_HUB_OFFLINE="1",
    )
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ManagedProcess:
    """A child process in its own session, its output kept (last lines) for failure messages."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.lines: deque[str] = deque(maxlen=200)
        self.process = subprocess.Popen(
            args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip())

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.output()}")
            if ready():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} was not {what} within {timeout:.0f} s:\n{self.output()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
            except ProcessLookupError:
                pass
        self._reader.join(timeout=2)


def start_celery_worker(queues: str = "default", timeout: float = 120, *, env: dict[str, str] | None = None,
                        beat: bool = False, name: str = "") -> ManagedProcess:
    """A solo-pool worker on `queues`; `beat=True` embeds beat (the DatabaseScheduler of the settings)."""
    args = [sys.executable, "-m", "celery", "-A", "ecomops", "worker", "-Q", queues, "--pool=solo", "-l", "info",
            "-n", f"ecomops-test-{os.getpid()}{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    if beat:
        args.append("-B")
    worker = ManagedProcess("celery worker", args, {**subprocess_env(), **(env or {})})
    worker.wait_for(lambda: any(" ready." in line for line in worker.lines), timeout, "ready")
    return worker


def start_celery_beat(*, env: dict[str, str] | None = None, timeout: float = 120) -> ManagedProcess:
    """Celery beat with the settings' scheduler (django-celery-beat's DatabaseScheduler, on the test database)."""
    beat = ManagedProcess("celery beat", [sys.executable, "-m", "celery", "-A", "ecomops", "beat", "-l", "info"],
                          {**subprocess_env(), **(env or {})})
    beat.wait_for(lambda: any("beat: Starting" in line for line in beat.lines), timeout, "started")
    return beat


def start_web_server(timeout: float = 90, workers: int = 1) -> tuple[ManagedProcess, str]:
    from ecomops.webserver import gunicorn_command

    port = free_port()
    server = ManagedProcess("web server", gunicorn_command("127.0.0.1", port, workers=workers), subprocess_env())

    def answering() -> bool:
        # gunicorn's master listens before its workers have imported the app: wait for an HTTP answer.
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.settimeout(30)
                sock.sendall(b"GET /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                return sock.recv(12).startswith(b"HTTP/1.1")
        except OSError:
            return False

    server.wait_for(answering, timeout, "answering HTTP")
    return server, f"http://127.0.0.1:{port}"


# The browser tests of every app were written against the old single-Daphne setup and import this name.
start_daphne = start_web_server
