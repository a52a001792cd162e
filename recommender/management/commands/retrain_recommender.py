"""Train a store's recommender into a new version (a Job on the `training` queue).

    manage.py retrain_recommender --store acme --model ease|--all [--window-days N] [--activate] [--queue]

By default the job runs in this process with a tqdm progress bar (the same job row, progress messages and
websocket broadcasts a worker would produce); --queue only enqueues it for a `training` worker.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ecomops.management.job_cli import job_run_here
from ecomops.models import Job, Store
from recommender.ml.registry import MODEL_NAMES
from recommender.services.training import TrainingRefused, training_start
from recommender.tasks import recommender_train


class Command(BaseCommand):
    help = "Train a recommender for one store: one model (--model) or every model (--all), each a new version."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="Store slug")
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--model", choices=MODEL_NAMES)
        which.add_argument("--all", action="store_true", help="Train every model, each into its own version")
        parser.add_argument("--window-days", type=int, default=None, help="Only the last N days of events")
        parser.add_argument("--activate", action="store_true",
                            help="Activate the new version (default: only when the store has no active model)")
        parser.add_argument("--queue", action="store_true", help="Enqueue for a training worker and return")

    def handle(self, *args, **o):
        store = Store.objects.filter(slug=o["store"]).first()
        if store is None:
            raise CommandError(f"No store with slug {o['store']!r}.")
        algorithm = "all" if o["all"] else o["model"]
        try:
            job = training_start(store=store, algorithm=algorithm, window_days=o["window_days"],
                                 activate=True if o["activate"] else None)
        except (TrainingRefused, ValueError) as exc:
            raise CommandError(str(exc)) from None
        if o["queue"]:
            self.stdout.write(f"Queued training job {job.pk} ({algorithm}) on the 'training' queue.")
            return
        # Run the queued job here. A worker that later receives its message finds it finished and skips it.
        job_run_here(job, recommender_train.job_fn, job.params, desc=f"train {algorithm}", label="Training job",
                     quiet=o["verbosity"] < 1)
        job = Job.objects.get(pk=job.pk)
        self.stdout.write(f"{'model':<20}{'status':>8}{'ndcg@10':>10}{'recall@10':>11}{'coverage':>10}{'seconds':>9}")
        for row in job.result.get("models", []):
            m = row["metrics"]
            self.stdout.write(
                f"{row['label'] + (' (active)' if row['active'] else ''):<20}{'ready':>8}{m.get('ndcg@10', 0):>10.4f}"
                f"{m.get('recall@10', 0):>11.4f}{m.get('coverage', 0):>10.3f}{m.get('train_seconds', 0):>9.1f}"
            )
