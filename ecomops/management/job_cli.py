"""Shared by the management commands that start a job: run it in this process or follow a worker's run.

Both ways follow the `Job` row with a tqdm bar, so a command shows the same progress the Jobs page shows.

    job = job_run_inline(task=kpi_rollup, store=store, kind="kpi_rollup", params={}, out=self.stderr._out)
    job = job_follow(job, out=self.stderr._out, queue="training")
"""

from __future__ import annotations

import threading
import time
from typing import IO, Any

from django.core.management.base import CommandError
from django.db import connection
from tqdm import tqdm

from ecomops.models import Job, JobStatus, Store

POLL_SECONDS = 0.3
QUEUED_WARNING_SECONDS = 15


def job_follow(
    job: Job,
    *,
    out: IO[str],
    timeout: float = 1800,
    quiet: bool = False,
    queue: str = "default",
    inline: threading.Thread | None = None,
) -> Job:
    """Polls the job row until it finishes (or the inline thread running it stops); returns the fresh row.

    Raises CommandError when it does not finish within `timeout` seconds."""
    started = time.monotonic()
    warned = False
    with tqdm(total=100, desc=job.kind, unit="%", disable=quiet, file=out) as bar:
        while True:
            job.refresh_from_db()
            bar.n = job.progress
            bar.set_postfix_str(f"{job.status}: {job.message[:60]}", refresh=False)
            bar.refresh()
            if job.is_finished:
                return job
            if inline is not None and not inline.is_alive():
                job.refresh_from_db()
                return job
            waited = time.monotonic() - started
            if inline is None and job.status == JobStatus.QUEUED and not warned and waited > QUEUED_WARNING_SECONDS:
                bar.write(f"Still queued after {QUEUED_WARNING_SECONDS} s: is a Celery worker consuming the "
                          f"{queue!r} queue? (or run the command without queuing)")
                warned = True
            if waited > timeout:
                raise CommandError(f"Job {job.pk} did not finish within {timeout:.0f} s (status {job.status}).")
            time.sleep(POLL_SECONDS)


def job_run_inline(
    *,
    task: Any,
    store: Store,
    kind: str,
    params: dict,
    out: IO[str],
    timeout: float = 1800,
    quiet: bool = False,
    created_by=None,
    inline: dict[str, Any] | None = None,
) -> Job:
    """Creates the job row without the on-commit enqueue and runs the very task body a worker would run, in a
    thread, while this thread follows the row. A crash of the task body becomes a CommandError.

    `inline` are extra keyword arguments for this in-process run only (e.g. an operator's file path): they are
    not stored in the row's params, so a retry or a worker never sees them."""
    job = Job.objects.create(store=store, kind=kind, params=params, message="Queued", created_by=created_by)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            task.run_inline(str(job.pk), inline or {})
        except BaseException as exc:  # noqa: BLE001 - reported by the following thread
            failure.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=run, name=f"{kind}-inline", daemon=True)
    worker.start()
    job = job_follow(job, out=out, timeout=timeout, quiet=quiet, inline=worker)
    worker.join()
    if failure:
        raise CommandError(f"The job crashed: {failure[0]!r}")
    job.refresh_from_db()
    return job


def job_report(job: Job) -> str:
    """The success line for a finished job; raises CommandError naming the status and error otherwise."""
    if job.status != JobStatus.SUCCEEDED:
        raise CommandError(f"Job {job.pk} ended {job.status}: {job.error or job.message}")
    return f"Job {job.pk} succeeded: {job.result}"


def job_run_here(job: Job, job_fn: Any, params: dict, *, desc: str, label: str = "Job", quiet: bool = False) -> dict:
    """Claims a queued job and runs its body in this process with a tqdm bar fed by the body's own progress
    listener (the same row, messages and broadcasts a worker would produce); returns the job's result.

    A worker that later receives the job's message finds it finished and skips it. A failure marks the row failed
    with a readable reason and becomes a CommandError (a non-zero exit)."""
    from ecomops.services.jobs import job_fail, job_start, job_succeed

    claimed = job_start(job_id=job.pk)
    if claimed is None:
        raise CommandError(f"Job {job.pk} was already taken by a worker; follow it on the dashboard.")
    bar = tqdm(total=100, desc=desc, unit="%", disable=quiet)

    def listener(progress: int, message: str) -> None:
        bar.update(max(0, progress - bar.n))
        bar.set_postfix_str(message[-60:])

    try:
        result = job_fn(claimed, **params, listener=listener)
    except Exception as exc:  # noqa: BLE001 - the row gets the readable reason, the shell a non-zero exit
        job_fail(job=claimed, error=str(exc) if isinstance(exc, ValueError) else f"{exc.__class__.__name__}: {exc}")
        raise CommandError(f"{label} {job.pk} failed: {exc}") from None
    finally:
        bar.close()
    job_succeed(job=claimed, result=result)
    return result
