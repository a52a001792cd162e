"""Celery tasks of the shared domain: the KPI rollup job (the demo job) and the stale-job reaper."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from ecomops.services.jobs import job_progress, jobs_reap_stale
from ecomops.services.rollups import rollups_refresh
from ecomops.tasks_base import job_task


@job_task(kind="kpi_rollup", queue="default", label="Recompute daily KPI rollups", time_limit=1800)
def kpi_rollup(job, start: str | None = None, end: str | None = None, **_ignored):
    job_progress(job=job, progress=1, message="Finding the store's activity range")
    return rollups_refresh(
        store=job.store,
        start=date.fromisoformat(start) if start else None,
        end=date.fromisoformat(end) if end else None,
        chunk_days=14,  # small steps: the progress bar moves visibly and cancel is honoured quickly
        on_progress=lambda pct, msg: job_progress(job=job, progress=max(1, pct - 1), message=msg),
    )


@shared_task(name="ecomops.jobs_reap_stale", time_limit=120)
def jobs_reap_stale_task() -> int:
    return jobs_reap_stale()
