"""Train a store's category head and re-score its catalogue into suggestions (a Job on the `training` queue).

    manage.py suggest_categories --store acme [--target-precision 0.9] [--no-attributes] [--queue]

By default the job runs in this process with a tqdm progress bar (the same job row, progress messages and
websocket broadcasts a worker would produce); --queue only enqueues it for a `training` worker.
Suggestions are only stored for review; nothing is applied to a product.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from rest_framework.exceptions import ValidationError
from tqdm import tqdm

from categories.services import rescore_start
from categories.tasks import RescoreParams, categories_rescore
from ecomops.job_params import errors_text, params_to_json, params_validate
from ecomops.models import Store
from ecomops.services.jobs import JobLimitReached, job_fail, job_start, job_succeed


class Command(BaseCommand):
    help = "Suggest categories and attributes for a store's products (stored for review, never applied)."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="Store slug")
        parser.add_argument("--target-precision", type=float, default=0.9)
        parser.add_argument("--no-attributes", action="store_true", help="Categories only")
        parser.add_argument("--queue", action="store_true", help="Enqueue for a training worker and return")

    def handle(self, *args, **o):
        store = Store.objects.filter(slug=o["store"]).first()
        if store is None:
            raise CommandError(f"No store with slug {o['store']!r}.")
        raw = {"target_precision": o["target_precision"], "attributes": not o["no_attributes"]}
        try:
            serializer, params = params_validate(RescoreParams, raw, store=store)
            job = rescore_start(store=store, params=params_to_json(serializer, params))
        except ValidationError as exc:
            raise CommandError(errors_text(exc.detail)) from None
        except JobLimitReached as exc:
            raise CommandError(str(exc)) from None
        if o["queue"]:
            self.stdout.write(f"Queued job {job.pk} on the 'training' queue.")
            return
        claimed = job_start(job_id=job.pk)
        if claimed is None:
            raise CommandError(f"Job {job.pk} was already taken by a worker; follow it on the dashboard.")
        bar = tqdm(total=100, desc="suggest", unit="%", disable=o["verbosity"] < 1)

        def listener(progress: int, message: str) -> None:
            bar.update(max(0, progress - bar.n))
            bar.set_postfix_str(message[-60:])

        try:
            result = categories_rescore.job_fn(claimed, **params, listener=listener)
        except Exception as exc:  # noqa: BLE001 - the row gets the readable reason, the shell a non-zero exit
            job_fail(job=claimed, error=str(exc) if isinstance(exc, ValueError) else f"{exc.__class__.__name__}: {exc}")
            raise CommandError(f"Job {job.pk} failed: {exc}") from None
        finally:
            bar.close()
        job_succeed(job=claimed, result=result)
        c = result["categories"]
        self.stdout.write(f"Categories ({c['source']} model, threshold {c['threshold']}): {c['suggested']} suggested "
                          f"({c['missing']} uncategorised, {c['doubtful']} doubtful), {c['abstained']} abstained, "
                          f"of {c['products']} products.")
        if "attributes" in result:
            a = result["attributes"]
            self.stdout.write(f"Attributes: {a['suggested']} suggested ({a['conflicts']} differ from a merchant value).")
