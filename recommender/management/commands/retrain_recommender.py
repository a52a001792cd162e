"""Train a store's recommender into a new version (a Job on the `training` queue).

    manage.py retrain_recommender --store acme --model ease|--all [--window-days N] [--activate] [--queue]

By default the job runs in this process with a tqdm progress bar (the same job row, progress messages and
websocket broadcasts a worker would produce); --queue only enqueues it for a `training` worker.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ecomops.models import Job, Store
from ecomops.services.jobs import job_fail, job_start, job_succeed
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
        claimed = job_start(job_id=job.pk)
        if claimed is None:
            raise CommandError(f"Job {job.pk} was already taken by a worker; follow it on the dashboard.")
        bar = tqdm(total=100, desc=f"train {algorithm}", unit="%", disable=o["verbosity"] < 1)

        def listener(progress: int, message: str) -> None:
            bar.update(max(0, progress - bar.n))
            bar.set_postfix_str(message[-80:])

        try:
            result = recommender_train.job_fn(claimed, **claimed.params, listener=listener)
        except Exception as exc:  # noqa: BLE001 - the row gets the readable reason, the shell a non-zero exit
            job_fail(job=claimed, error=str(exc) if isinstance(exc, ValueError) else f"{exc.__class__.__name__}: {exc}")
            raise CommandError(f"Training job {job.pk} failed: {exc}") from None
        finally:
            bar.close()
        job_succeed(job=claimed, result=result)
        job = Job.objects.get(pk=job.pk)
        self.stdout.write(f"{'model':<20}{'status':>8}{'ndcg@10':>10}{'recall@10':>11}{'coverage':>10}{'seconds':>9}")
        for row in job.result.get("models", []):
            m = row["metrics"]
            self.stdout.write(
                f"{row['label'] + (' (active)' if row['active'] else ''):<20}{'ready':>8}{m.get('ndcg@10', 0):>10.4f}"
                f"{m.get('recall@10', 0):>11.4f}{m.get('coverage', 0):>10.3f}{m.get('train_seconds', 0):>9.1f}"
            )
