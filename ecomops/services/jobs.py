"""Jobs: long work as a row. Create, enqueue on commit, report progress, cancel, retry, reap.

A job kind is registered once with `register_job_kind` (the task name, its queue, the serializer that declares
its parameters, a per-store cap on concurrent jobs). `job_create` writes the row and enqueues the Celery task
only after the transaction commits; `enqueued_at` records that the broker took the message, and the periodic
`jobs_reap_stale` sends again any queued job whose message never left (the broker was down at commit time) or
was lost (the broker restarted without its data). Sending twice is harmless: `job_start` claims a job once.
Every state change is broadcast to the store's live group as a `job.progress` message.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ecomops.models import Job, JobStatus, Store
from ecomops.models.jobs import ACTIVE_STATUSES, FINISHED_STATUSES
from ecomops.realtime import store_broadcast

logger = logging.getLogger(__name__)

DEFAULT_MAX_CONCURRENT = 4


def worker_id() -> str:
    """host:pid of this process (computed per call: a prefork child has its own pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class JobKind:
    name: str
    task_name: str
    queue: str
    label: str
    # A JobParamsSerializer subclass (ecomops.job_params): what a request may pass as `params`.
    params_serializer: type | None = None
    # Queued + running jobs of this kind one store may have at once.
    max_concurrent: int = DEFAULT_MAX_CONCURRENT
    # Called with the job when it ends failed or cancelled by any route (an error, the reaper, a cancel), inside
    # the transaction that finishes it: e.g. mark the model version the job was training as failed.
    on_abandoned: Callable[[Job], None] | None = None


_JOB_KINDS: dict[str, JobKind] = {}


class JobLimitReached(ValueError):
    """The store already runs as many jobs of this kind as it may."""


class JobNotRetryable(ValueError):
    pass


def register_job_kind(
    *,
    name: str,
    task_name: str,
    queue: str,
    label: str,
    params_serializer: type | None = None,
    max_concurrent: int = DEFAULT_MAX_CONCURRENT,
    on_abandoned: Callable[[Job], None] | None = None,
) -> JobKind:
    from ecomops.job_params import NoParams

    kind = JobKind(
        name=name, task_name=task_name, queue=queue, label=label, params_serializer=params_serializer or NoParams,
        max_concurrent=max_concurrent, on_abandoned=on_abandoned,
    )
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


def _enqueue(job_id, kind_name: str) -> bool:
    """Send the job's task; record that the broker took it. A broker that is down is logged, not raised: the
    row stays queued with no `enqueued_at` and the reaper sends it again when the broker is back."""
    from ecomops.celery import app

    kind = job_kind(kind_name)
    try:
        app.send_task(kind.task_name, args=[str(job_id)], queue=kind.queue,
                      retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5})
    except Exception:  # noqa: BLE001 - the row is the source of truth; a lost send is recovered later
        logger.warning("could not enqueue job %s (%s); it stays queued and will be sent again", job_id, kind_name,
                       exc_info=True)
        return False
    Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(enqueued_at=timezone.now())
    return True


def job_create(*, store: Store, kind: str, params: dict[str, Any] | None = None, created_by=None) -> Job:
    """Create a queued job and enqueue its task once the transaction commits.

    Raises JobLimitReached when the store already has `max_concurrent` queued or running jobs of this kind."""
    spec = job_kind(kind)  # fail fast on unknown kinds
    with transaction.atomic():
        # One job creation per store at a time, so two requests cannot both pass the cap check.
        Store.objects.select_for_update().filter(pk=store.pk).values_list("pk", flat=True).first()
        active = Job.objects.filter(store=store, kind=kind, status__in=ACTIVE_STATUSES, cancel_requested=False).count()
        if active >= spec.max_concurrent:
            raise JobLimitReached(
                f"This store already has {active} {spec.label.lower()} job(s) queued or running (at most "
                f"{spec.max_concurrent} at once). Wait for one to finish or cancel one."
            )
        job = Job.objects.create(
            store=store, kind=kind, params=params or {}, created_by=created_by, message="Queued"
        )
        job_broadcast(job)
        job_id = job.pk
        transaction.on_commit(lambda: _enqueue(job_id, kind))
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
        job.worker = worker_id()
        job.save(update_fields=["status", "started_at", "heartbeat_at", "attempts", "message", "worker"])
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
    if status in (JobStatus.FAILED, JobStatus.CANCELLED):
        _abandoned(job)
    job_broadcast(job)
    return job


def _abandoned(job: Job) -> None:
    spec = _JOB_KINDS.get(job.kind)
    if spec is None or spec.on_abandoned is None:
        return
    try:
        with transaction.atomic():
            spec.on_abandoned(job)
    except Exception:  # noqa: BLE001 - the job's own state must still be recorded
        logger.exception("on_abandoned hook of job %s (%s) failed", job.pk, job.kind)


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
    """A new job with the same kind and parameters (the old row stays as history).

    Only a failed or cancelled job can be retried; the new one counts against the kind's cap like any other."""
    if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        raise JobNotRetryable(f"Only a failed or cancelled job can be retried; this one is {job.status}.")
    return job_create(store=job.store, kind=job.kind, params=job.params, created_by=created_by or job.created_by)


def jobs_reap_stale(*, now=None) -> int:
    """Finish running jobs whose worker stopped sending heartbeats. Returns how many were reaped.

    A job someone asked to cancel ends `cancelled` (its "Cancelling…" would otherwise never resolve); any other
    ends `failed` with the reason. Either way the kind's `on_abandoned` hook marks what it was building failed."""
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
            on = f" on {job.worker}" if job.worker else ""
            if job.cancel_requested:
                _finish(job, JobStatus.CANCELLED, message=f"Cancelled (its worker had stopped; last heartbeat {last})")
            else:
                _finish(
                    job,
                    JobStatus.FAILED,
                    message="Failed",
                    error=(
                        f"The worker running this job{on} stopped responding (last heartbeat {last}). "
                        "Work it finished before that is kept; retry the job to complete it."
                    ),
                )
            reaped += 1
    if reaped:
        logger.warning("reaped %d stale jobs", reaped)
    return reaped


def jobs_requeue_lost(*, now=None) -> int:
    """Send again the queued jobs whose task message never reached the broker, or may have been lost with it.

    Never sent (`enqueued_at` empty, the broker was down at commit time): sent once the row is a few seconds old
    (younger rows may still be inside their on-commit send). Sent but still queued after
    ECOMOPS_JOB_REQUEUE_AFTER seconds: sent again, since a broker restarted without its data forgets its queue.
    A duplicate message is harmless (`job_start` claims a job once). Returns how many were sent."""
    now = now or timezone.now()
    never_sent = Job.objects.filter(
        status=JobStatus.QUEUED, cancel_requested=False, enqueued_at__isnull=True,
        created_at__lt=now - timedelta(seconds=5),
    )
    maybe_lost = Job.objects.filter(
        status=JobStatus.QUEUED, cancel_requested=False,
        enqueued_at__lt=now - timedelta(seconds=settings.ECOMOPS_JOB_REQUEUE_AFTER),
    )
    sent = 0
    for job_id, kind in [*never_sent.values_list("pk", "kind")[:500], *maybe_lost.values_list("pk", "kind")[:500]]:
        if kind not in _JOB_KINDS:
            continue
        if _enqueue(job_id, kind):
            sent += 1
    if sent:
        logger.warning("re-sent %d queued jobs whose task message was missing", sent)
    return sent
