"""RFM segmentation of customers into 11 groups, computed in the database from paid orders.

Scores, 1 (worst) to 5 (best), are quintiles of the store's buyers, ties sharing a score:
``score = 1 + floor(5 * (rank - 1) / buyers)`` with RANK() over recency (latest order, older = lower),
frequency (number of orders) and monetary (total spent). FM is the rounded-up mean of F and M.

The 11 groups are placed on the classic recency x frequency-monetary grid (rows R, columns FM); every one of the
25 cells belongs to exactly one group:

    R \\ FM   1               2                   3                   4                 5
    5        New customers   Potential loyalists Potential loyalists Champions         Champions
    4        Promising       Potential loyalists Potential loyalists Loyal             Champions
    3        About to sleep  About to sleep      Need attention      Loyal             Loyal
    2        Hibernating     Hibernating         At risk             At risk           Cannot lose them
    1        Lost/Dormant    Hibernating         At risk             Cannot lose them  Cannot lose them

Shopify's own customer `rfmGroup` (Admin API enum CustomerRfmGroup) names its 11 groups differently; the
correspondence we document is: Champions=CHAMPIONS, Loyal=LOYAL, Potential loyalists=ACTIVE, New customers=NEW,
Promising=PROMISING, Need attention=NEEDS_ATTENTION, About to sleep=ALMOST_LOST, At risk=AT_RISK,
Cannot lose them=PREVIOUSLY_LOYAL, Hibernating and Lost/Dormant=DORMANT. Shopify's 11th, PROSPECTS (customers with
no orders yet), is reported here as ``prospects`` next to the groups, not as a scored group.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from ecomops.models import Customer, Store
from ecomops.models.orders import REVENUE_STATUSES

from .sql import Query, fetch_all, fetch_dicts

SEGMENTS = (
    ("champions", "Champions"),
    ("loyal", "Loyal"),
    ("potential_loyalists", "Potential loyalists"),
    ("new_customers", "New customers"),
    ("promising", "Promising"),
    ("need_attention", "Need attention"),
    ("about_to_sleep", "About to sleep"),
    ("at_risk", "At risk"),
    ("cannot_lose_them", "Cannot lose them"),
    ("hibernating", "Hibernating"),
    ("lost", "Lost/Dormant"),
)
SEGMENT_LABELS = dict(SEGMENTS)

# GRID[r][fm] for r, fm in 1..5 (index 0 unused).
GRID: dict[int, dict[int, str]] = {
    5: {1: "new_customers", 2: "potential_loyalists", 3: "potential_loyalists", 4: "champions", 5: "champions"},
    4: {1: "promising", 2: "potential_loyalists", 3: "potential_loyalists", 4: "loyal", 5: "champions"},
    3: {1: "about_to_sleep", 2: "about_to_sleep", 3: "need_attention", 4: "loyal", 5: "loyal"},
    2: {1: "hibernating", 2: "hibernating", 3: "at_risk", 4: "at_risk", 5: "cannot_lose_them"},
    1: {1: "lost", 2: "hibernating", 3: "at_risk", 4: "cannot_lose_them", 5: "cannot_lose_them"},
}


def rfm_segment_of(r: int, f: int, m: int) -> str:
    """The group of one score triple (the same grid the SQL CASE encodes)."""
    return GRID[r][(f + m + 1) // 2]


@dataclass(frozen=True)
class RfmSpec:
    as_of: datetime | None = None  # recency is measured to this instant (default: now)
    since: datetime | None = None  # only orders placed at or after this instant (default: all history)


def _segment_case() -> str:
    whens = []
    for r, row in GRID.items():
        for fm, segment in row.items():
            whens.append(f"WHEN r = {r} AND fm = {fm} THEN '{segment}'")
    return "CASE " + " ".join(whens) + " END"


def _scored(store: Store, spec: RfmSpec, q: Query) -> None:
    """CTE `scored`: one row per buyer with recency/frequency/monetary, the scores and the segment."""
    as_of = spec.as_of or timezone.now()
    statuses = list(REVENUE_STATUSES)
    since_sql, since_params = ("", [])
    if spec.since:
        since_sql, since_params = (" AND o.placed_at >= %s", [spec.since])
    q.add(
        f"""WITH buyers AS (
  SELECT o.customer_id AS cid, MAX(o.placed_at) AS last_at, COUNT(*) AS frequency, SUM(o.total) AS monetary
  FROM ecomops_order o
  WHERE o.store_id = %s AND o.status IN ({", ".join(["%s"] * len(statuses))}) AND o.placed_at <= %s{since_sql}
  GROUP BY o.customer_id
), ranked AS (
  SELECT buyers.*,
    RANK() OVER (ORDER BY last_at) AS rr, RANK() OVER (ORDER BY frequency) AS fr, RANK() OVER (ORDER BY monetary) AS mr,
    COUNT(*) OVER () AS total
  FROM buyers
), scores AS (
  SELECT cid, last_at, frequency, monetary,
    1 + (5 * (rr - 1)) / total AS r, 1 + (5 * (fr - 1)) / total AS f, 1 + (5 * (mr - 1)) / total AS m
  FROM ranked
), scored AS (
  SELECT scores.*, {_segment_case()} AS segment FROM (SELECT scores.*, (f + m + 1) / 2 AS fm FROM scores) scores
)""",
        store.pk,
        *statuses,
        as_of,
        *since_params,
    )


def rfm_table(store: Store, spec: RfmSpec | None = None) -> dict:
    """Per group: customers, revenue, revenue share, mean recency/frequency/monetary. Plus the score grid counts."""
    spec = spec or RfmSpec()
    as_of = spec.as_of or timezone.now()
    q = Query()
    _scored(store, spec, q)
    q.add(
        "SELECT segment, r, fm, COUNT(*) AS customers, SUM(monetary) AS revenue, SUM(frequency) AS orders,"
        " MIN(last_at) AS oldest_last_order, MAX(last_at) AS newest_last_order FROM scored GROUP BY segment, r, fm"
    )
    rows = fetch_all(q)
    per_segment = {key: {"customers": 0, "revenue": Decimal("0"), "orders": 0} for key, _ in SEGMENTS}
    grid = [[0] * 5 for _ in range(5)]
    for segment, r, fm, customers, revenue, orders, _oldest, _newest in rows:
        seg = per_segment[segment]
        seg["customers"] += customers
        seg["revenue"] += Decimal(str(revenue or 0))
        seg["orders"] += orders
        grid[r - 1][fm - 1] = customers
    total_revenue = sum((s["revenue"] for s in per_segment.values()), Decimal("0"))
    total_customers = sum(s["customers"] for s in per_segment.values())
    buyers_with_orders = total_customers
    prospects = Customer.objects.for_store(store).count() - buyers_with_orders
    return {
        "as_of": as_of.isoformat(),
        "customers": total_customers,
        "revenue": str(total_revenue.quantize(Decimal("0.01"))),
        "prospects": max(prospects, 0),
        "segments": [
            {
                "key": key,
                "label": label,
                "customers": per_segment[key]["customers"],
                "customer_share": (per_segment[key]["customers"] / total_customers) if total_customers else 0.0,
                "revenue": str(per_segment[key]["revenue"].quantize(Decimal("0.01"))),
                "revenue_share": float(per_segment[key]["revenue"] / total_revenue) if total_revenue else 0.0,
                "orders": per_segment[key]["orders"],
            }
            for key, label in SEGMENTS
        ],
        "grid": {"rows": "r (5 first)", "columns": "fm 1..5", "counts": grid[::-1]},
    }


def rfm_customers_query(store: Store, spec: RfmSpec | None = None, *, segment: str | None = None) -> Query:
    """The customer list (optionally one group), largest spenders first, as a Query for paging or streaming."""
    if segment is not None and segment not in SEGMENT_LABELS:
        raise ValueError(f"Unknown segment {segment!r}")
    q = Query()
    _scored(store, spec or RfmSpec(), q)
    q.add(
        "SELECT c.id AS customer_id, c.external_id, c.name, c.email, c.country, s.segment, s.r, s.f, s.m,"
        " s.last_at AS last_order_at, s.frequency AS orders, s.monetary AS revenue"
        " FROM scored s JOIN ecomops_customer c ON c.id = s.cid AND c.store_id = %s",
        store.pk,
    )
    if segment:
        q.add(" WHERE s.segment = %s", segment)
    q.add(" ORDER BY s.monetary DESC, c.id")
    return q


def rfm_customers(store: Store, spec: RfmSpec | None = None, *, segment: str | None = None, limit: int = 50,
                  offset: int = 0) -> list[dict]:
    q = rfm_customers_query(store, spec, segment=segment)
    q.add(" LIMIT %s OFFSET %s", limit, offset)
    rows = fetch_dicts(q)
    for row in rows:
        row["segment_label"] = SEGMENT_LABELS[row["segment"]]
        row["revenue"] = str(Decimal(str(row["revenue"])).quantize(Decimal("0.01")))
    return rows
