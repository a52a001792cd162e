from __future__ import annotations

from decimal import Decimal

from django.db import models

from .scoped import StoreOwned


class DailyStoreStats(StoreOwned):
    """Pre-aggregated per-day KPIs (store's local date), refreshed by the `kpi_rollup` job.

    The Overview reads these for closed days, so it stays fast with millions of events.
    """

    date = models.DateField()
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0.00"))
    orders = models.IntegerField(default=0)
    sessions = models.IntegerField(default=0)
    converted_sessions = models.IntegerField(default=0)
    events = models.IntegerField(default=0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "date"], name="dailystats_unique_store_date")]
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.store_id} {self.date}"
