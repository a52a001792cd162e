"""`make run`: migrate, seed a demo store if the database has none, then run every process in the foreground.

Processes: Daphne (HTTP + websockets) on 127.0.0.1:8000, one Celery worker consuming every queue, celery beat,
and, only when REDIS_URL is unset, an embedded Redis (see embedded_redis.py). Ctrl-C stops them all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
HOST = os.environ.get("ECOMOPS_HOST", "127.0.0.1")
PORT = os.environ.get("ECOMOPS_PORT", "8000")
VAR_DIR = Path(os.environ.get("ECOMOPS_VAR_DIR", BASE_DIR / "var"))
DEMO_USER, DEMO_PASSWORD = "demo", "demo-pass-2026"


def _raise_keyboard_interrupt(*_args) -> None:
    raise KeyboardInterrupt


def _run(args: list[str], env: dict) -> None:
    subprocess.run([sys.executable, *args], cwd=BASE_DIR, env=env, check=True)


def main() -> int:
    # Ctrl-C must reach us even when a non-interactive shell started us with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "ecomops.settings.local")
    env.setdefault("PYTHONUNBUFFERED", "1")
    VAR_DIR.mkdir(parents=True, exist_ok=True)

    embedded = None
    if not env.get("REDIS_URL"):
        from ecomops.embedded_redis import EmbeddedRedis

        embedded = EmbeddedRedis(workdir=VAR_DIR / "redis").start()
        env["REDIS_URL"] = embedded.url
        print(f"REDIS_URL is unset: started an embedded Redis on {embedded.url}", flush=True)

    children: list[subprocess.Popen] = []

    def stop_all(*_args) -> None:
        for child in children:
            if child.poll() is None:
                try:
                    os.killpg(child.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
        if embedded:
            embedded.stop()

    try:
        _run(["manage.py", "migrate", "--noinput"], env)
        _run(["manage.py", "seed_demo", "--if-empty", "--store", "demo", "--seed", "42",
              "--user", DEMO_USER, "--password", DEMO_PASSWORD], env)
        queues = "default,inference,training,simulation"
        commands = {
            "web": ["-m", "daphne", "-b", HOST, "-p", PORT, "ecomops.asgi:application"],
            "worker": ["-m", "celery", "-A", "ecomops", "worker", "-Q", queues, "-c", "2", "-l", "info"],
            "beat": ["-m", "celery", "-A", "ecomops", "beat", "-l", "info",
                     "--schedule", str(VAR_DIR / "celerybeat-schedule")],
        }
        for name, args in commands.items():
            children.append(subprocess.Popen([sys.executable, *args], cwd=BASE_DIR, env=env, start_new_session=True))
            print(f"started {name} (pid {children[-1].pid})", flush=True)
        print(
            f"\n  ecomops is running at http://{HOST}:{PORT}/  (log in as {DEMO_USER} / {DEMO_PASSWORD})\n"
            f"  Admin (ops staff): http://{HOST}:{PORT}/admin/  (log in as ops / ops-pass-2026, seeded by seed_demo)\n"
            "  Press Ctrl-C to stop every process.\n",
            flush=True,
        )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        dead = [c for c in children if c.poll() is not None]
        print(f"a process exited (pid {dead[0].pid}, code {dead[0].returncode}); stopping the rest", flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
