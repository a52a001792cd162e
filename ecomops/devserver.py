"""`make run`: migrate, seed a demo store if the database has none, then run every process in the foreground.

Processes: the web tier (gunicorn with 2 uvicorn workers: HTTP + websockets, what production runs at a smaller
scale; see webserver.py) on 127.0.0.1:8000, one Celery worker consuming every queue, celery beat, and, only when
DATABASE_URL / REDIS_URL are unset, an embedded PostgreSQL (data kept in var/postgres) and an embedded Redis (see
embedded_postgres.py, embedded_redis.py). Ctrl-C stops them all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ecomops.webserver import gunicorn_command

BASE_DIR = Path(__file__).resolve().parent.parent
HOST = os.environ.get("ECOMOPS_HOST", "127.0.0.1")
PORT = os.environ.get("ECOMOPS_PORT", "8000")
WEB_WORKERS = int(os.environ.get("ECOMOPS_WEB_WORKERS", "2"))
VAR_DIR = Path(os.environ.get("ECOMOPS_VAR_DIR", BASE_DIR / "var"))
DEMO_USER, DEMO_PASSWORD = "demo", "demo-pass-2026"
# The same ops (staff) login seed_demo creates; ensure_admin makes sure it exists on a database seeded earlier.
ADMIN_USER, ADMIN_PASSWORD = "ops", "ops-pass-2026"


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

    embedded: list = []  # stopped last, in reverse order
    children: list[subprocess.Popen] = []

    def stop_all(*_args) -> None:
        # SIGTERM to each supervisor only (gunicorn's master, celery's main process): they stop their own children
        # gracefully; a signal to the whole group would kill celery's pool processes mid-task.
        for child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"pid {child.pid} did not stop within 10 s; killing its process group", flush=True)
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=5)
        for server in reversed(embedded):
            server.stop()

    try:
        if not env.get("DATABASE_URL"):
            from ecomops.embedded_postgres import EmbeddedPostgres

            port = int(env.get("ECOMOPS_PG_PORT", "54329"))
            started = time.monotonic()
            embedded.append(EmbeddedPostgres(VAR_DIR / "postgres", port=port))  # listed first: a Ctrl-C mid-start stops it
            embedded[-1].start()
            env["DATABASE_URL"] = embedded[-1].url()
            print(f"DATABASE_URL is unset: started an embedded PostgreSQL 18 on {env['DATABASE_URL']} "
                  f"(data in {VAR_DIR / 'postgres'}, {time.monotonic() - started:.1f} s)", flush=True)
        if not env.get("REDIS_URL"):
            from ecomops.embedded_redis import EmbeddedRedis

            embedded.append(EmbeddedRedis(workdir=VAR_DIR / "redis"))
            embedded[-1].start()
            env["REDIS_URL"] = embedded[-1].url
            print(f"REDIS_URL is unset: started an embedded Redis on {env['REDIS_URL']}", flush=True)
        _run(["manage.py", "migrate", "--noinput"], env)
        _run(["manage.py", "seed_demo", "--if-empty", "--store", "demo", "--seed", "42",
              "--user", DEMO_USER, "--password", DEMO_PASSWORD], env)
        _run(["manage.py", "ensure_admin", "--username", ADMIN_USER, "--password", ADMIN_PASSWORD], env)
        queues = "default,inference,training,simulation"
        commands = {
            "web": gunicorn_command(HOST, PORT, workers=WEB_WORKERS)[1:],
            "worker": ["-m", "celery", "-A", "ecomops", "worker", "-Q", queues, "-c", "2", "-l", "info"],
            "beat": ["-m", "celery", "-A", "ecomops", "beat", "-l", "info",
                     "--schedule", str(VAR_DIR / "celerybeat-schedule")],
        }
        for name, args in commands.items():
            children.append(subprocess.Popen([sys.executable, *args], cwd=BASE_DIR, env=env, start_new_session=True))
            print(f"started {name} (pid {children[-1].pid})", flush=True)
        print(
            f"\n  ecomops is running at http://{HOST}:{PORT}/  (log in as {DEMO_USER} / {DEMO_PASSWORD})\n"
            f"  admin (ops staff): http://{HOST}:{PORT}/admin/  ({ADMIN_USER} / {ADMIN_PASSWORD})\n"
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
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"make run failed: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
