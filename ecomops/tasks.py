"""Celery tasks of the shared domain: the KPI rollup job (the demo job) and the periodic job reaper."""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from rest_framework import serializers

from ecomops.job_params import JobParamsSerializer
from ecomops.services.jobs import job_progress, jobs_reap_stale, jobs_requeue_lost
from ecomops.services.rollups import ROLLUP_MAX_DAYS, rollups_refresh
from ecomops.tasks_base import job_task

EARLIEST_ROLLUP_DAY = date(2000, 1, 1)


class KpiRollupParams(JobParamsSerializer):
    start = serializers.DateField(required=False, allow_null=True, help_text="First local day (default: first activity).")
    end = serializers.DateField(required=False, allow_null=True, help_text="Last local day (default: last activity).")

    def validate(self, attrs):
        start, end = attrs.get("start"), attrs.get("end")
        latest = date.today() + timedelta(days=366)
        for name in ("start", "end"):
            day = attrs.get(name)
            if day is not None and not EARLIEST_ROLLUP_DAY <= day <= latest:
                raise serializers.ValidationError({name: [f"Must be between {EARLIEST_ROLLUP_DAY} and {latest}."]})
        if start and end:
            if end < start:
                raise serializers.ValidationError({"end": ["Must not be before start."]})
            if (end - start).days + 1 > ROLLUP_MAX_DAYS:
                raise serializers.ValidationError({"end": [f"At most {ROLLUP_MAX_DAYS} days per rollup."]})
        return attrs


@job_task(kind="kpi_rollup", queue="default", label="Recompute daily KPI rollups", time_limit=1800,
          params=KpiRollupParams, max_concurrent=2)
def kpi_rollup(job, start: str | date | None = None, end: str | date | None = None):
    job_progress(job=job, progress=1, message="Finding the store's activity range")
    return rollups_refresh(
        store=job.store,
        start=date.fromisoformat(start) if isinstance(start, str) else start,
        end=date.fromisoformat(end) if isinstance(end, str) else end,
        chunk_days=14,  # small steps: the progress bar moves visibly and cancel is honoured quickly
        on_progress=lambda pct, msg: job_progress(job=job, progress=max(1, pct - 1), message=msg),
    )


# Every periodic task names both limits: a task that sets only `time_limit` inherits the 55-minute global soft
# limit, and Celery refuses to send it ("soft_time_limit must be less than or equal to time_limit").
@shared_task(name="ecomops.jobs_reap_stale", time_limit=120, soft_time_limit=100)
def jobs_reap_stale_task() -> dict:
    return {"reaped": jobs_reap_stale(), "requeued": jobs_requeue_lost()}
