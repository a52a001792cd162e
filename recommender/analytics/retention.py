"""Retention cohorts and lifecycle, per customer, bucketed by week or month in the store's time zone.

Both are computed in the database from distinct (customer, period) activity pairs.

Retention (PostHog's definitions):
- ``first_time``: a customer's cohort is the period of their first-ever start event (all history counts, so a
  customer active before the range is never "new" in it).
- ``recurring``: every period in which a customer did the start event is a cohort entry.
Cell (cohort c, offset k) = customers of cohort c who did the return event in period c + k. Offset 0 is the
cohort period itself (100% when the start and return events are the same).

Lifecycle, per period: ``new`` (first-ever activity in this period), ``returning`` (active in this and the
previous period), ``resurrecting`` (active now, not in the previous period, but active before), ``dormant``
(active in the previous period, not in this one; reported as a negative number like PostHog does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from ecomops.models import Store

from .sql import Query, fetch_all, period_bounds, period_bucket, period_number_of, period_start

RETENTION_MODES = ("first_time", "recurring")
ANY_EVENT = "any"


@dataclass(frozen=True)
class RetentionSpec:
    period: str = "week"
    periods: int = 12
    mode: str = "first_time"
    start_event: str = ANY_EVENT
    return_event: str = ANY_EVENT
    end: datetime | None = None  # the last cohort is the period containing this instant (default: now)

    def __post_init__(self) -> None:
        if self.period not in ("week", "month"):
            raise ValueError("Retention periods are week or month.")
        if self.mode not in RETENTION_MODES:
            raise ValueError("Unknown retention mode.")
        if not 1 <= self.periods <= 52:
            raise ValueError("periods must be 1..52")


def _range(store: Store, period: str, periods: int, end: datetime | None) -> tuple[int, int, datetime, datetime]:
    last = period_number_of(end or timezone.now(), period, store.timezone)
    first = last - periods + 1
    lo, hi = period_bounds(first, last, period, store.timezone)
    return first, last, lo, hi


def _flag(event: str) -> tuple[str, list]:
    if event == ANY_EVENT:
        return "1", []
    return "CASE WHEN e.type = %s THEN 1 ELSE 0 END", [event]


def _activity_cte(store: Store, q: Query, *, period: str, first: int, last: int, lo, hi, start_event: str,
                  return_event: str) -> None:
    """CTE `act`: one row per (customer, period) in [lo, hi) with flags: did the start event, did the return event.

    One scan of the range's events. Which periods were a customer's *first* is decided with a NOT EXISTS probe of
    the (store, customer, occurred_at) index for events before `lo`, instead of a MIN over all history."""
    pn = period_bucket("e.occurred_at", period, store.timezone, first, last)
    start_flag, start_params = _flag(start_event)
    return_flag, return_params = _flag(return_event)
    q.add(
        f"""WITH act AS (
  SELECT e.customer_id AS u, {pn} AS p, MAX({start_flag}) AS did_start, MAX({return_flag}) AS did_return
  FROM ecomops_event e
  WHERE e.store_id = %s AND e.customer_id IS NOT NULL AND e.occurred_at >= %s AND e.occurred_at < %s
  GROUP BY e.customer_id, {pn}
)""",
        *start_params,
        *return_params,
        store.pk,
        lo,
        hi,
    )


def _never_before(store: Store, lo, event: str) -> tuple[str, list]:
    """SQL condition on `u`: the customer has no (matching) event before `lo`."""
    type_sql, params = ("", [])
    if event != ANY_EVENT:
        type_sql, params = " AND b.type = %s", [event]
    return (
        "NOT EXISTS (SELECT 1 FROM ecomops_event b WHERE b.store_id = %s AND b.customer_id = u"
        f" AND b.occurred_at < %s{type_sql})",
        [store.pk, lo, *params],
    )


def retention_matrix(store: Store, spec: RetentionSpec) -> dict:
    first, last, lo, hi = _range(store, spec.period, spec.periods, spec.end)
    q = Query()
    _activity_cte(store, q, period=spec.period, first=first, last=last, lo=lo, hi=hi, start_event=spec.start_event,
                  return_event=spec.return_event)
    if spec.mode == "first_time":
        never, never_params = _never_before(store, lo, spec.start_event)
        q.add(
            f", starts AS (SELECT u, MIN(p) AS p FROM act WHERE did_start = 1 GROUP BY u HAVING {never})",
            *never_params,
        )
    else:
        q.add(", starts AS (SELECT u, p FROM act WHERE did_start = 1)")
    q.add(
        """
SELECT s.p AS cohort, -1 AS k, COUNT(*) AS n FROM starts s GROUP BY s.p
UNION ALL
SELECT s.p AS cohort, a.p - s.p AS k, COUNT(*) AS n FROM starts s JOIN act a ON a.u = s.u AND a.p >= s.p
WHERE a.did_return = 1
GROUP BY s.p, a.p - s.p"""
    )
    sizes: dict[int, int] = {}
    cells: dict[tuple[int, int], int] = {}
    index_only = spec.start_event == ANY_EVENT and spec.return_event == ANY_EVENT
    for cohort, k, n in fetch_all(q, index_only=index_only):
        if k == -1:
            sizes[cohort] = n
        else:
            cells[(cohort, k)] = n
    cohorts = []
    for p in range(first, last + 1):
        size = sizes.get(p, 0)
        span = last - p + 1  # offsets that have started by the end of the range
        counts = [cells.get((p, k), 0) for k in range(span)]
        cohorts.append(
            {
                "period": period_start(p, spec.period).isoformat(),
                "size": size,
                "counts": counts,
                "rates": [(c / size) if size else 0.0 for c in counts],
            }
        )
    return {
        "period": spec.period,
        "mode": spec.mode,
        "start_event": spec.start_event,
        "return_event": spec.return_event,
        "offsets": list(range(spec.periods)),
        "cohorts": cohorts,
    }


LIFECYCLE_STATUSES = ("new", "returning", "resurrecting", "dormant")


@dataclass(frozen=True)
class LifecycleSpec:
    period: str = "week"
    periods: int = 12
    event: str = ANY_EVENT
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.period not in ("day", "week", "month"):
            raise ValueError("Lifecycle periods are day, week or month.")
        if not 1 <= self.periods <= 90:
            raise ValueError("periods must be 1..90")


def lifecycle(store: Store, spec: LifecycleSpec) -> dict:
    first, last, lo, hi = _range(store, spec.period, spec.periods, spec.end)
    # One extra period before the range, to tell returning from resurrecting and to find the first dormant ones.
    lo_ext, _ = period_bounds(first - 1, last, spec.period, store.timezone)
    q = Query()
    _activity_cte(store, q, period=spec.period, first=first - 1, last=last, lo=lo_ext, hi=hi,
                  start_event=spec.event, return_event=spec.event)
    never, never_params = _never_before(store, lo_ext, spec.event)
    # A customer's first-ever period is their earliest period here when they had no event before the range.
    q.add(
        f""", firsts AS (SELECT u, MIN(p) AS fp FROM act WHERE did_start = 1 GROUP BY u HAVING {never})
, active AS (SELECT u, p FROM act WHERE did_start = 1)
SELECT a.p, CASE WHEN f.fp = a.p THEN 'new' WHEN prev.u IS NOT NULL THEN 'returning' ELSE 'resurrecting' END AS status,
       COUNT(*) AS n
FROM active a LEFT JOIN firsts f ON f.u = a.u LEFT JOIN active prev ON prev.u = a.u AND prev.p = a.p - 1
WHERE a.p >= %s
GROUP BY a.p, CASE WHEN f.fp = a.p THEN 'new' WHEN prev.u IS NOT NULL THEN 'returning' ELSE 'resurrecting' END
UNION ALL
SELECT a.p + 1, 'dormant', COUNT(*) FROM active a LEFT JOIN active nxt ON nxt.u = a.u AND nxt.p = a.p + 1
WHERE nxt.u IS NULL AND a.p + 1 <= %s
GROUP BY a.p + 1""",
        *never_params,
        first,
        last,
    )
    table = {p: dict.fromkeys(LIFECYCLE_STATUSES, 0) for p in range(first, last + 1)}
    for p, status, n in fetch_all(q, index_only=spec.event == ANY_EVENT):
        if p in table:
            table[p][status] = n
    periods = list(range(first, last + 1))
    return {
        "period": spec.period,
        "event": spec.event,
        "periods": [period_start(p, spec.period).isoformat() for p in periods],
        "series": {
            status: [(-table[p][status] if status == "dormant" else table[p][status]) for p in periods]
            for status in LIFECYCLE_STATUSES
        },
    }
