"""Fine-tuning jobs and model versions (activate / roll back)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Max

from copywriter.ml.generate import BadProductInput, ProductFacts
from copywriter.ml.train import MIN_EXAMPLES, Example, TrainConfig, fine_tune
from copywriter.models import CopywriterModel, DescriptionRevision
from ecomops.models import Job, Product, Store
from ecomops.realtime import store_broadcast
from ecomops.services.jobs import job_create, job_progress

TRAIN_JOB_KIND = "copywriter_train"


class TrainingRefused(ValueError):
    pass


def human_examples(store: Store) -> list[Example]:
    """facts -> description pairs from descriptions people wrote (model-published text is excluded)."""
    model_written = set(
        DescriptionRevision.objects.for_store(store).filter(source=DescriptionRevision.Source.MODEL)
        .values_list("description", flat=True))
    out = []
    for p in Product.objects.for_store(store).exclude(description="").order_by("pk"):
        if p.description in model_written or len(p.description.split()) < 5:
            continue
        try:
            facts = ProductFacts.build(title=p.title, brand=p.brand, category=p.category, attributes=p.attributes)
        except BadProductInput:
            continue
        out.append(Example(facts, p.description))
    return out


def training_start(*, store: Store, user, epochs: int = 1, method: str = "lora",
                   max_steps: int | None = None) -> Job:
    if method not in {"lora", "full"}:
        raise TrainingRefused("method must be 'lora' or 'full'.")
    if not 1 <= int(epochs) <= 20:
        raise TrainingRefused("epochs must be between 1 and 20.")
    n = len(human_examples(store))
    if n < MIN_EXAMPLES:
        raise TrainingRefused(
            f"Training refused: this store has {n} human-written descriptions with attributes; "
            f"at least {MIN_EXAMPLES} are needed.")
    return job_create(store=store, kind=TRAIN_JOB_KIND, created_by=user,
                      params={"epochs": int(epochs), "method": method, "max_steps": max_steps})


def run_training_job(job: Job, *, epochs: int = 1, method: str = "lora", max_steps: int | None = None,
                     batch_size: int = 8, eval_every: int = 10, min_examples: int = MIN_EXAMPLES,
                     max_len: int = 256) -> dict[str, Any]:
    from copywriter.runtime import model_dir, versions_dir

    store = job.store
    examples = human_examples(store)
    if len(examples) < min_examples:
        raise TrainingRefused(f"Training refused: {len(examples)} human-written descriptions; "
                              f"at least {min_examples} are needed.")
    next_version = (CopywriterModel.objects.for_store(store).aggregate(m=Max("version"))["m"] or 0) + 1
    out = versions_dir() / f"store-{store.pk}" / f"v{next_version}-{method}-{str(job.pk)[:8]}"
    job_progress(job=job, progress=1, message=f"Training on {len(examples)} descriptions…")

    def on_progress(point: dict) -> None:
        total = max(point.get("total_steps") or 1, 1)
        store_broadcast(store.pk, "copywriter.training", {"job_id": str(job.pk), "point": point}, on_commit=False)
        msg = f"step {point['step']}/{total}"
        if "val_loss" in point:
            msg += f" · val loss {point['val_loss']:.3f}"
        job_progress(job=job, progress=min(98, 2 + int(96 * point["step"] / total)), message=msg)

    cfg = TrainConfig(method=method, epochs=epochs, max_steps=max_steps, batch_size=batch_size,
                      eval_every=eval_every, min_examples=min_examples, max_len=max_len)
    res = fine_tune(examples, out, model_dir=model_dir(), config=cfg, on_progress=on_progress)
    job_progress(job=job, progress=99, message=f"Exported for llama.cpp in {res.export_seconds:.0f} s")
    with transaction.atomic():
        version = CopywriterModel.objects.create(
            store=store, version=next_version, method=method, path=res.path, job=job, created_by=job.created_by,
            loss_curve=res.curve, params={"epochs": epochs, "max_steps": max_steps, "batch_size": batch_size, "max_len": max_len},
            metrics={"val_loss": res.best_val_loss, "initial_val_loss": res.initial_val_loss, "steps": res.steps,
                     "n_train": res.n_train, "n_val": res.n_val, "seconds": res.seconds,
                     "stopped_early": res.stopped_early, "gguf": Path(res.gguf_path).name,
                     "export_seconds": res.export_seconds},
        )
    return {"version": version.version, "version_id": version.pk, "val_loss": res.best_val_loss,
            "initial_val_loss": res.initial_val_loss, "steps": res.steps, "path": res.path}


def model_activate(*, store: Store, version: CopywriterModel | None) -> CopywriterModel | None:
    """Make this version the one generation uses; None rolls back to the base model."""
    with transaction.atomic():
        CopywriterModel.objects.for_store(store).filter(is_active=True).update(is_active=False)
        if version is not None:
            CopywriterModel.objects.for_store(store).filter(pk=version.pk).update(is_active=True)
            version.is_active = True
    return version
