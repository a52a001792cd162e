"""Jobs: long work as a row. Create, enqueue on commit, report progress, cancel, retry, reap.

A job kind is registered once with `register_job_kind` (the task name and its queue); `job_create` writes the
row and enqueues the Celery task only after the transaction commits. Every state change is broadcast to the
store's live group as a `job.progress` message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ecomops.models import Job, JobStatus, Store
from ecomops.models.jobs import FINISHED_STATUSES
from ecomops.realtime import store_broadcast

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobKind:
    name: str
    task_name: str
    queue: str
    label: str


_JOB_KINDS: dict[str, JobKind] = {}


def register_job_kind(*, name: str, task_name: str, queue: str, label: str) -> JobKind:
    kind = JobKind(name=name, task_name=task_name, queue=queue, label=label)
    _JOB_KINDS[name] = kind
    return kind


def job_kind(name: str) -> JobKind:
    try:
        return _JOB_KINDS[name]
    except KeyError:
        raise ValueError(f"Unknown job kind {name!r}. Known: {', '.join(sorted(_JOB_KINDS))}") from None


def job_kinds() -> dict[str, JobKind]:
    return dict(_JOB_KINDS)


def job_payload(job: Job) -> dict[str, Any]:
    """The JSON shape of a job on the websocket and in the API."""
    return {
        "id": str(job.pk),
        "kind": job.kind,
        "status": job.status,
        "progress": job.progress,
        "message": job.message,
        "error": job.error,
        "result": job.result,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def job_broadcast(job: Job) -> None:
    store_broadcast(job.store_id, "job.progress", {"job": job_payload(job)})


def _enqueue(job: Job) -> None:
    from ecomops.celery import app

    kind = job_kind(job.kind)
    app.send_task(kind.task_name, args=[str(job.pk)], queue=kind.queue)


def job_create(*, store: Store, kind: str, params: dict[str, Any] | None = None, created_by=None) -> Job:
    """Create a queued job and enqueue its task once the transaction commits."""
    job_kind(kind)  # fail fast on unknown kinds
    with transaction.atomic():
        job = Job.objects.create(
            store=store, kind=kind, params=params or {}, created_by=created_by, message="Queued"
        )
        job_broadcast(job)
        transaction.on_commit(lambda: _enqueue(job))
    return job


def job_start(*, job_id) -> Job | None:
    """Claim a job for running. None when the job is gone, finished, or already running elsewhere."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.ECOMOPS_JOB_HEARTBEAT_TIMEOUT)
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status in FINISHED_STATUSES:
            return None
        if job.status == JobStatus.RUNNING and job.heartbeat_at and job.heartbeat_at > stale_before:
            return None  # a duplicate delivery while the first run is alive: let it finish
        if job.cancel_requested:
            _finish(job, JobStatus.CANCELLED, message="Cancelled before it started")
            return None
        job.status = JobStatus.RUNNING
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        job.attempts += 1
        job.message = "Started"
        job.save(update_fields=["status", "started_at", "heartbeat_at", "attempts", "message"])
        job_broadcast(job)
    return job


class JobCancelled(Exception):
    """Raised inside a running job when a cancel was requested."""


def job_progress(*, job: Job, progress: int, message: str = "") -> None:
    """Record progress and heartbeat; raise JobCancelled if someone asked to cancel."""
    progress = max(0, min(100, int(progress)))
    now = timezone.now()
    Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        progress=progress, message=message[:500], heartbeat_at=now
    )
    job.progress, job.message, job.heartbeat_at = progress, message[:500], now
    job_broadcast(job)
    if Job.objects.filter(pk=job.pk, cancel_requested=True).exists():
        raise JobCancelled()


def _finish(job: Job, status: str, *, message: str = "", error: str = "", result=None) -> Job:
    job.status = status
    job.finished_at = timezone.now()
    job.message = message[:500]
    job.error = error
    if result is not None:
        job.result = result
    if status == JobStatus.SUCCEEDED:
        job.progress = 100
    job.save(update_fields=["status", "finished_at", "message", "error", "result", "progress"])
    job_broadcast(job)
    return job


def job_succeed(*, job: Job, result: Any = None, message: str = "Done") -> Job:
    return _finish(job, JobStatus.SUCCEEDED, message=message, result=result)


def job_fail(*, job: Job, error: str) -> Job:
    return _finish(job, JobStatus.FAILED, message="Failed", error=error)


def job_mark_cancelled(*, job: Job) -> Job:
    return _finish(job, JobStatus.CANCELLED, message="Cancelled")


def job_cancel(*, job: Job) -> Job:
    """Cancel a queued job at once; ask a running one to stop at its next progress report."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.is_finished:
            return job
        job.cancel_requested = True
        job.save(update_fields=["cancel_requested"])
        if job.status == JobStatus.QUEUED:
            return _finish(job, JobStatus.CANCELLED, message="Cancelled before it started")
        job.message = "Cancelling…"
        job.save(update_fields=["message"])
        job_broadcast(job)
    return job


def job_retry(*, job: Job, created_by=None) -> Job:
    """A new job with the same kind and parameters (the old row stays as history)."""
    return job_create(store=job.store, kind=job.kind, params=job.params, created_by=created_by or job.created_by)


def jobs_reap_stale(*, now=None) -> int:
    """Fail running jobs whose worker stopped sending heartbeats. Returns how many were reaped."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.ECOMOPS_JOB_HEARTBEAT_TIMEOUT)
    reaped = 0
    stale_ids = list(
        Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff).values_list("pk", flat=True)
    )
    for job_id in stale_ids:
        with transaction.atomic():
            job = Job.objects.select_for_update().filter(pk=job_id, status=JobStatus.RUNNING).first()
            if job is None or (job.heartbeat_at and job.heartbeat_at >= cutoff):
                continue
            last = job.heartbeat_at.strftime("%Y-%m-%d %H:%M:%S UTC") if job.heartbeat_at else "never"
            _finish(
                job,
                JobStatus.FAILED,
                message="Failed",
                error=(
                    f"The worker running this job stopped responding (last heartbeat {last}). "
                    "Work it finished before that is kept; start the job again to complete it."
                ),
            )
            reaped += 1
    if reaped:
        logger.warning("reaped %d stale jobs", reaped)
    return reaped
