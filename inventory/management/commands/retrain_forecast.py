"""Forecast a store's demand into a new version (a Job on the `training` queue).

    manage.py retrain_forecast --store acme [--models auto|full|fast] [--horizon 28] [--queue]

By default the job runs in this process with a tqdm progress bar (the same job row, progress messages and
websocket broadcasts a worker would produce); --queue only enqueues it for a `training` worker.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from rest_framework.exceptions import ValidationError
from tqdm import tqdm

from ecomops.job_params import errors_text, params_to_json, params_validate
from ecomops.models import Store
from ecomops.services.jobs import JobLimitReached, job_fail, job_start, job_succeed
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
        claimed = job_start(job_id=job.pk)
        if claimed is None:
            raise CommandError(f"Job {job.pk} was already taken by a worker; follow it on the dashboard.")
        bar = tqdm(total=100, desc="forecast", unit="%", disable=o["verbosity"] < 1)

        def listener(progress: int, message: str) -> None:
            bar.update(max(0, progress - bar.n))
            bar.set_postfix_str(message[-60:])

        try:
            result = inventory_forecast.job_fn(claimed, **params, listener=listener)
        except Exception as exc:  # noqa: BLE001 - the row gets the readable reason, the shell a non-zero exit
            job_fail(job=claimed, error=str(exc) if isinstance(exc, ValueError) else f"{exc.__class__.__name__}: {exc}")
            raise CommandError(f"Forecast job {job.pk} failed: {exc}") from None
        finally:
            bar.close()
        job_succeed(job=claimed, result=result)
        stats = result["stats"]
        self.stdout.write(f"Forecast version {result['version']}: {stats['series']} products in {stats['seconds']} s; "
                          f"models chosen {stats['models_chosen']}; {stats['stockout_days']} stock-out days excluded; "
                          f"{stats['anomalies']} new KPI anomalies.")
