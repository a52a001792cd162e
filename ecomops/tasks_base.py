"""The Celery side of jobs: `job_task` turns `fn(job, **params)` into a task that takes a job id.

The task re-fetches the job, returns early if it is gone, finished or running elsewhere (safe to run twice),
honours cancellation through `job_progress`, has a time limit and a named queue, and records a
human-readable error on failure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from ecomops.services.jobs import (
    JobCancelled,
    job_fail,
    job_mark_cancelled,
    job_start,
    job_succeed,
    register_job_kind,
)

logger = logging.getLogger(__name__)


def job_task(*, kind: str, queue: str, label: str, time_limit: int = 3600) -> Callable:
    def decorator(fn: Callable[..., Any]):
        task_name = f"jobs.{kind}"

        @shared_task(name=task_name, time_limit=time_limit + 30, soft_time_limit=time_limit)
        def run(job_id: str) -> str:
            job = job_start(job_id=job_id)
            if job is None:
                return "skipped"
            try:
                result = fn(job, **(job.params or {}))
            except JobCancelled:
                job_mark_cancelled(job=job)
                return "cancelled"
            except SoftTimeLimitExceeded:
                job_fail(job=job, error=f"The job ran past its time limit of {time_limit} s and was stopped.")
                return "failed"
            except Exception as exc:  # noqa: BLE001 - every failure becomes a readable error on the row
                logger.exception("job %s (%s) failed", job_id, kind)
                job_fail(job=job, error=_readable(exc))
                return "failed"
            job_succeed(job=job, result=result)
            return "succeeded"

        register_job_kind(name=kind, task_name=task_name, queue=queue, label=label)
        run.job_fn = fn
        return run

    return decorator


def _readable(exc: Exception) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}" if not isinstance(exc, ValueError) else text
