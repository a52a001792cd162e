"""Intent classifier training: read labelled messages, embed them, fit the head, store a new version."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from ecomops.models import Store
from support.ml import embedder
from support.ml.intent import BITEXT_INTENTS, OUT_OF_SCOPE, train_intent_model
from support.ml.safety import clean_text
from support.models import ClassifierVersion

TRAIN_JOB_KIND = "support_train"
BITEXT_FILE = "Bitext_Sample_Customer_Support_Training_Dataset.csv"
OOS_TRAIN_FILE = Path(__file__).resolve().parent.parent / "data" / "out_of_scope_train.txt"
KNOWN_INTENTS = frozenset(BITEXT_INTENTS) | {OUT_OF_SCOPE}


def datasets_dir() -> Path:
    return Path(settings.BASE_DIR).parent / "shared" / "datasets"


def default_bitext_path() -> Path:
    """The server-side training set: ECOMOPS_SUPPORT_BITEXT_PATH, else the shared Bitext dataset."""
    configured = getattr(settings, "ECOMOPS_SUPPORT_BITEXT_PATH", "")
    return Path(configured) if configured else datasets_dir() / "bitext-support" / BITEXT_FILE


class TrainingDataInvalid(ValueError):
    pass


def labelled_rows_read(path: str | Path, *, text_columns=("text", "instruction"), label_column="intent") -> list[tuple[str, str]]:
    """(text, intent) pairs from a Bitext CSV or a merchant CSV with columns text,intent (Bitext names).

    Raises TrainingDataInvalid naming the line of the first bad row."""
    path = Path(path)
    if not path.exists():
        raise TrainingDataInvalid(f"{path}: no such file.")
    rows = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames or []
        text_col = next((c for c in text_columns if c in fields), None)
        if text_col is None or label_column not in fields:
            # The header is not echoed: an error message never quotes a file's contents.
            raise TrainingDataInvalid(
                f"{path}: line 1: need a header with columns text (or instruction) and intent "
                f"({len(fields)} column(s) found)."
            )
        for record in reader:
            text = clean_text(record.get(text_col) or "", max_chars=1000)
            intent = (record.get(label_column) or "").strip()
            if not text:
                raise TrainingDataInvalid(f"{path}: line {reader.line_num}: empty text.")
            if intent not in KNOWN_INTENTS:
                raise TrainingDataInvalid(
                    f"{path}: line {reader.line_num}: the intent is not a Bitext intent name or out_of_scope."
                )
            rows.append((text, intent))
    if not rows:
        raise TrainingDataInvalid(f"{path}: no rows.")
    return rows


def out_of_scope_rows(path: Path = OOS_TRAIN_FILE) -> list[tuple[str, str]]:
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    return [(ln, OUT_OF_SCOPE) for ln in lines if ln and not ln.startswith("#")]


def training_rows(*, bitext_path: str | Path | None = None, intents_path: str | Path | None = None) -> list[tuple[str, str]]:
    rows = labelled_rows_read(bitext_path or default_bitext_path())
    if intents_path:
        rows += labelled_rows_read(intents_path)
    return rows + out_of_scope_rows()


def classifier_train(
    *,
    store: Store,
    bitext_path: str | Path | None = None,
    intents_path: str | Path | None = None,
    progress: Callable[[int, str], None] | None = None,
    job=None,
    activate: bool = True,
) -> ClassifierVersion:
    rows = training_rows(bitext_path=bitext_path, intents_path=intents_path)
    texts, labels = [t for t, _ in rows], [lbl for _, lbl in rows]
    if progress:
        progress(2, f"Embedding {len(texts)} labelled messages")

    def on_batch(done: int, total: int) -> None:
        if progress:
            progress(2 + int(68 * done / max(total, 1)), f"Embedded {done}/{total}")

    vectors = embedder.embed_with_disk_cache(texts, Path(settings.VAR_DIR) / "cache" / "support_embeddings.npz",
                                             progress=on_batch)
    result = train_intent_model(
        vectors, labels, progress=(lambda pct, msg: progress(70 + int(pct * 0.28), msg)) if progress else None
    )
    with transaction.atomic():
        latest = ClassifierVersion.objects.for_store(store).aggregate(m=Max("version"))["m"] or 0
        version = ClassifierVersion.objects.create(
            store=store,
            version=latest + 1,
            artifact=result.model.to_bytes(),
            metrics=result.metrics | {"examples": len(rows)},
            training_source=str(bitext_path or default_bitext_path().name)[:300] + (f" + {intents_path}" if intents_path else ""),
            job=job,
        )
        if activate:
            classifier_activate(version=version)
    return version


def classifier_activate(*, version: ClassifierVersion) -> ClassifierVersion:
    with transaction.atomic():
        ClassifierVersion.objects.for_store(version.store).exclude(pk=version.pk).update(is_active=False)
        version.is_active = True
        version.save(update_fields=["is_active"])
    return version
