"""Benchmark: recommendation API latency on a 50,000-product catalogue under 100 concurrent requests.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/recommender.py [--json out.json]
        [--products 50000] [--customers 20000] [--events 400000] [--model als] [--requests 3000]
        [--concurrency 100] [--url http://127.0.0.1:8000]   # an already running server; else Daphne is started
    .venv/bin/python bench/recommender.py --cleanup

Sets up (once; reused later) a store "bench-recommender" with a 50,000-product catalogue, customers whose views
and purchases follow category tastes, and one trained, active model version (trained through the same service
as the dashboard button). Then, against a running HTTP server (a Daphne started here unless --url), sends
--requests GETs per endpoint from --concurrency concurrent keep-alive connections and reports client-side p50/p95
and the server's own processing time (the `Server-Timing: app` header) side by side with two baselines through
the same stack: the trending list (no model) and a plain 10-row product list (`/products/?page_size=10`).
Goal: p95 < 10 ms at k=10.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

REPO = Path(__file__).resolve().parent.parent
# Not bench/ itself on the path: bench/http.py would shadow the standard library's http (torch, Django import it).
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomops.settings.local")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from ecomops.models import Customer, Event, Membership, Product, Role, Store  # noqa: E402
from recommender.models import RecommenderModel  # noqa: E402
from recommender.services.training import model_train  # noqa: E402

SLUG = "bench-recommender"
GOAL_MS = 10.0
CATEGORY_SIZE = 100


def _cleanup() -> None:
    store = Store.objects.filter(slug=SLUG).first()
    if store is None:
        print("No benchmark store to delete.")
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM recommender_recommendationimpression WHERE store_id = %s", [store.pk])
        for table in ("ecomops_orderline", "ecomops_order", "ecomops_event", "ecomops_customer", "ecomops_product"):
            cursor.execute(f"DELETE FROM {table} WHERE store_id = %s", [store.pk])
        store.delete()
    print(f"Deleted the benchmark store {SLUG!r}.")


def _generate(store: Store, n_products: int, n_customers: int, n_events: int, seed: int = 7) -> None:
    """Products in categories of 100; each customer has 1-2 favourite categories and a Zipf taste inside them."""
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=60)
    n_categories = max(1, n_products // CATEGORY_SIZE)
    raw = connection.connection
    with transaction.atomic(), raw.cursor() as cur:
        with cur.copy("COPY ecomops_product (store_id, sku, title, brand, category, price, currency, attributes,"
                      " description, status, stock, created_at, updated_at) FROM STDIN") as copy:
            for i in range(n_products):
                # 2% inactive, 3% out of stock: the exclusions are exercised on every request.
                status = "archived" if i % 50 == 7 else "active"
                stock = 0 if i % 33 == 5 else 25
                copy.write_row((store.pk, f"R{i:06d}", f"Bench item {i}", "Bench", f"Cat {i // CATEGORY_SIZE:03d}",
                                f"{3 + i % 97}.50", "EUR", "{}", "", status, stock, start, start))
        with cur.copy("COPY ecomops_customer (store_id, external_id, email, name, country, created_at) FROM STDIN") as copy:
            for i in range(n_customers):
                copy.write_row((store.pk, f"RC{i:06d}", f"rc{i}@example.com", f"Bench customer {i}", "DE", start))
        cur.execute("SELECT MIN(id) FROM ecomops_product WHERE store_id = %s", [store.pk])
        product0 = cur.fetchone()[0]
        cur.execute("SELECT MIN(id) FROM ecomops_customer WHERE store_id = %s", [store.pk])
        customer0 = cur.fetchone()[0]
        category_pop = 1.0 / np.arange(1, n_categories + 1) ** 0.7
        category_pop /= category_pop.sum()
        inside = 1.0 / np.arange(1, CATEGORY_SIZE + 1) ** 1.1
        inside /= inside.sum()
        per_customer = rng.multinomial(n_events, np.full(n_customers, 1.0 / n_customers))
        written = 0
        with cur.copy("COPY ecomops_event (store_id, customer_id, session_id, type, product_id, occurred_at,"
                      " properties) FROM STDIN") as copy:
            for c in range(n_customers):
                favourites = rng.choice(n_categories, size=2, p=category_pop)
                t = start + timedelta(seconds=float(rng.uniform(0, 30 * 86400)))
                for _ in range(int(per_customer[c])):
                    cat = favourites[0] if rng.random() < 0.7 else favourites[1]
                    item = int(cat) * CATEGORY_SIZE + int(rng.choice(CATEGORY_SIZE, p=inside))
                    kind = "purchase" if rng.random() < 0.08 else ("add_to_cart" if rng.random() < 0.15 else "view")
                    t += timedelta(seconds=float(rng.exponential(3600)))
                    copy.write_row((store.pk, customer0 + c, f"rs{c}", kind, product0 + min(item, n_products - 1),
                                    min(t, now), "{}"))
                    written += 1
    with connection.cursor() as cursor:
        for table in ("ecomops_event", "ecomops_customer", "ecomops_product"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"Generated {n_products:,} products, {n_customers:,} customers, {written:,} events.")


def _ensure_store(args) -> Store:
    store = Store.objects.filter(slug=SLUG).first()
    if store is not None and Product.objects.for_store(store).count() != args.products:
        print("Catalogue size changed; regenerating.")
        _cleanup()
        store = None
    if store is None:
        store = Store.objects.create(name="Recommender benchmark", slug=SLUG, currency="EUR")
        started = time.perf_counter()
        _generate(store, args.products, args.customers, args.events)
        print(f"Data generated in {time.perf_counter() - started:.1f} s")
    active = RecommenderModel.objects.for_store(store).filter(is_active=True, algorithm=args.model).first()
    if active is None:
        print(f"Training {args.model} on the store's events (one new version, activated)…", flush=True)
        started = time.perf_counter()
        active = model_train(store=store, algorithm=args.model, activate=True,
                             on_progress=lambda pct, msg: print(f"  {pct:3d}% {msg}", flush=True))
        print(f"Trained {active.label} in {time.perf_counter() - started:.1f} s: {active.metrics}")
    return store


def _token(store: Store) -> str:
    user, _ = get_user_model().objects.get_or_create(username="bench-recommender")
    Membership.objects.get_or_create(store=store, user=user, defaults={"role": Role.ANALYST})
    return Token.objects.get_or_create(user=user)[0].key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(port: int, log_path: Path) -> subprocess.Popen:
    # Django under ASGI runs each request's sync code in its own thread, so persistent connections
    # (DATABASE_CONN_MAX_AGE > 0) are never reused and pile up until PostgreSQL refuses new clients; close
    # them at the end of each request instead.
    env = dict(os.environ, API_THROTTLE_RATE="100000000/min", PYTHONUNBUFFERED="1", DATABASE_CONN_MAX_AGE="0")
    # The server's output goes to a file: a pipe nobody reads fills up and blocks the server.
    log = log_path.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "ecomops.asgi:application"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"Daphne exited: {log_path.read_text()[-2000:]}") from None
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("Daphne did not start within 60 s")


class Connection:
    """A minimal HTTP/1.1 keep-alive client: the load generator must cost less than the server it measures."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self.reader = self.writer = None

    async def get(self, path: str) -> tuple[int, float, float | None]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        request = (f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Token {self.token}\r\n"
                   "Accept: application/json\r\nConnection: keep-alive\r\n\r\n").encode()
        started = time.perf_counter()
        self.writer.write(request)
        status_line = await self.reader.readline()
        length, app_ms, close, chunked = 0, None, False, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "server-timing" and "dur=" in value:
                app_ms = float(value.split("dur=")[1].split(";")[0].split(",")[0])
            elif name == "connection" and "close" in value.lower():
                close = True
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)  # the chunk and its CRLF
                if size == 0:
                    break
        else:
            await self.reader.readexactly(length)
        elapsed = (time.perf_counter() - started) * 1000
        if close:
            self.writer.close()
            self.reader = self.writer = None
        return int(status_line.split()[1]), elapsed, app_ms


async def _load(host: str, port: int, token: str, paths: list[str], concurrency: int) -> dict:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for p in paths:
        queue.put_nowait(p)
    latencies, app_times, errors = [], [], 0

    async def worker() -> None:
        nonlocal errors
        conn = Connection(host, port, token)
        while True:
            try:
                path = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                status, ms, app_ms = await asyncio.wait_for(conn.get(path), 60)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError, TimeoutError):
                errors += 1
                conn = Connection(host, port, token)
                continue
            if status != 200:
                errors += 1
                continue
            latencies.append(ms)
            if app_ms is not None:
                app_times.append(app_ms)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    pct = lambda xs, q: round(float(np.percentile(xs, q)), 2) if xs else None  # noqa: E731
    return {"requests": len(paths), "ok": len(latencies), "errors": errors, "rps": round(len(latencies) / wall, 1),
            "p50_ms": pct(latencies, 50), "p95_ms": pct(latencies, 95), "p99_ms": pct(latencies, 99),
            "app_p50_ms": pct(app_times, 50), "app_p95_ms": pct(app_times, 95)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("--model", default="als", help="algorithm of the served version (trained once if missing)")
    parser.add_argument("--requests", type=int, default=3000, help="requests per endpoint")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--url", help="an already running server (else Daphne is started on a free port)")
    parser.add_argument("--json", type=Path, help="write the results table as JSON to this path")
    parser.add_argument("--cleanup", action="store_true")
    parser.add_argument("--setup-only", action="store_true", help="generate the store and train, then exit")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://...", file=sys.stderr)
        return 2
    if args.cleanup:
        _cleanup()
        return 0
    store = _ensure_store(args)
    if args.setup_only:
        return 0
    token = _token(store)
    rng = random.Random(11)
    customers = list(Customer.objects.for_store(store).values_list("external_id", flat=True)[:5000])
    skus = list(Product.objects.for_store(store).filter(events__isnull=False).values_list("sku", flat=True).distinct()[:5000])
    base = f"/api/v1/stores/{SLUG}"
    k = args.k
    cases = [
        ("customers/<id> (model)", lambda: f"{base}/recommendations/customers/{rng.choice(customers)}?k={k}", True),
        ("products/<sku>/similar", lambda: f"{base}/recommendations/products/{rng.choice(skus)}/similar?k={k}", True),
        ("products/<sku>/bought-together", lambda: f"{base}/recommendations/products/{rng.choice(skus)}/bought-together?k={k}", True),
        ("customers/<unknown> (fallback)", lambda: f"{base}/recommendations/customers/nobody-{rng.randrange(10**6)}?k={k}", False),
        ("baseline: trending (no model)", lambda: f"{base}/recommendations/trending?k={k}", False),
        ("baseline: product list, 10 rows", lambda: f"{base}/products/?page_size={k}", False),
    ]
    # The serving functions called directly, one at a time: the cost of one request without HTTP, auth,
    # throttling or queueing behind 99 others (the floor the HTTP figures stand on).
    from recommender.services import serving

    direct = [
        ("in-process: recommend_for_customer", lambda: serving.recommend_for_customer(
            store=store, external_id=rng.choice(customers), k=k)),
        ("in-process: similar_products", lambda: serving.similar_products(store=store, sku=rng.choice(skus), k=k)),
        ("in-process: trending_list", lambda: serving.trending_list(store=store, k=k)),
    ]
    in_process = []
    for name, fn in direct:
        fn()
        samples = []
        for _ in range(min(args.requests, 300)):
            started = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - started) * 1000)
        in_process.append({"endpoint": name, "requests": len(samples), "p50_ms": round(float(np.percentile(samples, 50)), 2),
                           "p95_ms": round(float(np.percentile(samples, 95)), 2)})
        print(f"  {name}: p95 {in_process[-1]['p95_ms']} ms", flush=True)
    proc = None
    if args.url:
        parts = urlsplit(args.url)
        host, port = parts.hostname, parts.port or 80
    else:
        host, port = "127.0.0.1", _free_port()
        log_path = REPO / "var" / "bench-recommender-server.log"
        log_path.parent.mkdir(exist_ok=True)
        proc = _start_server(port, log_path)
        print(f"Daphne started on port {port} (log: {log_path})", flush=True)
    results = []
    try:
        for name, make, goal in cases:
            print(f"{name}: warming up, then {args.requests} requests from {args.concurrency} connections", flush=True)
            warm = [make() for _ in range(min(200, args.requests))]
            asyncio.run(_load(host, port, token, warm, min(args.concurrency, 20)))  # load models, fill caches
            row = {"endpoint": name, **asyncio.run(_load(host, port, token, [make() for _ in range(args.requests)],
                                                          args.concurrency)), "goal": goal}
            row["meets_goal"] = (row["p95_ms"] is not None and row["p95_ms"] < GOAL_MS) if goal else None
            results.append(row)
            print(f"  {name}: p95 {row['p95_ms']} ms, {row['rps']} req/s, {row['errors']} errors", flush=True)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    active = RecommenderModel.objects.for_store(store).filter(is_active=True).first()
    n_events = Event.objects.for_store(store).count()
    print(f"\nStore {SLUG}: {args.products:,} products, {n_events:,} events; served model {active.label if active else '-'}; "
          f"k={k}, {args.concurrency} concurrent, {args.requests} requests per endpoint; server "
          f"{'at ' + args.url if args.url else 'one Daphne process'}; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")
    width = max(len(r["endpoint"]) for r in results)
    print(f"{'endpoint':<{width}}  {'req/s':>7}  {'p50 ms':>8}  {'p95 ms':>8}  {'p99 ms':>8}  {'app p50':>8}  "
          f"{'app p95':>8}  {'errors':>6}  goal p95 < {GOAL_MS:.0f} ms")
    for r in results:
        verdict = "-" if r["meets_goal"] is None else ("yes" if r["meets_goal"] else "NO")
        print(f"{r['endpoint']:<{width}}  {r['rps']:>7.1f}  {r['p50_ms']:>8}  {r['p95_ms']:>8}  {r['p99_ms']:>8}  "
              f"{r['app_p50_ms']!s:>8}  {r['app_p95_ms']!s:>8}  {r['errors']:>6}  {verdict}")
    print(f"\n{'serving function, sequential (no HTTP)':<{width}}  {'p50 ms':>8}  {'p95 ms':>8}")
    for r in in_process:
        print(f"{r['endpoint']:<{width}}  {r['p50_ms']:>8}  {r['p95_ms']:>8}")
    if args.json:
        args.json.write_text(json.dumps({"products": args.products, "events": n_events, "k": k, "in_process": in_process,
                                         "concurrency": args.concurrency, "model": active.label if active else None,
                                         "load_average": os.getloadavg()[0], "results": results}, indent=2))
        print(f"Wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
