"""Thin Celery doors: the forecast job, the nightly forecast, and the daily KPI check (STYLE.md §3)."""

from __future__ import annotations

import logging

from celery import shared_task
from rest_framework import serializers

from ecomops.job_params import JobParamsSerializer
from ecomops.models import Store
from ecomops.services.jobs import JobLimitReached, job_create, job_progress
from ecomops.tasks_base import job_task
from inventory.models import ForecastStatus, ForecastVersion
from inventory.services.forecasting import FORECAST_KIND, MODEL_CHOICES, forecast_train

logger = logging.getLogger(__name__)


class ForecastParams(JobParamsSerializer):
    horizon = serializers.IntegerField(required=False, allow_null=True, min_value=7, max_value=90,
                                       help_text="Days ahead (default: the store's setting, 28)")
    models = serializers.ChoiceField(choices=list(MODEL_CHOICES), required=False, default="auto",
                                     help_text="full: with AutoETS for regular sellers; fast: without it; "
                                               "auto: full up to 1,000 products, else fast")
    history_days = serializers.IntegerField(required=False, default=365, min_value=28, max_value=1100)


def forecast_abandoned(job) -> None:
    """A forecast job that died (worker killed, reaped, cancelled) leaves no version stuck in `training`."""
    ForecastVersion.objects.filter(job=job, status=ForecastStatus.TRAINING).update(
        status=ForecastStatus.FAILED, error=(job.error or job.message or "The job ended before it finished.")[:2000]
    )


@job_task(kind=FORECAST_KIND, queue="training", label="Forecast demand", time_limit=1800, params=ForecastParams,
          max_concurrent=1, on_abandoned=forecast_abandoned)
def inventory_forecast(job, horizon: int | None = None, models: str = "auto", history_days: int = 365, listener=None):
    def progress(pct: int, message: str) -> None:
        job_progress(job=job, progress=pct, message=message)
        if listener is not None:
            listener(pct, message)

    version = forecast_train(store=job.store, job=job, horizon=horizon, models=models, history_days=history_days,
                             created_by=job.created_by, on_progress=progress)
    return {"version": version.version, "stats": version.stats}


# Both limits named: with `time_limit` alone the global soft limit applies and beat cannot send it.
@shared_task(name="inventory.nightly_forecast", time_limit=300, soft_time_limit=270)
def nightly_forecast() -> int:
    """Queue a forecast job for every store with nightly forecasts on (the default) that has orders."""
    from ecomops.models import Order
    from inventory.models import InventorySettings

    off = set(InventorySettings.objects.filter(nightly_forecast=False).values_list("store_id", flat=True))
    queued = 0
    for store in Store.objects.exclude(pk__in=off):
        if not Order.objects.for_store(store).exists():
            continue
        try:
            job_create(store=store, kind=FORECAST_KIND, params={})
        except JobLimitReached:
            logger.info("nightly forecast of store %s skipped: a forecast job is already queued", store.pk)
            continue
        queued += 1
    return queued
