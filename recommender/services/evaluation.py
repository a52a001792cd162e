"""Offline evaluation runs: resolve a dataset name, run the models side by side, store the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from ecomops.models import Store
from recommender.ml.data import DATASET_LOADERS, Interactions, load_interactions_csv
from recommender.ml.evaluate import Progress, evaluate_models
from recommender.ml.registry import BASELINES, ECOMOPS_MODELS
from recommender.models import EvaluationReport


def datasets_dir() -> Path:
    return Path(settings.BASE_DIR).parent / "shared" / "datasets"


def dataset_load(name: str) -> tuple[Interactions, Store | None]:
    """A real dataset by folder name, a CSV path, or a store slug (its own events)."""
    if name in DATASET_LOADERS:
        folder = datasets_dir() / name
        if not folder.exists():
            raise FileNotFoundError(f"dataset {name} not found in {datasets_dir()} (../shared/datasets)")
        return DATASET_LOADERS[name](folder), None
    path = Path(name)
    if path.suffix.lower() in {".csv", ".tsv", ".txt"} or path.exists():
        if not path.exists():
            raise FileNotFoundError(f"no such file: {path}")
        return load_interactions_csv(path), None
    store = Store.objects.filter(slug=name).first()
    if store is None:
        raise ValueError(f"{name!r} is neither a known dataset ({', '.join(DATASET_LOADERS)}), a CSV file nor a store slug")
    from recommender.services.training import store_interactions

    data, _ = store_interactions(store)
    return data, store


def honest_verdict(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Does the best ecomops model beat the best baseline by >= 5% NDCG@10? Names the honest winner."""
    by_name = {r["model"]: r for r in rows}
    base = [by_name[n] for n in BASELINES if n in by_name]
    ours = [by_name[n] for n in ECOMOPS_MODELS if n in by_name]
    winner = max(rows, key=lambda r: r["ndcg@10"]) if rows else None
    verdict: dict[str, Any] = {"winner": winner["model"] if winner else None}
    if base and ours:
        b, o = max(base, key=lambda r: r["ndcg@10"]), max(ours, key=lambda r: r["ndcg@10"])
        if b["ndcg@10"] > 0:
            lift = o["ndcg@10"] / b["ndcg@10"] - 1.0
            goal_met = lift >= 0.05
            change = f"{lift:+.1%}"
        else:  # a zero baseline has no relative lift (and JSON has no Infinity)
            lift, goal_met = None, o["ndcg@10"] > 0
            change = "baseline is 0, no relative lift"
        verdict.update(best_baseline=b["model"], best_ecomops=o["model"],
                       ndcg10_lift=None if lift is None else round(lift, 4), goal_met=goal_met)
        verdict["summary"] = (
            f"{o['model']} NDCG@10 {o['ndcg@10']:.4f} vs best baseline {b['model']} {b['ndcg@10']:.4f}: "
            f"{change} ({'meets' if goal_met else 'does NOT meet'} the +5% goal); default model: {verdict['winner']}"
        )
    return verdict


def evaluation_run(*, dataset: str, models: list[str], tune: bool = True, store: Store | None = None,
                   progress: Progress | None = None, overrides: dict | None = None) -> EvaluationReport:
    data, data_store = dataset_load(dataset)
    result = evaluate_models(data, models, tune=tune, progress=progress, overrides=overrides)
    result["verdict"] = honest_verdict(result["models"])
    result["dataset"]["name"] = dataset
    return EvaluationReport.objects.create(store=store or data_store, dataset=dataset, report=result)


EVALUATE_KIND = "recommender_evaluate"
EVALUATION_STAGE_LABELS = {"tune": "tuning", "fit": "training", "score": "scoring", "done": "finished"}


def evaluation_params_clean(params: dict[str, Any] | None) -> dict[str, Any]:
    """The bounded inputs of an evaluation job: which models (known names only) and whether to tune. The data is
    always the job's own store: no dataset name or path comes from a request. Raises ValueError naming the field."""
    from recommender.api.serializers import EvaluationStartSerializer

    unknown = sorted(set(params or {}) - set(EvaluationStartSerializer().fields))
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: not a parameter of an evaluation (give models and tune).")
    serializer = EvaluationStartSerializer(data=params or {})
    if not serializer.is_valid():
        raise ValueError("; ".join(f"{field}: {' '.join(str(e) for e in errors)}" for field, errors in serializer.errors.items()))
    return {"models": list(serializer.validated_data["models"]), "tune": serializer.validated_data["tune"]}


def evaluation_start(*, store: Store, models: list[str], tune: bool = False, created_by=None):
    """Queue an offline evaluation of `models` on the store's own events (a job on the training queue)."""
    from ecomops.services.jobs import job_create

    params = evaluation_params_clean({"models": models, "tune": tune})
    return job_create(store=store, kind=EVALUATE_KIND, params=params, created_by=created_by)


def evaluation_run_for_job(*, store: Store, params: dict[str, Any], on_progress) -> EvaluationReport:
    """The job body: evaluate on the store's events, reporting `on_progress(percent, message)` per stage."""
    clean = evaluation_params_clean(params)
    names = clean["models"]
    done = {"models": 0}

    def progress(stage: str, info: dict[str, Any]) -> None:
        if stage == "done":
            done["models"] += 1
        if stage not in EVALUATION_STAGE_LABELS and stage != "epoch":
            return
        model = info.get("model", "")
        if stage == "epoch":
            text = f"{model}: epoch {info.get('epoch')}/{info.get('epochs')}"
        else:
            text = f"{model}: {EVALUATION_STAGE_LABELS[stage]}"
        pct = 5 + int(90 * done["models"] / len(names))
        on_progress(pct, f"{text} ({done['models']}/{len(names)} models done)")

    on_progress(2, "Splitting the store's events: each customer's last one is held out")
    data, _ = _store_data(store)
    result = evaluate_models(data, names, tune=clean["tune"], progress=progress)
    result["verdict"] = honest_verdict(result["models"])
    result["dataset"]["name"] = f"{store.slug} (this store's events)"
    return EvaluationReport.objects.create(store=store, dataset=store.slug, report=result)


def _store_data(store: Store) -> tuple[Interactions, Store]:
    from recommender.services.training import store_interactions

    data, _ = store_interactions(store)
    if data.n_users < 2 or len(data) < 3:
        raise ValueError("Not enough behaviour events to evaluate: the store needs customers with at least two "
                         "events each.")
    return data, store
