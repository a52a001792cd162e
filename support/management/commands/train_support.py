"""manage.py train_support --store <slug> [--bitext CSV] [--intents CSV] [--queue [--wait]]

Trains the intent classifier as a job (the same `support_train` job the dashboard's "Train a new version"
button starts): a Job row holds the state and progress, and every step is broadcast to the store's live socket,
so an open classifier page follows along whichever way the job was started.

    manage.py train_support --store demo                  # run the job in this process (no worker needed)
    manage.py train_support --store demo --queue --wait   # enqueue it on the 'training' queue and follow it
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from tqdm import tqdm

from ecomops.models import Job, JobStatus, Store
from ecomops.services.jobs import job_create
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
        params = {}
        for key, param in (("bitext", "bitext_path"), ("intents", "intents_path")):
            if opts[key]:
                path = Path(opts[key]).resolve()
                try:  # validate before any job exists: a bad file names its line and exits non-zero
                    labelled_rows_read(path)
                except TrainingDataInvalid as exc:
                    raise CommandError(str(exc)) from None
                params[param] = str(path)
        if opts["queue"]:
            job = job_create(store=store, kind=TRAIN_JOB_KIND, params=params)
            self.stdout.write(f"Enqueued job {job.pk} ({TRAIN_JOB_KIND}) on the 'training' queue for {store.slug!r}.")
            if not opts["wait"]:
                return
            job = self._follow(job, opts["timeout"])
        else:
            job = self._run_inline(store, params, opts["timeout"])
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(f"Job {job.pk} ended {job.status}: {job.error or job.message}")
        version = ClassifierVersion.objects.for_store(store).get(version=job.result["version"])
        m = version.metrics
        self.stdout.write(
            f"Classifier v{version.version} active: accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}, "
            f"ECE {m['ece']:.4f}, temperature {m['temperature']:.2f}, {m['test_size']} held-out examples "
            f"(job {job.pk})."
        )

    def _run_inline(self, store: Store, params: dict, timeout: float) -> Job:
        # The row without the on-commit enqueue, then the very task body a worker would run, in a thread,
        # while this thread follows the row.
        job = Job.objects.create(store=store, kind=TRAIN_JOB_KIND, params=params, message="Queued")
        failure: list[BaseException] = []

        def run() -> None:
            try:
                support_train.run(str(job.pk))
            except BaseException as exc:  # noqa: BLE001 - reported by the following thread
                failure.append(exc)
            finally:
                connection.close()

        worker = threading.Thread(target=run, name="train-support-inline", daemon=True)
        worker.start()
        job = self._follow(job, timeout, inline=worker)
        worker.join()
        if failure:
            raise CommandError(f"The job crashed: {failure[0]!r}")
        job.refresh_from_db()
        return job

    def _follow(self, job: Job, timeout: float, inline: threading.Thread | None = None) -> Job:
        deadline = time.monotonic() + timeout
        with tqdm(total=100, desc=TRAIN_JOB_KIND, unit="%", disable=self.verbosity == 0, file=self.stderr._out) as bar:
            while True:
                job.refresh_from_db()
                bar.n = job.progress
                bar.set_postfix_str(f"{job.status}: {job.message[:60]}", refresh=False)
                bar.refresh()
                if job.is_finished or (inline is not None and not inline.is_alive()):
                    job.refresh_from_db()
                    return job
                if time.monotonic() > deadline:
                    raise CommandError(f"Job {job.pk} did not finish within {timeout:.0f} s (status {job.status}).")
                time.sleep(0.3)
