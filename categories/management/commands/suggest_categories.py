"""Train a store's category head and re-score its catalogue into suggestions (a Job on the `training` queue).

    manage.py suggest_categories --store acme [--target-precision 0.9] [--no-attributes] [--queue]

By default the job runs in this process with a tqdm progress bar (the same job row, progress messages and
websocket broadcasts a worker would produce); --queue only enqueues it for a `training` worker.
Suggestions are only stored for review; nothing is applied to a product.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from rest_framework.exceptions import ValidationError

from categories.services import rescore_start
from categories.tasks import RescoreParams, categories_rescore
from ecomops.job_params import errors_text, params_to_json, params_validate
from ecomops.management.job_cli import job_run_here
from ecomops.models import Store
from ecomops.services.jobs import JobLimitReached


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
        result = job_run_here(job, categories_rescore.job_fn, params, desc="suggest", label="Job",
                              quiet=o["verbosity"] < 1)
        c = result["categories"]
        self.stdout.write(f"Categories ({c['source']} model, threshold {c['threshold']}): {c['suggested']} suggested "
                          f"({c['missing']} uncategorised, {c['doubtful']} doubtful), {c['abstained']} abstained, "
                          f"of {c['products']} products.")
        if "attributes" in result:
            a = result["attributes"]
            self.stdout.write(f"Attributes: {a['suggested']} suggested ({a['conflicts']} differ from a merchant value).")
