"""manage.py demo_job: start the KPI rollup job (the demo job) for a store, optionally following it.

    manage.py demo_job --store demo                 # enqueue it; a Celery worker runs it
    manage.py demo_job --store demo --wait          # ... and follow the Job row with a progress bar
    manage.py demo_job --store demo --inline        # run it in this process (no worker needed)

The job is the same one the "Run demo job" button starts: its progress is broadcast to the store's live socket,
so an open Jobs page follows along whichever way it was started.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ecomops.management.job_cli import job_follow, job_report, job_run_inline
from ecomops.models import Store
from ecomops.services.jobs import JobLimitReached, job_create
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
        store = Store.objects.filter(slug=opts["store"]).first()
        if store is None:
            raise CommandError(f"No store with the slug {opts['store']!r}.")
        params = {key: opts[key] for key in ("start", "end") if opts[key]}
        follow = {"out": self.stderr._out, "timeout": opts["timeout"], "quiet": opts["verbosity"] == 0}
        if opts["inline"]:
            job = job_run_inline(task=kpi_rollup, store=store, kind="kpi_rollup", params=params, **follow)
        else:
            try:
                job = job_create(store=store, kind="kpi_rollup", params=params)
            except JobLimitReached as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"Enqueued job {job.pk} (kpi_rollup) for {store.slug!r}.")
            if not opts["wait"]:
                return
            job = job_follow(job, **follow)
        self.stdout.write(self.style.SUCCESS(job_report(job)))
