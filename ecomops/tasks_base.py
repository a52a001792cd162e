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
from rest_framework.exceptions import ValidationError

from ecomops.job_params import errors_text, params_validate
from ecomops.services.jobs import (
    DEFAULT_MAX_CONCURRENT,
    JobCancelled,
    job_fail,
    job_mark_cancelled,
    job_start,
    job_succeed,
    register_job_kind,
)

logger = logging.getLogger(__name__)


def job_task(
    *,
    kind: str,
    queue: str,
    label: str,
    time_limit: int = 3600,
    params: type | None = None,
    max_concurrent: int = DEFAULT_MAX_CONCURRENT,
    on_abandoned: Callable | None = None,
) -> Callable:
    """Register `fn(job, **params)` as job kind `kind` on `queue`.

    `params` is the kind's JobParamsSerializer (ecomops.job_params): the only parameters a request may pass,
    with their bounds; default: none. `time_limit` is the soft limit (the job fails with a readable reason);
    the hard limit is 30 s later. `on_abandoned(job)` runs when the job ends failed or cancelled by any route.
    """

    def decorator(fn: Callable[..., Any]):
        task_name = f"jobs.{kind}"

        def body(job_id: str, inline: dict[str, Any]) -> str:
            job = job_start(job_id=job_id)
            if job is None:
                return "skipped"
            try:
                # The row's parameters are checked again here, whoever wrote them: nothing outside the kind's
                # declaration (a file path, an unbounded size) reaches the job function.
                _, params = params_validate(spec.params_serializer, job.params or {}, store=job.store)
            except ValidationError as exc:
                job_fail(job=job, error=f"The job's parameters are not valid: {errors_text(exc.detail)}")
                return "failed"
            try:
                result = fn(job, **params, **inline)
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

        @shared_task(name=task_name, time_limit=time_limit + 30, soft_time_limit=time_limit)
        def run(job_id: str) -> str:
            return body(job_id, {})

        spec = register_job_kind(name=kind, task_name=task_name, queue=queue, label=label,
                                 params_serializer=params, max_concurrent=max_concurrent, on_abandoned=on_abandoned)
        run.job_fn = fn
        # In-process runs (management commands) may hand the body objects a message cannot carry, such as a
        # progress listener or an operator-given file path; they are never stored on the row.
        run.run_inline = body
        return run

    return decorator


def _readable(exc: Exception) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}" if not isinstance(exc, ValueError) else text
