"""Realism check of the funnel SQL on real event logs (Taobao UserBehavior, REES46, OTTO slices).

Each slice is loaded through the ORM into a store; the SQL funnel must agree with an independent brute-force
reference computed in Python from the raw file: for every step-1 occurrence, follow the earliest next steps inside
the window, and keep the furthest step per unit (and the shortest time to reach each step). Skips when
../shared/datasets is absent.
"""

from __future__ import annotations

import csv
import json
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings

from ecomops.models import Customer, Event, Product
from recommender.analytics.funnel import FunnelSpec, funnel_conversion
from tests.factories import StoreFactory

pytestmark = [pytest.mark.django_db, pytest.mark.quick]

DATASETS = Path(settings.BASE_DIR).parent / "shared" / "datasets"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"dataset slice not available: {path} (see ../shared/datasets)")
    return path


def load(store, rows):
    """rows: (unit customer id or None, session id, event type, item id, aware datetime, category)."""
    items = {}
    for _, _, _, item, _, category in rows:
        if item is not None:
            items.setdefault(item, category)
    Product.objects.bulk_create([Product(store=store, sku=str(i), title=f"Item {i}", category=c or "")
                                 for i, c in items.items()])
    products = dict(Product.objects.for_store(store).values_list("sku", "id"))
    people = sorted({r[0] for r in rows if r[0] is not None})
    Customer.objects.bulk_create([Customer(store=store, external_id=p, created_at=datetime(2017, 1, 1, tzinfo=UTC))
                                  for p in people])
    customers = dict(Customer.objects.for_store(store).values_list("external_id", "id"))
    Event.objects.bulk_create(
        [Event(store=store, customer_id=customers.get(c), session_id=s or "", type=t,
               product_id=products.get(str(i)) if i is not None else None, occurred_at=at)
         for c, s, t, i, at, _ in rows],
        batch_size=2000,
    )


def reference(rows, steps, window: timedelta, unit_index: int):
    """Brute force over every start; rows keep file order as the tie-break for equal timestamps (ids do too)."""
    units: dict[str, list] = {}
    for index, row in enumerate(rows):
        unit = row[unit_index]
        if unit:
            units.setdefault(unit, []).append((row[4], index, row[2]))
    counts = [0] * len(steps)
    best_times: list[list[float]] = [[] for _ in steps]
    for events in units.values():
        events.sort()
        level, fastest = 0, [None] * len(steps)
        for i, (t0, _, kind) in enumerate(events):
            if kind != steps[0]:
                continue
            reached, pos = 1, i
            for k in range(1, len(steps)):
                nxt = next((j for j in range(pos + 1, len(events))
                            if events[j][2] == steps[k] and events[j][0] - t0 <= window), None)
                if nxt is None:
                    break
                reached, pos = k + 1, nxt
                took = (events[nxt][0] - t0).total_seconds()
                fastest[k] = took if fastest[k] is None else min(fastest[k], took)
            level = max(level, reached)
        for k in range(level):
            counts[k] += 1
            if k and fastest[k] is not None:
                best_times[k].append(fastest[k])
    medians = [None] + [statistics.median(ts) if ts else None for ts in best_times[1:]]
    return counts, medians


def check(store, rows, steps, window, unit):
    load(store, rows)
    start = min(r[4] for r in rows)
    end = max(r[4] for r in rows) + timedelta(seconds=1)
    result = funnel_conversion(store, FunnelSpec(steps=steps, start=start, end=end, window=window, unit=unit))
    counts, medians = reference(rows, steps, window, 0 if unit == "customer" else 1)
    assert [s["count"] for s in result["steps"]] == counts
    for got, want in zip([s["median_seconds_from_start"] for s in result["steps"]], medians, strict=True):
        assert (got is None and want is None) or got == pytest.approx(want, abs=0.01)
    return counts


def test_taobao_userbehavior_funnel_matches_reference(db):
    path = need(DATASETS / "taobao-userbehavior-slice" / "UserBehavior.csv")
    kinds = {"pv": "view", "cart": "add_to_cart", "buy": "purchase"}  # "fav" has no ecomops event type
    rows = []
    with path.open() as f:
        for user, item, category, behaviour, ts in csv.reader(f):
            if behaviour in kinds:
                rows.append((f"u{user}", "", kinds[behaviour], item, datetime.fromtimestamp(int(ts), UTC), category))
    store = StoreFactory(slug="taobao")
    counts = check(store, rows, ("view", "add_to_cart", "purchase"), timedelta(days=3), "customer")
    assert counts[0] == 43 and counts[0] >= counts[1] >= counts[2] > 0  # 43 users, all viewed


def test_rees46_funnel_matches_reference(db):
    path = need(DATASETS / "rees46-oct2019-head" / "2019-Oct-sample.csv")
    kinds = {"view": "view", "cart": "add_to_cart", "remove_from_cart": "remove_from_cart", "purchase": "purchase"}
    rows = []
    with path.open() as f:
        for r in csv.DictReader(f):
            at = datetime.strptime(r["event_time"], "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
            rows.append((f"u{r['user_id']}", r["user_session"], kinds[r["event_type"]], r["product_id"], at,
                         r["category_code"]))
    store = StoreFactory(slug="rees46")
    counts = check(store, rows, ("view", "purchase"), timedelta(hours=1), "session")
    assert counts[0] > 300 and 0 < counts[1] <= 10  # ~370 sessions, 10 purchases in the slice


def test_otto_funnel_matches_reference(db):
    path = need(DATASETS / "otto-fixture" / "train.jsonl")
    kinds = {"clicks": "view", "carts": "add_to_cart", "orders": "purchase"}
    rows = []
    with path.open() as f:
        for line in f:
            session = json.loads(line)
            for e in session["events"]:
                rows.append((None, f"otto{session['session']}", kinds[e["type"]], str(e["aid"]),
                             datetime.fromtimestamp(e["ts"] / 1000, UTC), ""))
    store = StoreFactory(slug="otto")
    counts = check(store, rows, ("view", "add_to_cart", "purchase"), timedelta(days=7), "session")
    assert counts[0] == 20 and counts[2] <= 3  # 20 sessions, orders in 3 of them
