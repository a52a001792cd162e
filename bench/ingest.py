"""Benchmark: events/second into PostgreSQL through import_events and the bulk API, next to a raw COPY of the
same rows (the physical limit), and the Overview page's server time with 1,000,000 events in the store.

    DATABASE_URL=postgres://... .venv/bin/python bench/ingest.py [--events 50000] [--rounds 3] [--json out.json]
        [--overview-events 1000000] [--overview-requests 40] [--skip-overview]

Ingest: a scratch store with 1,000 products and 5,000 customers; N generated events (customer or anonymous
session, view/cart/checkout/purchase, product, time) written as a CSV. Three ways in, each into an empty store
(events deleted and the table vacuumed between them, not timed), --rounds times in a rotating order; the median
time per method is reported:
  raw COPY      psycopg 3 COPY FROM STDIN of the final rows (ids resolved, properties JSON pre-rendered), + commit
  import_events call_command on the CSV: parse, validate, resolve skus/customers, dedupe keys, COPY, commit
  bulk API      POST /api/v1/stores/<slug>/events/bulk with 10,000 events per request (Django test client,
                in-process, bodies pre-encoded), each request validated and committed on its own
Goal: import_events >= 50% of the raw COPY rate.

Overview: a second scratch store gets --overview-events events over the last 365 days plus orders, generated
server-side (INSERT ... SELECT generate_series), then ecomops.services.rollups.rollups_refresh runs as the
nightly job would, then the Overview page (default 30-day period, and ?days=365) is fetched N times through the
Django test client after 3 warm-ups. Goal: p95 < 300 ms. Both scratch stores are deleted at the end.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Not bench/ itself on the path: bench/http.py would shadow the standard library's http (torch, Django import it).
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomops.settings.local")
os.environ.setdefault("DEBUG", "0")  # DEBUG keeps every query in memory and would slow the measured paths

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from ecomops.models import Customer, Event, Membership, Product, Role, Store  # noqa: E402
from ecomops.services.ingest import EVENT_COPY_COLUMNS, INGEST_KEY, MAX_BULK_EVENTS, EventImporter  # noqa: E402
from ecomops.services.rollups import rollups_refresh  # noqa: E402

GOAL_RATIO = 0.5
GOAL_P95_MS = 300.0
TYPES = ["view"] * 14 + ["add_to_cart"] * 3 + ["checkout", "purchase", "search"]


def scratch_store(label: str) -> Store:
    slug = f"bench-ingest-{label}-{os.getpid()}"
    return Store.objects.create(slug=slug, name=f"Bench ingest {label}", currency="EUR", timezone="UTC")


def drop_store(store: Store) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        for table in (
            "ecomops_event", "ecomops_orderline", "ecomops_order", "ecomops_customer", "ecomops_product",
            "ecomops_dailystorestats",
        ):  # fmt: skip
            cursor.execute(f"DELETE FROM {table} WHERE store_id = %s", [store.pk])
        store.delete()


def clear_events(store: Store) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM ecomops_event WHERE store_id = %s", [store.pk])
        cursor.execute("VACUUM (ANALYZE) ecomops_event")  # no dead index entries left for the next method


def generate_events(n: int, *, seed: int = 42) -> list[dict]:
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(n):
        anonymous = rng.random() < 0.3
        customer = "" if anonymous else f"C{rng.randrange(5000):05d}"
        rows.append(
            {
                "customer": customer,
                "session_id": f"s{i // 6}",
                "type": rng.choice(TYPES),
                "product": f"SKU-{rng.randrange(1000):04d}",
                "occurred_at": (start + timedelta(seconds=i * 3 + rng.randrange(3))).isoformat().replace("+00:00", "Z"),
            }
        )
    return rows


def final_rows_text(store: Store, rows: list[dict]) -> bytes:
    """The exact rows import_events writes, as COPY text: what a raw COPY of 'the same rows' loads."""
    importer = EventImporter(store=store)
    drafts, errors = importer.validate(enumerate(rows))
    drafts, ref_errors = importer.resolve(drafts)
    assert not errors and not ref_errors, (errors[:3], ref_errors[:3])
    lines = []
    for draft in drafts:
        key = importer._key(draft)
        lines.append(
            "\t".join(
                (
                    str(store.pk),
                    str(importer.customer_ids[draft.customer]) if draft.customer else "\\N",
                    draft.session_id,
                    draft.type,
                    str(importer.product_ids[draft.sku]) if draft.sku else "\\N",
                    draft.occurred_at.isoformat(),
                    json.dumps({INGEST_KEY: key}, separators=(",", ":")),
                )
            )
        )
    return ("\n".join(lines) + "\n").encode()


def raw_copy(text: bytes) -> float:
    sql = f"COPY ecomops_event ({', '.join(EVENT_COPY_COLUMNS)}) FROM STDIN"
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for offset in range(0, len(text), 1 << 20):
            copy.write(text[offset : offset + (1 << 20)])
    return time.perf_counter() - started


def bench_ingest(n: int, rounds: int) -> dict:
    store = scratch_store("rates")
    tmp = tempfile.TemporaryDirectory()
    try:
        Product.objects.bulk_create([Product(store=store, sku=f"SKU-{i:04d}", title=f"Product {i}") for i in range(1000)])
        Customer.objects.bulk_create(
            [Customer(store=store, external_id=f"C{i:05d}", created_at=datetime(2025, 1, 1, tzinfo=UTC)) for i in range(5000)]
        )
        user = get_user_model().objects.create_user(username=f"bench-ingest-{os.getpid()}", password="x")
        Membership.objects.create(user=user, store=store, role=Role.OWNER)
        rows = generate_events(n)
        path = Path(tmp.name) / "events.csv"
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

        text = final_rows_text(store, rows)
        client = Client()
        client.force_login(user)
        url = f"/api/v1/stores/{store.slug}/events/bulk"
        bodies = [json.dumps({"events": rows[i : i + MAX_BULK_EVENTS]}) for i in range(0, n, MAX_BULK_EVENTS)]

        def via_copy() -> float:
            return raw_copy(text)

        def via_command() -> float:
            started = time.perf_counter()
            with open(os.devnull, "w") as devnull:
                call_command("import_events", str(path), "--store", store.slug, "--no-progress", stdout=devnull)
            return time.perf_counter() - started

        def via_api() -> float:
            started = time.perf_counter()
            for body in bodies:
                response = client.post(url, data=body, content_type="application/json")
                assert response.status_code == 201, response.content[:500]
            return time.perf_counter() - started

        methods = {"raw COPY": via_copy, "import_events": via_command, "bulk API": via_api}
        timings: dict[str, list[float]] = {name: [] for name in methods}
        names = list(methods)
        for round_no in range(rounds):
            # Rotate the order each round so no method always runs first (cold caches) or last.
            for name in names[round_no % 3 :] + names[: round_no % 3]:
                clear_events(store)
                timings[name].append(methods[name]())
                assert Event.objects.for_store(store).count() == n, name
                print(f"  round {round_no + 1}: {name:<14} {n / timings[name][-1]:>10,.0f} events/s", flush=True)
        clear_events(store)
        return {
            name: {
                "seconds_median": round(statistics.median(ts), 3),
                "events_per_second": round(n / statistics.median(ts)),
                "events_per_second_rounds": [round(n / t) for t in ts],
            }
            for name, ts in timings.items()
        }
    finally:
        tmp.cleanup()
        drop_store(store)
        get_user_model().objects.filter(username=f"bench-ingest-{os.getpid()}").delete()


def generate_overview_store(store: Store, n_events: int) -> None:
    """Customers, products, n events over the last 365 days and ~1 paid order per 40 events, server-side."""
    n_customers, n_products = 20_000, 2_000
    now = datetime.now(UTC)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ecomops_product (store_id, sku, title, brand, category, price, currency, attributes, description,"
            " status, stock, created_at, updated_at) SELECT %s, 'P' || g, 'Product ' || g, '', '', 10 + g %% 90, 'EUR',"
            " '{}', '', 'active', 10, %s, %s FROM generate_series(1, %s) g",
            [store.pk, now, now, n_products],
        )
        cursor.execute(
            "INSERT INTO ecomops_customer (store_id, external_id, email, name, country, created_at)"
            " SELECT %s, 'C' || g, '', '', 'DE', %s FROM generate_series(1, %s) g",
            [store.pk, now - timedelta(days=400), n_customers],
        )
        cursor.execute("SELECT min(id) FROM ecomops_customer WHERE store_id = %s", [store.pk])
        first_customer = cursor.fetchone()[0]
        cursor.execute("SELECT min(id) FROM ecomops_product WHERE store_id = %s", [store.pk])
        first_product = cursor.fetchone()[0]
        # Sessions of 8 events; every 20th event is a purchase; 30% of sessions anonymous.
        cursor.execute(
            "INSERT INTO ecomops_event (store_id, customer_id, session_id, type, product_id, occurred_at, properties)"
            " SELECT %(store)s,"
            "  CASE WHEN (g / 8) %% 10 < 3 THEN NULL ELSE %(c0)s + (g / 8 * 7919) %% %(nc)s END,"
            "  's' || (g / 8),"
            "  (ARRAY['view','view','view','view','view','view','view','view','view','view','view','view',"
            "         'add_to_cart','add_to_cart','add_to_cart','checkout','checkout','search','search','purchase'])"
            "   [1 + g %% 20],"
            "  %(p0)s + (g * 31) %% %(np)s,"
            "  %(now)s - make_interval(secs => (g::float8 / %(n)s) * 365 * 86400),"
            "  '{}'::jsonb"
            " FROM generate_series(0, %(n)s - 1) g",
            {"store": store.pk, "c0": first_customer, "nc": n_customers, "p0": first_product, "np": n_products,
             "now": now, "n": n_events},
        )  # fmt: skip
        cursor.execute(
            "INSERT INTO ecomops_order (store_id, customer_id, number, status, placed_at, currency, subtotal, shipping,"
            " tax, total, shipping_address, created_at)"
            " SELECT %(store)s, %(c0)s + (g * 7919) %% %(nc)s, 'B' || g, 'paid',"
            "  %(now)s - make_interval(secs => (g::float8 / %(n)s) * 365 * 86400), 'EUR', 20 + g %% 200, 0, 0,"
            "  20 + g %% 200, '', %(now)s FROM generate_series(0, %(n)s - 1) g",
            {"store": store.pk, "c0": first_customer, "nc": n_customers, "now": now, "n": max(1, n_events // 40)},
        )
        cursor.execute("ANALYZE ecomops_event")
        cursor.execute("ANALYZE ecomops_order")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def bench_overview(n_events: int, requests: int) -> dict:
    store = scratch_store("overview")
    username = f"bench-overview-{os.getpid()}"
    try:
        started = time.perf_counter()
        generate_overview_store(store, n_events)
        generate_s = time.perf_counter() - started
        started = time.perf_counter()
        rollups_refresh(store=store)
        rollup_s = time.perf_counter() - started
        user = get_user_model().objects.create_user(username=username, password="x")
        Membership.objects.create(user=user, store=store, role=Role.OWNER)
        client = Client()
        client.force_login(user)
        out = {"events": Event.objects.for_store(store).count(), "generate_s": round(generate_s, 1),
               "rollups_refresh_s": round(rollup_s, 1)}  # fmt: skip
        for label, query in (("overview 30 days", ""), ("overview 365 days", "?days=365")):
            url = f"/stores/{store.slug}/{query}"
            for _ in range(3):
                assert client.get(url).status_code == 200
            times = []
            for _ in range(requests):
                t0 = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200
            out[label] = {
                "requests": requests,
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(percentile(times, 0.95), 1),
                "max_ms": round(max(times), 1),
            }
        return out
    finally:
        drop_store(store)
        get_user_model().objects.filter(username=username).delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000, help="events per ingest method and round (default 50,000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per method; the median is reported (default 3)")
    parser.add_argument("--overview-events", type=int, default=1_000_000)
    parser.add_argument("--overview-requests", type=int, default=40)
    parser.add_argument("--skip-overview", action="store_true")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/ingest.py needs PostgreSQL: set DATABASE_URL=postgres://...")

    report: dict = {"events": args.events, "rounds": args.rounds, "database": connection.settings_dict["NAME"]}
    print(f"Ingest: {args.events:,} events per method, {args.rounds} round(s) ...", flush=True)
    ingest = bench_ingest(args.events, args.rounds)
    copy_rate = ingest["raw COPY"]["events_per_second"]
    print(f"\n{'method (median of ' + str(args.rounds) + ')':<22}{'seconds':>10}{'events/s':>12}{'vs COPY':>10}")
    for name, figures in ingest.items():
        ratio = figures["events_per_second"] / copy_rate
        figures["ratio_to_copy"] = round(ratio, 3)
        print(f"{name:<22}{figures['seconds_median']:>10.2f}{figures['events_per_second']:>12,}{ratio:>10.0%}")
    import_ratio = ingest["import_events"]["ratio_to_copy"]
    print(f"goal: import_events >= {GOAL_RATIO:.0%} of raw COPY -> {'met' if import_ratio >= GOAL_RATIO else 'NOT met'}")
    report["ingest"] = ingest
    report["import_events_goal_met"] = import_ratio >= GOAL_RATIO

    if not args.skip_overview:
        print(f"\nOverview: generating {args.overview_events:,} events, rollups_refresh, {args.overview_requests} GETs ...",
              flush=True)  # fmt: skip
        overview = bench_overview(args.overview_events, args.overview_requests)
        print(f"events in store {overview['events']:,}; generated in {overview['generate_s']} s; "
              f"rollups_refresh {overview['rollups_refresh_s']} s")  # fmt: skip
        print(f"\n{'page':<20}{'requests':>10}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
        for label in ("overview 30 days", "overview 365 days"):
            f = overview[label]
            print(f"{label:<20}{f['requests']:>10}{f['p50_ms']:>10}{f['p95_ms']:>10}{f['max_ms']:>10}")
        met = all(overview[k]["p95_ms"] < GOAL_P95_MS for k in ("overview 30 days", "overview 365 days"))
        print(f"goal: p95 < {GOAL_P95_MS:.0f} ms -> {'met' if met else 'NOT met'}")
        report["overview"] = overview
        report["overview_goal_met"] = met

    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
