"""Thin Celery doors: the training job and the nightly retrain (STYLE.md §3)."""

from __future__ import annotations

import logging

from celery import shared_task
from rest_framework import serializers

from ecomops.job_params import JobParamsSerializer
from ecomops.models import Store
from ecomops.services.jobs import JobLimitReached, job_create, job_progress
from ecomops.tasks_base import job_task
from recommender.ml.registry import DEFAULT_MODEL, MODEL_NAMES
from recommender.models import ModelStatus, RecommenderModel
from recommender.services.evaluation import EVALUATE_KIND, evaluation_run_for_job
from recommender.services.training import TrainingRefused, model_activate, model_train

logger = logging.getLogger(__name__)

TRAIN_KIND = "recommender_train"


class TrainParams(JobParamsSerializer):
    algorithm = serializers.CharField(required=False, default=DEFAULT_MODEL, max_length=200,
                                      help_text=f"One of {', '.join(MODEL_NAMES)}, several comma-separated, or all.")
    window_days = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=3660)
    activate = serializers.BooleanField(required=False, allow_null=True, default=None)

    def validate_algorithm(self, value: str) -> str:
        names = [n.strip() for n in value.split(",") if n.strip()]
        if value != "all" and (not names or any(n not in MODEL_NAMES for n in names)):
            raise serializers.ValidationError(f"Unknown model. Known: {', '.join([*MODEL_NAMES, 'all'])}.")
        return value


def training_abandoned(job) -> None:
    """A training job that died (worker killed, reaped, cancelled) leaves no version stuck in `training`."""
    RecommenderModel.objects.filter(job=job, status=ModelStatus.TRAINING).update(
        status=ModelStatus.FAILED, error=(job.error or job.message or "The training job ended before it finished.")[:2000]
    )


@job_task(kind=TRAIN_KIND, queue="training", label="Train recommender", time_limit=3600, params=TrainParams,
          max_concurrent=2, on_abandoned=training_abandoned)
def recommender_train(job, algorithm: str = DEFAULT_MODEL, window_days: int | None = None, activate: bool | None = None,
                      params: dict | None = None, listener=None):
    """Train one algorithm, several ("ease,als") or every one ("all"), each into its own version.

    `listener(progress, message)` is an extra in-process observer (the command's tqdm bar); the job row and
    the websocket get every update either way.
    """
    names = list(MODEL_NAMES) if algorithm == "all" else [n.strip() for n in algorithm.split(",") if n.strip()]
    had_active = RecommenderModel.objects.for_store(job.store).filter(is_active=True).exists()
    results, rows, errors = [], [], []
    for n, name in enumerate(names):
        lo, span = 100 * n // len(names), 100 // len(names)

        def progress(pct: int, message: str, lo=lo, span=span, name=name) -> None:
            overall, text = lo + pct * span // 100, f"[{name}] {message}"
            job_progress(job=job, progress=overall, message=text)
            if listener is not None:
                listener(overall, text)

        try:
            row = model_train(store=job.store, algorithm=name, params=params if len(names) == 1 else None,
                              window_days=window_days, activate=activate if len(names) == 1 else False,
                              created_by=job.created_by, job=job, on_progress=progress)
        except TrainingRefused:
            raise
        except Exception as exc:  # noqa: BLE001 - with --all one model's failure must not lose the others
            if len(names) == 1:
                raise
            errors.append(f"{name}: {exc.__class__.__name__}: {exc}")
            continue
        rows.append(row)
    if len(names) > 1 and rows and (activate or (activate is None and not had_active)):
        # The honest winner on the store's own validation split becomes the active version.
        best = max(rows, key=lambda r: r.metrics.get("ndcg@10", 0.0))
        model_activate(model=best)
    for row in rows:
        row.refresh_from_db()
        results.append({"model_id": row.pk, "label": row.label, "metrics": row.metrics, "active": row.is_active})
    if not rows:
        raise RuntimeError("; ".join(errors) or "nothing trained")
    return {"models": results, "errors": errors}


class EvaluateParams(JobParamsSerializer):
    """Which models to compare on the job's own store's events; no dataset or path ever comes from a request."""

    models = serializers.ListField(child=serializers.ChoiceField(choices=MODEL_NAMES), required=False,
                                   allow_empty=False, max_length=len(MODEL_NAMES))
    tune = serializers.BooleanField(required=False, default=False)


@job_task(kind=EVALUATE_KIND, queue="training", label="Evaluate recommenders", time_limit=3600,
          params=EvaluateParams, max_concurrent=1)
def recommender_evaluate(job, **params):
    """Offline evaluation of the chosen models on the job's own store (params: `models`, `tune`; see
    recommender.api.serializers.EvaluationStartSerializer). Progress per model and epoch goes to the job row."""
    report = evaluation_run_for_job(store=job.store, params=params,
                                    on_progress=lambda pct, message: job_progress(job=job, progress=pct, message=message))
    verdict = report.report.get("verdict", {})
    return {"report_id": report.pk, "winner": verdict.get("winner"), "summary": verdict.get("summary", ""),
            "models": [{"model": r["model"], "ndcg@10": r["ndcg@10"], "recall@10": r["recall@10"]}
                       for r in report.report["models"]]}


# Both limits named: with `time_limit` alone the 55-minute global soft limit applies and beat cannot send it.
@shared_task(name="recommender.nightly_retrain", time_limit=300, soft_time_limit=270)
def nightly_retrain() -> int:
    """Queue a training job for every store that asked for a nightly retrain."""
    from recommender.models import RecommenderConfig

    queued = 0
    for config in RecommenderConfig.objects.filter(nightly_retrain=True).select_related("store"):
        store: Store = config.store
        try:
            job_create(store=store, kind=TRAIN_KIND, params={"algorithm": config.nightly_algorithm, "activate": True})
        except JobLimitReached:
            logger.info("nightly retrain of store %s skipped: training jobs already queued", store.pk)
            continue
        queued += 1
    return queued
