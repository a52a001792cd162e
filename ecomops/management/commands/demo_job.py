"""manage.py demo_job: start the KPI rollup job (the demo job) for a store, optionally following it.

    manage.py demo_job --store demo                 # enqueue it; a Celery worker runs it
    manage.py demo_job --store demo --wait          # ... and follow the Job row with a progress bar
    manage.py demo_job --store demo --inline        # run it in this process (no worker needed)

The job is the same one the "Run demo job" button starts: its progress is broadcast to the store's live socket,
so an open Jobs page follows along whichever way it was started.
"""

from __future__ import annotations

import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from tqdm import tqdm

from ecomops.models import Job, JobStatus, Store
from ecomops.services.jobs import job_create
from ecomops.tasks import kpi_rollup


class Command(BaseCommand):
    help = "Start the KPI rollup job for a store (--wait follows it, --inline runs it without a worker)."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="Store slug")
        parser.add_argument("--wait", action="store_true", help="Follow the job until it finishes")
        parser.add_argument("--inline", action="store_true", help="Run the job in this process instead of a worker")
        parser.add_argument("--timeout", type=float, default=1800, help="Seconds --wait waits (default 1800)")
        parser.add_argument("--start", default=None, help="First day to roll up, YYYY-MM-DD (default: all history)")
        parser.add_argument("--end", default=None, help="Last day to roll up, YYYY-MM-DD")

    def handle(self, *args, **opts):
        self.verbosity = opts["verbosity"]
        store = Store.objects.filter(slug=opts["store"]).first()
        if store is None:
            raise CommandError(f"No store with the slug {opts['store']!r}.")
        params = {key: opts[key] for key in ("start", "end") if opts[key]}
        if opts["inline"]:
            job = self._run_inline(store, params, opts["timeout"])
        else:
            job = job_create(store=store, kind="kpi_rollup", params=params)
            self.stdout.write(f"Enqueued job {job.pk} (kpi_rollup) for {store.slug!r}.")
            if not opts["wait"]:
                return
            job = self._follow(job, opts["timeout"])
        self._report(job)

    def _run_inline(self, store: Store, params: dict, timeout: float) -> Job:
        # The row without the on-commit enqueue, then the very task body a worker would run, in a thread,
        # while this thread follows the row exactly as --wait does.
        job = Job.objects.create(store=store, kind="kpi_rollup", params=params, message="Queued")
        failure: list[BaseException] = []

        def run() -> None:
            try:
                kpi_rollup.run(str(job.pk))
            except BaseException as exc:  # noqa: BLE001 - reported by the following thread
                failure.append(exc)
            finally:
                connection.close()

        worker = threading.Thread(target=run, name="demo-job-inline", daemon=True)
        worker.start()
        job = self._follow(job, timeout, inline=worker)
        worker.join()
        if failure:
            raise CommandError(f"The job crashed: {failure[0]!r}")
        return job

    def _follow(self, job: Job, timeout: float, inline: threading.Thread | None = None) -> Job:
        deadline = time.monotonic() + timeout
        warned = False
        with tqdm(total=100, desc="kpi_rollup", unit="%", disable=self.verbosity == 0, file=self.stderr._out) as bar:
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
                if inline is None and job.status == JobStatus.QUEUED and not warned and time.monotonic() > deadline - timeout + 15:
                    bar.write("Still queued after 15 s: is a Celery worker consuming the 'default' queue? "
                              "(or use --inline)")
                    warned = True
                if time.monotonic() > deadline:
                    raise CommandError(f"Job {job.pk} did not finish within {timeout:.0f} s (status {job.status}).")
                time.sleep(0.3)

    def _report(self, job: Job) -> None:
        if job.status == JobStatus.SUCCEEDED:
            self.stdout.write(self.style.SUCCESS(f"Job {job.pk} succeeded: {job.result}"))
        else:
            raise CommandError(f"Job {job.pk} ended {job.status}: {job.error or job.message}")
