"""manage.py train_support --store <slug> [--bitext CSV] [--intents CSV] [--queue [--wait]]

Trains the intent classifier as a job (the same `support_train` job the dashboard's "Train a new version"
button starts): a Job row holds the state and progress, and every step is broadcast to the store's live socket,
so an open classifier page follows along whichever way the job was started.

    manage.py train_support --store demo                  # run the job in this process (no worker needed)
    manage.py train_support --store demo --queue --wait   # enqueue it on the 'training' queue and follow it
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ecomops.management.job_cli import job_follow, job_run_inline
from ecomops.models import JobStatus, Store
from ecomops.services.jobs import JobLimitReached, job_create
from support.models import ClassifierVersion
from support.services.classifier import TRAIN_JOB_KIND, TrainingDataInvalid, labelled_rows_read
from support.tasks import support_train


class Command(BaseCommand):
    help = "Train the support intent classifier (MiniLM embeddings + calibrated logistic head) as a job and activate it."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True)
        parser.add_argument("--bitext", default=None, help="Bitext CSV (default: ../shared/datasets/bitext-support/...)")
        parser.add_argument("--intents", default=None, help="Extra labelled messages: CSV with columns text,intent")
        parser.add_argument("--queue", action="store_true", help="Enqueue the job for a Celery worker instead")
        parser.add_argument("--wait", action="store_true", help="With --queue: follow the job until it finishes")
        parser.add_argument("--timeout", type=float, default=3600)

    def handle(self, *args, **opts):
        self.verbosity = opts["verbosity"]
        store = Store.objects.filter(slug=opts["store"]).first()
        if store is None:
            raise CommandError(f"No store with slug {opts['store']!r}.")
        # Files named on the command line go to this process's run only (never into the job row, which a
        # worker or a retry would read): a queued job reads its data from settings.
        files = {}
        for key, param in (("bitext", "bitext_path"), ("intents", "intents_path")):
            if opts[key]:
                path = Path(opts[key]).resolve()
                try:  # validate before any job exists: a bad file names its line and exits non-zero
                    labelled_rows_read(path)
                except TrainingDataInvalid as exc:
                    raise CommandError(str(exc)) from None
                files[param] = str(path)
        if files and opts["queue"]:
            raise CommandError("--bitext/--intents only work without --queue: a queued job reads its training "
                               "data from settings (ECOMOPS_SUPPORT_BITEXT_PATH).")
        follow = {"out": self.stderr._out, "timeout": opts["timeout"], "quiet": opts["verbosity"] == 0}
        if opts["queue"]:
            try:
                job = job_create(store=store, kind=TRAIN_JOB_KIND)
            except JobLimitReached as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"Enqueued job {job.pk} ({TRAIN_JOB_KIND}) on the 'training' queue for {store.slug!r}.")
            if not opts["wait"]:
                return
            job = job_follow(job, **follow, queue="training")
        else:
            job = job_run_inline(task=support_train, store=store, kind=TRAIN_JOB_KIND, params={}, inline=files,
                                 **follow)
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(f"Job {job.pk} ended {job.status}: {job.error or job.message}")
        version = ClassifierVersion.objects.for_store(store).get(version=job.result["version"])
        m = version.metrics
        self.stdout.write(
            f"Classifier v{version.version} active: accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}, "
            f"ECE {m['ece']:.4f}, temperature {m['temperature']:.2f}, {m['test_size']} held-out examples "
            f"(job {job.pk})."
        )
