"""Benchmark: the HTTP tier. Requests/s at saturation and p50/p95 at a fixed open-loop rate for trending, personal
recommendations and the product list, for today's setup (one Daphne process) and ours, in the same run.

    .venv/bin/python bench/http.py [--json out.json] [--duration 8] [--rate 100] [--concurrency 32] [--workers 2]
        [--configs baseline,ours,ours-no-fastpath,ours-no-pool,ours-persistent,ours-no-cache] [--model itemknn]
        [--all-endpoints]

Without DATABASE_URL / REDIS_URL it starts an embedded PostgreSQL (data kept in var/bench-http-postgres, so the
seeded store is reused) and an embedded Redis. Sets up once a store "bench-http" with the demo data (300 products,
3,000 customers, a year of sessions) and one trained, active model version, and an API token.

Server configurations, each started alone on a free port, measured, stopped (baseline and ours on the three
endpoints; the variants on trending only, unless --all-endpoints):
    baseline          one Daphne process, a new database connection per request, no hot cache, DRF's own throttle
                      (a list of request times per user), one impression INSERT per list: today's setup
    ours              gunicorn with --workers uvicorn workers, a psycopg 3 pool per process, the hot cache, the
                      ASGI fast path for repeated trending / product-list requests (ecomops/fastpath.py), the
                      counter throttle, impressions written in batches
    ours-no-fastpath  ours with every request through Django + DRF (ECOMOPS_FAST_PATH=0)
    ours-no-pool      ours with a new database connection per request (DATABASE_POOL_SIZE=0, CONN_MAX_AGE=0)
    ours-persistent   ours with persistent per-thread connections instead of the pool (CONN_MAX_AGE=60)
    ours-no-cache     ours without the hot cache (ECOMOPS_HOT_CACHE=0, so no fast path either)

Load: a minimal asyncio HTTP/1.1 keep-alive client (transport/protocol level, uvloop) on loopback, in this process, on the same 2 cores as the server
(it takes CPU from it, so the figures are a floor). Saturation: --concurrency connections in a closed loop for
--duration seconds. Open loop: --rate requests/s on a fixed schedule for --duration seconds, latency measured from
each request's scheduled time (a slow answer delays nothing else, so queueing shows in the percentiles). Bounded:
every run stops at its deadline and after at most 200,000 requests. Goals (2 cores): trending >= 500 req/s and
>= 10x the baseline, p95 < 50 ms at 100 req/s open loop, 0 errors.

On a shared machine req/s says more about the neighbours than about the server, so each saturation run also
measures the CPU time it cost per request (the web tier's processes, the embedded PostgreSQL + Redis, this client)
and prints `req/s if idle` = CPUs x 1000 / (their sum): a projection, labelled as one. Personal lists rotate over
--customers customers (default 200), each computed once per worker and then served from memory until that
customer's next event.
"""

from __future__ import annotations

import sys

# This file is named like the standard library's `http` package, and Python puts its folder first on sys.path:
# take it off before anything imports http (Django, asyncio's clients).
if sys.path and sys.path[0] and __file__.startswith(sys.path[0].rstrip("/") + "/"):
    sys.path.pop(0)

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import time
from collections import deque
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
VAR = Path(os.environ.get("ECOMOPS_VAR_DIR", REPO / "var"))
SLUG = "bench-http"
MAX_REQUESTS = 200_000
OPEN_LOOP_CONNECTIONS = 64
GOAL_RPS, GOAL_SPEEDUP, GOAL_P95_MS = 500, 10, 50

CONFIGS = {
    # Today's setup, as it ran before this tier: DRF's list-of-times throttle, one impression INSERT per list.
    "baseline": ("1 Daphne process, connection per request, no hot cache (today)",
                 {"DATABASE_POOL_SIZE": "0", "DATABASE_CONN_MAX_AGE": "0", "ECOMOPS_HOT_CACHE": "0",
                  "API_USER_THROTTLE": "ecomops.api.throttling.SlidingLogUserRateThrottle",
                  "RECOMMENDER_IMPRESSION_BATCH": "0"}, "daphne"),
    "ours": ("gunicorn + {w} uvicorn workers, pool, hot cache, fast path", {}, "gunicorn"),
    "ours-no-fastpath": ("ours without the ASGI fast path (every request through Django + DRF)",
                         {"ECOMOPS_FAST_PATH": "0"}, "gunicorn"),
    "ours-no-pool": ("ours with a new database connection per request",
                     {"DATABASE_POOL_SIZE": "0", "DATABASE_CONN_MAX_AGE": "0"}, "gunicorn"),
    "ours-persistent": ("ours with persistent connections (CONN_MAX_AGE=60) instead of the pool",
                        {"DATABASE_POOL_SIZE": "0", "DATABASE_CONN_MAX_AGE": "60"}, "gunicorn"),
    "ours-no-cache": ("ours without the hot cache (so without the fast path)", {"ECOMOPS_HOT_CACHE": "0"},
                      "gunicorn"),
}
# baseline and ours run every endpoint; the variants run trending only unless --all-endpoints (keeps < 5 min).
FULL_CONFIGS = ("baseline", "ours")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def services() -> list:
    """Embedded PostgreSQL / Redis for what the environment does not name; sets DATABASE_URL / REDIS_URL."""
    started = []
    if not os.environ.get("DATABASE_URL"):
        from ecomops.embedded_postgres import EmbeddedPostgres

        VAR.mkdir(parents=True, exist_ok=True)
        server = EmbeddedPostgres(VAR / "bench-http-postgres")
        started.append(server)
        server.start()
        os.environ["DATABASE_URL"] = server.url()
        print(f"embedded PostgreSQL on {server.url()}", flush=True)
    if not os.environ.get("REDIS_URL"):
        from ecomops.embedded_redis import EmbeddedRedis

        redis_server = EmbeddedRedis()
        started.append(redis_server)
        redis_server.start()
        os.environ["REDIS_URL"] = redis_server.url
        print(f"embedded Redis on {redis_server.url}", flush=True)
    return started


def setup(model: str) -> tuple[str, list[str]]:
    """The store, its active model and a token (created once). Returns (token, customer ids with history)."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from ecomops.models import Customer, Membership, Role, Store
    from recommender.models import RecommenderModel
    from recommender.services.training import model_train

    call_command("migrate", "--noinput", verbosity=0)
    store = Store.objects.filter(slug=SLUG).first()
    if store is None:
        print("Seeding the benchmark store (demo data, once)…", flush=True)
        call_command("seed_demo", "--store", SLUG, "--name", "HTTP benchmark", "--seed", "7", "--no-extras")
        store = Store.objects.get(slug=SLUG)
    if not RecommenderModel.objects.for_store(store).filter(is_active=True, algorithm=model).exists():
        print(f"Training {model} (once)…", flush=True)
        model_train(store=store, algorithm=model, activate=True)
    user, _ = get_user_model().objects.get_or_create(username="bench-http")
    Membership.objects.get_or_create(store=store, user=user, defaults={"role": Role.ANALYST})
    token = Token.objects.get_or_create(user=user)[0].key
    customers = list(Customer.objects.for_store(store).filter(events__isnull=False).distinct()
                     .order_by("external_id").values_list("external_id", flat=True)[:2000])
    return token, customers


def start_server(kind: str, extra_env: dict[str, str], workers: int, log_path: Path) -> tuple[subprocess.Popen, int]:
    from ecomops.webserver import gunicorn_command

    port = free_port()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="ecomops.settings.local", DEBUG="0", PYTHONUNBUFFERED="1",
               # DRF's throttle keeps every request time of the window in one cached list per user, read and
               # written whole on each request: a per-minute rate high enough for a benchmark makes that list tens
               # of thousands long (milliseconds of CPU per request). A one-second window keeps it short.
               API_THROTTLE_RATE="1000000/s", **extra_env)
    if kind == "daphne":
        args = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "ecomops.asgi:application"]
    else:
        args = gunicorn_command("127.0.0.1", port, workers=workers)
    log = log_path.open("wb")  # a pipe nobody reads would fill up and block the server
    proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} exited: {log_path.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.settimeout(30)
                sock.sendall(b"GET /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                if sock.recv(12).startswith(b"HTTP/1.1"):
                    return proc, port
        except OSError:
            time.sleep(0.3)
    stop_server(proc)
    raise RuntimeError(f"{kind} did not answer within 120 s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait(timeout=5)


class _Reply(asyncio.Protocol):
    """One keep-alive connection's responses, parsed from the byte stream with bytes.find (no readline per
    header): the load generator must cost far less than the server it measures (its CPU per request is printed)."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.waiter: asyncio.Future | None = None
        self.transport = None
        self.lost = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.waiter is not None and not self.waiter.done():
            self._complete()

    def connection_lost(self, exc) -> None:
        self.lost = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed by the server"))

    def _complete(self) -> None:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end]).lower()
        at = head.find(b"\r\ncontent-length:")
        if at >= 0:
            stop = head.find(b"\r\n", at + 2)
            total = end + 4 + int(head[at + 17:stop if stop > 0 else None])
        elif b"transfer-encoding: chunked" in head:
            last = self.buf.find(b"\r\n0\r\n\r\n", end)
            if last < 0:
                return
            total = last + 7
        else:
            total = end + 4
        if len(self.buf) < total:
            return
        del self.buf[:total]
        self.waiter.set_result((int(head[9:12]), b"\r\nconnection: close" in head))


class Connection:
    """A minimal HTTP/1.1 keep-alive client on asyncio's transport/protocol layer."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = (f" HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {token}\r\n"
                        "Accept: application/json\r\n\r\n").encode()
        self.reply: _Reply | None = None

    async def get(self, path: str) -> int:
        if self.reply is None or self.reply.lost:
            _, self.reply = await asyncio.get_running_loop().create_connection(_Reply, "127.0.0.1", self.port)
        reply = self.reply
        reply.waiter = asyncio.get_running_loop().create_future()
        reply.transport.write(b"GET " + path.encode() + self.headers)
        status, close = await reply.waiter
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.reply is not None and self.reply.transport is not None:
            self.reply.transport.close()
        self.reply = None


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))], 2)


async def saturate(port: int, token: str, make_path, concurrency: int, duration: float, stop=None) -> dict:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration

    async def client() -> None:
        nonlocal errors
        conn = Connection(port, token)
        while time.perf_counter() < deadline and len(latencies) + errors < MAX_REQUESTS and not (stop and stop()):
            started = time.perf_counter()
            try:
                async with asyncio.timeout(30):  # no task per request, unlike wait_for
                    status = await conn.get(make_path())
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError, TimeoutError):
                errors += 1
                conn.close()
                continue
            if status != 200:
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)
        conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    return {"rps": round(len(latencies) / wall, 1), "requests": len(latencies), "errors": errors,
            "p50_ms": _pct(latencies, 50), "p95_ms": _pct(latencies, 95)}


async def open_loop(port: int, token: str, make_path, rate: float, duration: float) -> dict:
    latencies: list[float] = []
    errors = 0
    # At most OPEN_LOOP_CONNECTIONS at once, like a proxy in front of the server: a request due while all are busy
    # waits for one, and that wait counts in its latency (it is measured from its scheduled time).
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(OPEN_LOOP_CONNECTIONS):
        idle.put_nowait(Connection(port, token))
    n = min(int(rate * duration), MAX_REQUESTS)
    t0 = time.perf_counter() + 0.05

    async def one(scheduled: float) -> None:
        nonlocal errors
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        conn = await idle.get()
        try:
            async with asyncio.timeout(30):
                status = await conn.get(make_path())
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError, TimeoutError):
            errors += 1
            conn.close()
            idle.put_nowait(conn)
            return
        idle.put_nowait(conn)
        if status != 200:
            errors += 1
            return
        latencies.append((time.perf_counter() - scheduled) * 1000)  # from the schedule: queueing counts

    await asyncio.gather(*(one(t0 + i / rate) for i in range(n)))
    while not idle.empty():
        idle.get_nowait().close()
    return {"sent": n, "errors": errors, "p50_ms": _pct(latencies, 50), "p95_ms": _pct(latencies, 95),
            "p99_ms": _pct(latencies, 99)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per saturation and per open-loop run")
    parser.add_argument("--rate", type=float, default=100.0, help="open-loop requests/s")
    parser.add_argument("--concurrency", type=int, default=32, help="connections at saturation")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes of ours")
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, of: {', '.join(CONFIGS)}")
    parser.add_argument("--model", default="itemknn", help="algorithm of the served model version (trained once)")
    parser.add_argument("--customers", type=int, default=200,
                        help="personal lists rotate over this many customers with history (the shoppers of a window)")
    parser.add_argument("--all-endpoints", action="store_true",
                        help="run the variants (no pool, persistent, no cache, no fast path) on every endpoint, not"
                             " trending only")
    parser.add_argument("--warm", action="store_true",
                        help="before measuring personal lists, request every customer's 3 x --workers times (each"
                             " worker then holds every list: the steady state; without it most are first requests)")
    parser.add_argument("--endpoints", default="trending,personal,products",
                        help="comma-separated, of: trending, personal, products")
    parser.add_argument("--json", type=Path, help="write the results as JSON to this path")
    args = parser.parse_args()
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown or not configs:
        parser.error(f"unknown configuration(s) {unknown}; known: {', '.join(CONFIGS)}")
    if args.duration <= 0 or args.duration > 120 or args.rate <= 0 or args.rate > 5000 or not 1 <= args.concurrency <= 512:
        parser.error("--duration must be in (0, 120], --rate in (0, 5000], --concurrency in [1, 512]")

    embedded = services()
    try:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomops.settings.local")
        import django

        django.setup()
        token, customers = setup(args.model)
        customers = customers[:max(1, args.customers)]
        return run(args, configs, token, customers, [getattr(e, "process", None) for e in embedded])
    finally:
        for server in reversed(embedded):
            server.stop()


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) of these processes, their live descendants and the children they have reaped
    (a PostgreSQL backend that exited is counted in its postmaster's children_* times)."""
    import psutil

    total = 0.0
    seen: set[int] = set()
    for pid in pids:
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for proc in procs:
            if proc.pid in seen:
                continue
            seen.add(proc.pid)
            try:
                t = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system + t.children_user + t.children_system
    return total


def run(args, configs: list[str], token: str, customers: list[str], service_processes: list) -> int:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    rng = random.Random(11)
    base = f"/api/v1/stores/{SLUG}"
    endpoints = {
        "trending": lambda: f"{base}/recommendations/trending?k=10",
        "personal": lambda: f"{base}/recommendations/customers/{rng.choice(customers)}?k=10",
        "products": lambda: f"{base}/products/",
    }
    VAR.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    load_before = os.getloadavg()
    for name in configs:
        label, extra_env, kind = CONFIGS[name]
        label = label.format(w=args.workers)
        log_path = VAR / f"bench-http-{name}.log"
        proc, port = start_server(kind, extra_env, args.workers, log_path)
        print(f"\n{name}: {label} (port {port}, log {log_path})", flush=True)
        try:
            for endpoint, make_path in endpoints.items():
                if endpoint not in args.endpoints.split(","):
                    continue
                if name not in FULL_CONFIGS and endpoint != "trending" and not args.all_endpoints:
                    continue
                asyncio.run(saturate(port, token, make_path, min(args.concurrency, 8), 1.5))  # load models, fill caches
                if endpoint == "personal" and args.warm:  # every customer's list in every worker: the steady state
                    warm = deque([f"{base}/recommendations/customers/{c}?k=10" for c in customers] * 3 * args.workers)
                    asyncio.run(saturate(port, token, warm.popleft, min(args.concurrency, 8), 120,
                                         stop=lambda w=warm: not w))
                service_pids = [p.pid for p in service_processes if p is not None]
                cpu_before = (cpu_seconds([proc.pid]), cpu_seconds(service_pids), time.process_time())
                sat = asyncio.run(saturate(port, token, make_path, args.concurrency, args.duration))
                cpu_after = (cpu_seconds([proc.pid]), cpu_seconds(service_pids), time.process_time())
                done = max(1, sat["requests"])
                cpu_ms = [round((after - before) * 1000 / done, 2) for before, after in zip(cpu_before, cpu_after,
                                                                                           strict=True)]
                ol = asyncio.run(open_loop(port, token, make_path, args.rate, args.duration))
                row = {"config": name, "label": label, "endpoint": endpoint, "rps": sat["rps"],
                       "sat_p50_ms": sat["p50_ms"], "sat_p95_ms": sat["p95_ms"], "ol_p50_ms": ol["p50_ms"],
                       "ol_p95_ms": ol["p95_ms"], "ol_p99_ms": ol["p99_ms"], "errors": sat["errors"] + ol["errors"],
                       # CPU milliseconds per request at saturation: the web tier, the embedded PostgreSQL + Redis
                       # (0 when external), this load generator. Far steadier than req/s on a shared machine:
                       # cpus * 1000 / their sum is what the configuration would serve with the cores to itself.
                       "cpu_ms_server": cpu_ms[0], "cpu_ms_services": cpu_ms[1], "cpu_ms_client": cpu_ms[2],
                       "projected_rps_idle": round((os.cpu_count() or 1) * 1000 / max(0.01, sum(cpu_ms)), 0)}
                rows.append(row)
                print(f"  {endpoint:9s} {row['rps']:8.1f} req/s (p95 {row['sat_p95_ms']} ms at {args.concurrency}"
                      f" conns) | {args.rate:.0f} req/s open loop: p50 {row['ol_p50_ms']} p95 {row['ol_p95_ms']} ms"
                      f" | errors {row['errors']} | CPU ms/request: server {cpu_ms[0]}, PostgreSQL+Redis {cpu_ms[1]},"
                      f" client {cpu_ms[2]}", flush=True)
        finally:
            stop_server(proc)
    load_after = os.getloadavg()

    print(f"\nHTTP tier, {os.cpu_count()} CPUs, load average {load_before[0]:.1f} before / {load_after[0]:.1f} after"
          f" (the load generator runs on the same cores); saturation: {args.concurrency} connections x"
          f" {args.duration:.0f} s; open loop: {args.rate:.0f} req/s x {args.duration:.0f} s")
    header = (f"| {'configuration':62s} | endpoint  | req/s    | sat p95 ms | open p50 ms | open p95 ms | errors |"
              " CPU ms/req server+db+client | req/s if idle |")
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for r in rows:
        cpu = f"{r['cpu_ms_server']:.2f} + {r['cpu_ms_services']:.2f} + {r['cpu_ms_client']:.2f}"
        print(f"| {r['label']:62s} | {r['endpoint']:9s} | {r['rps']:8.1f} | {r['sat_p95_ms']!s:>10} |"
              f" {r['ol_p50_ms']!s:>11} | {r['ol_p95_ms']!s:>11} | {r['errors']:6d} | {cpu:27s} |"
              f" {r['projected_rps_idle']:13.0f} |")

    def row_of(config: str, endpoint: str) -> dict | None:
        return next((r for r in rows if r["config"] == config and r["endpoint"] == endpoint), None)

    # `errors`: what our configuration answered wrong (the goal is 0); the baseline's own errors are in its rows
    # and in `errors_all` (today's setup runs out of PostgreSQL connections when overloaded).
    ours_errors = sum(r["errors"] for r in rows if r["config"] == "ours")
    result: dict = {"configs": rows, "errors": ours_errors, "errors_all": sum(r["errors"] for r in rows),
                    "cpus": os.cpu_count(),
                    "load_average": [round(load_before[0], 2), round(load_after[0], 2)],
                    "concurrency": args.concurrency, "rate": args.rate, "duration_s": args.duration,
                    "workers": args.workers, "model": args.model}
    verdicts = []
    for endpoint in endpoints:
        ours, baseline = row_of("ours", endpoint), row_of("baseline", endpoint)
        summary = {
            "rps": ours["rps"] if ours else None,
            "baseline_rps": baseline["rps"] if baseline else None,
            "p95_ms_open_loop": ours["ol_p95_ms"] if ours else None,
            "p50_ms_open_loop": ours["ol_p50_ms"] if ours else None,
            "baseline_p95_ms_open_loop": baseline["ol_p95_ms"] if baseline else None,
            "projected_rps_idle": ours["projected_rps_idle"] if ours else None,
            "baseline_projected_rps_idle": baseline["projected_rps_idle"] if baseline else None,
        }
        if ours and baseline and baseline["rps"]:
            summary["speedup"] = round(ours["rps"] / baseline["rps"], 1)
        for other in ("ours-no-fastpath", "ours-no-pool", "ours-persistent", "ours-no-cache"):
            if row_of(other, endpoint):
                summary[f"{other.replace('-', '_')}_rps"] = row_of(other, endpoint)["rps"]
        result[endpoint] = summary
        if summary.get("speedup") is not None:
            verdicts.append(f"{endpoint}: {summary['rps']} req/s = {summary['speedup']}x the baseline's"
                            f" {summary['baseline_rps']}; open-loop p95 {summary['p95_ms_open_loop']} ms")
    trending = result["trending"]
    goals = {
        "trending_rps": trending["rps"] is not None and trending["rps"] >= GOAL_RPS,
        "trending_speedup": trending.get("speedup") is not None and trending["speedup"] >= GOAL_SPEEDUP,
        "p95_open_loop": all(result[e]["p95_ms_open_loop"] is not None and result[e]["p95_ms_open_loop"] < GOAL_P95_MS
                             for e in endpoints if result[e]["rps"] is not None),
        "zero_errors": "ours" in configs and result["errors"] == 0,
    }
    result["goals_met"] = goals
    print()
    for line in verdicts:
        print(line)
    print("goals: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in goals.items()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
