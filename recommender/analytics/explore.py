"""Top products and categories, event trends, and the most common paths after an event. All SQL aggregates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from ecomops.models import Store
from ecomops.models.orders import REVENUE_STATUSES

from .sql import Query, fetch_all, fetch_dicts, period_bucket, period_number_of, period_start, placeholders

PRODUCT_METRICS = ("revenue", "units", "views", "add_to_cart", "purchases")
END_OF_PATH = "(end)"


def _money(value) -> str:
    return str(Decimal(str(value or 0)).quantize(Decimal("0.01")))


def top_products(store: Store, *, start: datetime, end: datetime, by: str = "revenue", limit: int = 10) -> list[dict]:
    """Best products in [start, end): revenue/units from paid order lines, views/carts/purchases from events."""
    if by not in PRODUCT_METRICS:
        raise ValueError(f"Unknown metric {by!r}")
    statuses = list(REVENUE_STATUSES)
    q = Query()
    q.add(
        f"""WITH sales AS (
  SELECT l.product_id AS pid, SUM(l.quantity) AS units, SUM(l.line_total) AS revenue, COUNT(DISTINCT l.order_id) AS orders
  FROM ecomops_orderline l JOIN ecomops_order o ON o.id = l.order_id
  WHERE l.store_id = %s AND o.store_id = %s AND o.placed_at >= %s AND o.placed_at < %s
    AND o.status IN ({placeholders(statuses)})
  GROUP BY l.product_id
), behaviour AS (
  SELECT e.product_id AS pid,
    SUM(CASE WHEN e.type = 'view' THEN 1 ELSE 0 END) AS views,
    SUM(CASE WHEN e.type = 'add_to_cart' THEN 1 ELSE 0 END) AS add_to_cart,
    SUM(CASE WHEN e.type = 'purchase' THEN 1 ELSE 0 END) AS purchases
  FROM ecomops_event e
  WHERE e.store_id = %s AND e.occurred_at >= %s AND e.occurred_at < %s AND e.product_id IS NOT NULL
    AND e.type IN ('view', 'add_to_cart', 'purchase')
    {"AND e.product_id IN (SELECT pid FROM sales)" if by in ("revenue", "units") else ""}
  GROUP BY e.product_id
), pids AS (SELECT pid FROM sales UNION SELECT pid FROM behaviour
), combined AS (
  SELECT ids.pid AS pid, COALESCE(s.units, 0) AS units, COALESCE(s.revenue, 0) AS revenue,
    COALESCE(s.orders, 0) AS orders, COALESCE(b.views, 0) AS views, COALESCE(b.add_to_cart, 0) AS add_to_cart,
    COALESCE(b.purchases, 0) AS purchases
  FROM pids ids LEFT JOIN sales s ON s.pid = ids.pid LEFT JOIN behaviour b ON b.pid = ids.pid
)
SELECT p.sku, p.title, p.category, c.units, c.revenue, c.orders, c.views, c.add_to_cart, c.purchases
FROM combined c JOIN ecomops_product p ON p.id = c.pid AND p.store_id = %s
ORDER BY c.{by} DESC, p.sku LIMIT %s""",
        store.pk,
        store.pk,
        start,
        end,
        *statuses,
        store.pk,
        start,
        end,
        store.pk,
        limit,
    )
    rows = fetch_dicts(q)
    for row in rows:
        row["revenue"] = _money(row["revenue"])
        row["view_to_cart_rate"] = (row["add_to_cart"] / row["views"]) if row["views"] else None
    return rows


def top_categories(store: Store, *, start: datetime, end: datetime, limit: int = 10) -> list[dict]:
    statuses = list(REVENUE_STATUSES)
    q = Query().add(
        f"""SELECT COALESCE(NULLIF(p.category, ''), '(none)') AS category, SUM(l.quantity) AS units,
  SUM(l.line_total) AS revenue, COUNT(DISTINCT l.order_id) AS orders, COUNT(DISTINCT l.product_id) AS products
FROM ecomops_orderline l JOIN ecomops_order o ON o.id = l.order_id JOIN ecomops_product p ON p.id = l.product_id
WHERE l.store_id = %s AND o.store_id = %s AND o.placed_at >= %s AND o.placed_at < %s
  AND o.status IN ({placeholders(statuses)})
GROUP BY COALESCE(NULLIF(p.category, ''), '(none)') ORDER BY SUM(l.line_total) DESC LIMIT %s""",
        store.pk,
        store.pk,
        start,
        end,
        *statuses,
        limit,
    )
    rows = fetch_dicts(q)
    for row in rows:
        row["revenue"] = _money(row["revenue"])
    return rows


def event_trends(store: Store, *, start: datetime, end: datetime, interval: str = "day",
                 event_types: tuple[str, ...] = ()) -> dict:
    """Events per interval and type, unique customers and sessions per interval, and revenue per interval."""
    first = period_number_of(start, interval, store.timezone)
    last = max(first, period_number_of(end - timedelta(microseconds=1), interval, store.timezone))  # end exclusive
    pn = period_bucket("e.occurred_at", interval, store.timezone, first, last)
    type_sql = f" AND e.type IN ({placeholders(event_types)})" if event_types else ""
    q = Query().add(
        f"""SELECT {pn} AS p, e.type, COUNT(*) AS n FROM ecomops_event e
WHERE e.store_id = %s AND e.occurred_at >= %s AND e.occurred_at < %s{type_sql}
GROUP BY {pn}, e.type""",
        store.pk,
        start,
        end,
        *event_types,
    )
    counts = fetch_all(q)
    uq = Query().add(
        f"""SELECT {pn} AS p, COUNT(DISTINCT e.customer_id) AS customers,
  COUNT(DISTINCT CASE WHEN e.session_id <> '' THEN e.session_id END) AS sessions
FROM ecomops_event e WHERE e.store_id = %s AND e.occurred_at >= %s AND e.occurred_at < %s GROUP BY {pn}""",
        store.pk,
        start,
        end,
    )
    uniques = {p: (c, s) for p, c, s in fetch_all(uq)}
    opn = period_bucket("o.placed_at", interval, store.timezone, first, last)
    statuses = list(REVENUE_STATUSES)
    rq = Query().add(
        f"""SELECT {opn} AS p, SUM(o.total) AS revenue, COUNT(*) AS orders FROM ecomops_order o
WHERE o.store_id = %s AND o.placed_at >= %s AND o.placed_at < %s AND o.status IN ({placeholders(statuses)})
GROUP BY {opn}""",
        store.pk,
        start,
        end,
        *statuses,
    )
    revenue = {p: (r, n) for p, r, n in fetch_all(rq)}
    periods = list(range(first, last + 1))
    types = sorted({t for _, t, _ in counts})
    table = {(p, t): n for p, t, n in counts}
    return {
        "interval": interval,
        "periods": [period_start(p, interval).isoformat() for p in periods],
        "events": {t: [table.get((p, t), 0) for p in periods] for t in types},
        "customers": [uniques.get(p, (0, 0))[0] for p in periods],
        "sessions": [uniques.get(p, (0, 0))[1] for p in periods],
        "revenue": [_money(revenue.get(p, (0, 0))[0]) for p in periods],
        "orders": [revenue.get(p, (0, 0))[1] for p in periods],
    }


@dataclass(frozen=True)
class PathsSpec:
    start_event: str
    start: datetime
    end: datetime
    depth: int = 3
    unit: str = "session"
    collapse_repeats: bool = True
    limit: int = 20


def paths_after(store: Store, spec: PathsSpec) -> dict:
    """The most common next 1..depth events after `start_event`, within the same session (or customer)."""
    if not 1 <= spec.depth <= 3:
        raise ValueError("depth must be 1..3")
    unit, present = (
        ("e.session_id", "e.session_id <> ''") if spec.unit == "session" else ("e.customer_id", "e.customer_id IS NOT NULL")
    )
    q = Query().add(
        f"""WITH ev AS (
  SELECT {unit} AS u, e.id AS eid, e.occurred_at AS at, e.type AS t FROM ecomops_event e
  WHERE e.store_id = %s AND e.occurred_at >= %s AND e.occurred_at < %s AND {present}
)""",
        store.pk,
        spec.start,
        spec.end,
    )
    source = "ev"
    if spec.collapse_repeats:  # view, view, view, cart -> view, cart
        q.add(
            ", marked AS (SELECT ev.*, LAG(t) OVER (PARTITION BY u ORDER BY at, eid) AS prev_t FROM ev)"
            ", collapsed AS (SELECT u, eid, at, t FROM marked WHERE prev_t IS NULL OR prev_t <> t)"
        )
        source = "collapsed"
    leads = ", ".join(
        f"LEAD(t, {j}) OVER (PARTITION BY u ORDER BY at, eid) AS n{j}" for j in range(1, spec.depth + 1)
    )
    cols = ", ".join(f"n{j}" for j in range(1, spec.depth + 1))
    q.add(
        f""", nexts AS (SELECT t, {leads} FROM {source})
SELECT {cols}, COUNT(*) AS n FROM nexts WHERE t = %s GROUP BY {cols} ORDER BY COUNT(*) DESC, {cols}""",
        spec.start_event,
    )
    rows = fetch_all(q)
    total = sum(row[-1] for row in rows)
    paths = []
    # Truncate each path at its end: after "(end)" nothing follows.
    for row in rows[: spec.limit]:
        steps = []
        for value in row[:-1]:
            steps.append(value or END_OF_PATH)
            if value is None:
                break
        paths.append({"steps": steps, "count": row[-1], "share": row[-1] / total if total else 0.0})
    # Next-step distribution at each depth (for a Sankey diagram), from all rows, not only the top ones.
    links: dict[tuple[int, str, str], int] = {}
    for row in rows:
        prev = spec.start_event
        for depth, value in enumerate(row[:-1], start=1):
            node = value or END_OF_PATH
            key = (depth, prev, node)
            links[key] = links.get(key, 0) + row[-1]
            if value is None:
                break
            prev = node
    return {
        "start_event": spec.start_event,
        "occurrences": total,
        "paths": paths,
        "links": [
            {"depth": d, "source": s, "target": t, "count": n}
            for (d, s, t), n in sorted(links.items(), key=lambda item: (item[0][0], -item[1]))
        ],
    }
