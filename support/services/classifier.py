"""Intent classifier training: read labelled messages, embed them, fit the head, store a new version.

Where the examples come from (never from a request):
- the team's own examples, shipped in `support/data/intents_train.csv` (several phrasings per intent, written by
  us) plus `support/data/out_of_scope_train.txt`: always used, so a fresh install trains without any dataset;
- the Bitext set at `settings.SUPPORT_BITEXT_CSV` (../shared/datasets/...) when it is on the machine;
- files an operator hands to `train_support --bitext/--intents`: copied into `VAR_DIR/support/training/` and
  referenced by their sha256 name, so a job's params name a stored upload, never a path.
"""

from __future__ import annotations

import csv
import hashlib
import random
import re
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Max

from ecomops.models import Store
from support.ml import embedder
from support.ml.intent import (
    OUT_OF_SCOPE,
    SUPPORTED_INTENTS,
    augment,
    family_split,
    train_intent_model,
    words_help,
)
from support.ml.safety import clean_text
from support.models import ClassifierVersion

TRAIN_JOB_KIND = "support_train"
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
TEAM_TRAIN_FILE = DATA_DIR / "intents_train.csv"
OOS_TRAIN_FILE = DATA_DIR / "out_of_scope_train.txt"
KNOWN_INTENTS = frozenset(SUPPORTED_INTENTS) | {OUT_OF_SCOPE}
TRAINING_SETS = ("auto", "team", "bitext")  # auto: Bitext + the team's examples when Bitext is there, else the team's
_UPLOAD_NAME = re.compile(r"^[0-9a-f]{64}\.csv$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")
AUGMENT_VARIANTS = 2


def bitext_path() -> Path:
    """The server-side Bitext CSV (a setting; absent on a fresh install)."""
    return Path(settings.SUPPORT_BITEXT_CSV)


def default_bitext_path() -> Path:  # the name bench/support.py and older callers use
    return bitext_path()


class TrainingDataInvalid(ValueError):
    pass


def labelled_rows_read(path: str | Path, *, text_columns=("text", "instruction"), label_column="intent") -> list[tuple[str, str]]:
    """(text, intent) pairs from a Bitext CSV or a CSV with columns text,intent (Bitext names, product_question,
    out_of_scope). Raises TrainingDataInvalid naming the line of the first bad row; messages never quote the file."""
    path = Path(path)
    if not path.is_file():
        raise TrainingDataInvalid(f"{path.name}: no such file.")
    rows = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or []
            text_col = next((c for c in text_columns if c in fields), None)
            if text_col is None or label_column not in fields:
                raise TrainingDataInvalid(f"{path.name}: line 1: need a header with columns text (or instruction) and "
                                          f"intent ({len(fields)} columns found, none of them both).")
            for record in reader:
                text = clean_text(record.get(text_col) or "", max_chars=1000)
                intent = (record.get(label_column) or "").strip()
                if not text:
                    raise TrainingDataInvalid(f"{path.name}: line {reader.line_num}: empty text.")
                if intent not in KNOWN_INTENTS:
                    shown = f" {intent!r}" if _IDENTIFIER.match(intent) else ""
                    raise TrainingDataInvalid(
                        f"{path.name}: line {reader.line_num}: unknown intent{shown} (use a Bitext intent name, "
                        "product_question or out_of_scope)."
                    )
                rows.append((text, intent))
    except UnicodeDecodeError:
        raise TrainingDataInvalid(f"{path.name}: not UTF-8 text.") from None
    except csv.Error as exc:
        raise TrainingDataInvalid(f"{path.name}: not a readable CSV ({exc.__class__.__name__}).") from None
    if not rows:
        raise TrainingDataInvalid(f"{path.name}: no rows.")
    return rows


def out_of_scope_rows(path: Path = OOS_TRAIN_FILE) -> list[tuple[str, str]]:
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    return [(ln, OUT_OF_SCOPE) for ln in lines if ln and not ln.startswith("#")]


def team_rows() -> list[tuple[str, str]]:
    """The examples the team wrote: every intent the bot acts on, several phrasings each, plus off-topic ones."""
    return labelled_rows_read(TEAM_TRAIN_FILE) + out_of_scope_rows()


# --- operator files (train_support --bitext/--intents) ------------------------------------------------------

def training_uploads_dir() -> Path:
    return Path(settings.VAR_DIR) / "support" / "training"


def training_file_store(path: str | Path) -> str:
    """Validate an operator's CSV and keep a copy server-side; returns the name a job's params may reference."""
    labelled_rows_read(path)
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    target = training_uploads_dir() / f"{digest}.csv"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return target.name


def training_upload_path(name: str) -> Path:
    if not isinstance(name, str) or not _UPLOAD_NAME.match(name):
        raise TrainingDataInvalid("A training file is referenced by the name train_support stored it under.")
    path = training_uploads_dir() / name
    if not path.is_file():
        raise TrainingDataInvalid(f"No stored training file {name}.")
    return path


# --- the training set ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LabelledRow:
    text: str
    intent: str
    source: str  # bitext | team | file


def training_rows(*, training_set: str = "auto", base_upload: str | None = None,
                  extra_upload: str | None = None) -> list[LabelledRow]:
    if training_set not in TRAINING_SETS:
        raise TrainingDataInvalid(f"training_set must be one of {', '.join(TRAINING_SETS)}.")
    rows: list[LabelledRow] = []
    if base_upload:
        rows += [LabelledRow(t, i, "file") for t, i in labelled_rows_read(training_upload_path(base_upload))]
        rows += [LabelledRow(t, i, "team") for t, i in out_of_scope_rows()]
    else:
        use_bitext = training_set == "bitext" or (training_set == "auto" and bitext_path().is_file())
        if use_bitext:
            if not bitext_path().is_file():
                raise TrainingDataInvalid("The Bitext set is not on this machine (settings.SUPPORT_BITEXT_CSV); "
                                          "train on the team's examples instead (training_set 'team').")
            rows += [LabelledRow(t, i, "bitext") for t, i in labelled_rows_read(bitext_path())]
        rows += [LabelledRow(t, i, "team") for t, i in team_rows()]
    if extra_upload:
        rows += [LabelledRow(t, i, "team") for t, i in labelled_rows_read(training_upload_path(extra_upload))]
    return rows


def training_source_label(*, training_set: str = "auto", base_upload: str | None = None,
                          extra_upload: str | None = None) -> str:
    if base_upload:
        parts = [f"file {base_upload[:12]}", "out-of-scope examples"]
    elif training_set == "bitext" or (training_set == "auto" and bitext_path().is_file()):
        parts = [bitext_path().name, "team examples (support/data)"]
    else:
        parts = ["team examples (support/data)"]
    if extra_upload:
        parts.append(f"file {extra_upload[:12]}")
    return " + ".join(parts)[:300]


@dataclass
class IntentTrainingSet:
    texts: list[str]
    labels: list[str]
    vectors: np.ndarray
    weights: np.ndarray
    train_idx: np.ndarray  # original rows of the training families + the augmented variants of its team rows
    test_idx: np.ndarray  # whole held-out paraphrase families (original rows only)


def source_weights(rows: list[LabelledRow]) -> np.ndarray:
    """Per intent, the team's (few, real-sounding) examples weigh as much in total as Bitext's (many, synthetic)
    ones, so the shop's own voice is not drowned out; without Bitext every row weighs 1."""
    bitext = Counter(r.intent for r in rows if r.source == "bitext")
    own = Counter(r.intent for r in rows if r.source != "bitext")
    return np.array([1.0 if r.source == "bitext" else max(1.0, bitext[r.intent] / own[r.intent]) for r in rows])


def intent_training_set(rows: list[LabelledRow], *, seed: int = 0, embed_progress=None,
                        cache_file: Path | None = None) -> IntentTrainingSet:
    """Embed, hold out whole paraphrase families, then add noisy variants of the training split's own examples
    (never of a held-out row, so no variant of a test message is trained on)."""
    cache_file = cache_file or Path(settings.VAR_DIR) / "cache" / "support_embeddings.npz"
    texts, labels = [r.text for r in rows], [r.intent for r in rows]
    vectors = embedder.embed_with_disk_cache(texts, cache_file, progress=embed_progress)
    train_idx, test_idx = family_split(vectors, labels, seed=seed)
    rng = random.Random(seed)
    held_out = set(test_idx.tolist())
    extra: list[LabelledRow] = []
    for i, row in enumerate(rows):
        if row.source != "bitext" and i not in held_out:
            extra += [LabelledRow(v, row.intent, row.source) for v in augment(row.text, rng=rng, variants=AUGMENT_VARIANTS)]
    all_rows = rows + extra
    if extra:
        vectors = np.vstack([vectors, embedder.embed_with_disk_cache([r.text for r in extra], cache_file)])
    weights = source_weights(all_rows)
    train_idx = np.concatenate([train_idx, np.arange(len(rows), len(all_rows))])
    return IntentTrainingSet(texts=[r.text for r in all_rows], labels=[r.intent for r in all_rows], vectors=vectors,
                             weights=weights, train_idx=train_idx, test_idx=test_idx)


def classifier_train(
    *,
    store: Store,
    training_set: str = "auto",
    base_upload: str | None = None,
    extra_upload: str | None = None,
    progress: Callable[[int, str], None] | None = None,
    job=None,
    activate: bool = True,
) -> ClassifierVersion:
    rows = training_rows(training_set=training_set, base_upload=base_upload, extra_upload=extra_upload)
    if progress:
        progress(2, f"Embedding {len(rows)} labelled messages")

    def on_batch(done: int, total: int) -> None:
        if progress:
            progress(2 + int(68 * done / max(total, 1)), f"Embedded {done}/{total}")

    data = intent_training_set(rows, embed_progress=on_batch)
    if progress:
        progress(70, "Choosing the features on the training rows' own held-out families")
    words, choice = words_help(data.vectors, data.labels, data.texts, data.train_idx, sample_weight=data.weights)
    result = train_intent_model(
        data.vectors, data.labels, train_idx=data.train_idx, test_idx=data.test_idx, sample_weight=data.weights,
        texts=data.texts if words else None, progress=(lambda pct, msg: progress(70 + int(pct * 0.28), msg)) if progress else None,
    )
    source = training_source_label(training_set=training_set, base_upload=base_upload, extra_upload=extra_upload)
    with transaction.atomic():
        latest = ClassifierVersion.objects.for_store(store).aggregate(m=Max("version"))["m"] or 0
        version = ClassifierVersion.objects.create(
            store=store,
            version=latest + 1,
            artifact=result.model.to_bytes(),
            metrics=result.metrics | {"examples": len(rows), "split": "held-out paraphrase families",
                                      "features": "embedding+words" if words else "embedding", "feature_choice": choice},
            training_source=source,
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
