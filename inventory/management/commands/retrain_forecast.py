"""Forecast a store's demand into a new version (a Job on the `training` queue).

    manage.py retrain_forecast --store acme [--models auto|full|fast] [--horizon 28] [--queue]

By default the job runs in this process with a tqdm progress bar (the same job row, progress messages and
websocket broadcasts a worker would produce); --queue only enqueues it for a `training` worker.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from rest_framework.exceptions import ValidationError

from ecomops.job_params import errors_text, params_to_json, params_validate
from ecomops.management.job_cli import job_run_here
from ecomops.models import Store
from ecomops.services.jobs import JobLimitReached
from inventory.services.forecasting import MODEL_CHOICES, forecast_start
from inventory.tasks import ForecastParams, inventory_forecast


class Command(BaseCommand):
    help = "Forecast demand for every product of a store (a new forecast version)."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="Store slug")
        parser.add_argument("--models", choices=MODEL_CHOICES, default="auto",
                            help="auto (default): with AutoETS up to 1,000 products, without it above")
        parser.add_argument("--horizon", type=int, default=None)
        parser.add_argument("--queue", action="store_true", help="Enqueue for a training worker and return")

    def handle(self, *args, **o):
        store = Store.objects.filter(slug=o["store"]).first()
        if store is None:
            raise CommandError(f"No store with slug {o['store']!r}.")
        raw = {"models": o["models"], **({"horizon": o["horizon"]} if o["horizon"] is not None else {})}
        try:
            serializer, params = params_validate(ForecastParams, raw, store=store)
            job = forecast_start(store=store, params=params_to_json(serializer, params))
        except ValidationError as exc:
            raise CommandError(errors_text(exc.detail)) from None
        except JobLimitReached as exc:
            raise CommandError(str(exc)) from None
        if o["queue"]:
            self.stdout.write(f"Queued forecast job {job.pk} on the 'training' queue.")
            return
        result = job_run_here(job, inventory_forecast.job_fn, params, desc="forecast", label="Forecast job",
                              quiet=o["verbosity"] < 1)
        stats = result["stats"]
        self.stdout.write(f"Forecast version {result['version']}: {stats['series']} products in {stats['seconds']} s; "
                          f"models chosen {stats['models_chosen']}; {stats['stockout_days']} stock-out days excluded; "
                          f"{stats['anomalies']} new KPI anomalies.")
