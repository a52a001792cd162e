"""manage.py train_support --store <slug> [--training-set auto|team|bitext] [--bitext CSV] [--intents CSV] [--queue [--wait]]

Trains the intent classifier as a job (the same `support_train` job the dashboard's "Train a new version"
button starts): a Job row holds the state and progress, and every step is broadcast to the store's live socket,
so an open classifier page follows along whichever way the job was started.

    manage.py train_support --store demo                  # run the job in this process (no worker needed)
    manage.py train_support --store demo --queue --wait   # enqueue it on the 'training' queue and follow it

Examples: the team's shipped examples (support/data), plus the Bitext set from settings.SUPPORT_BITEXT_CSV when
it is on the machine (--training-set auto, the default). --bitext FILE trains on FILE instead of Bitext and the
team's examples; --intents FILE adds FILE. Both are validated, then stored server-side (VAR_DIR/support/training)
and the job references the stored copy by name.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ecomops.management.job_cli import job_follow, job_run_inline
from ecomops.models import JobStatus, Store
from ecomops.services.jobs import JobLimitReached, job_create
from support.models import ClassifierVersion
from support.services.classifier import TRAIN_JOB_KIND, TRAINING_SETS, TrainingDataInvalid, training_file_store
from support.tasks import support_train


class Command(BaseCommand):
    help = "Train the support intent classifier (MiniLM embeddings + calibrated logistic head) as a job and activate it."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True)
        parser.add_argument("--training-set", default="auto", choices=TRAINING_SETS,
                            help="auto: Bitext (settings.SUPPORT_BITEXT_CSV) if present + the team's examples")
        parser.add_argument("--bitext", default=None, help="Labelled CSV to train on instead (text|instruction,intent)")
        parser.add_argument("--intents", default=None, help="Extra labelled messages: CSV with columns text,intent")
        parser.add_argument("--queue", action="store_true", help="Enqueue the job for a Celery worker instead")
        parser.add_argument("--wait", action="store_true", help="With --queue: follow the job until it finishes")
        parser.add_argument("--timeout", type=float, default=3600)

    def handle(self, *args, **opts):
        self.verbosity = opts["verbosity"]
        store = Store.objects.filter(slug=opts["store"]).first()
        if store is None:
            raise CommandError(f"No store with slug {opts['store']!r}.")
        params = {"training_set": opts["training_set"]}
        for key, param in (("bitext", "base_upload"), ("intents", "extra_upload")):
            if opts[key]:
                try:  # validate before any job exists: a bad file names its line and exits non-zero
                    params[param] = training_file_store(Path(opts[key]).resolve())
                except TrainingDataInvalid as exc:
                    raise CommandError(str(exc)) from None
        follow = {"out": self.stderr._out, "timeout": opts["timeout"], "quiet": opts["verbosity"] == 0}
        if opts["queue"]:
            try:
                job = job_create(store=store, kind=TRAIN_JOB_KIND, params=params)
            except JobLimitReached as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"Enqueued job {job.pk} ({TRAIN_JOB_KIND}) on the 'training' queue for {store.slug!r}.")
            if not opts["wait"]:
                return
            job = job_follow(job, **follow, queue="training")
        else:
            job = job_run_inline(task=support_train, store=store, kind=TRAIN_JOB_KIND, params=params,
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
