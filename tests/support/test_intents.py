"""Intents that generalise: held-out paraphrase families (not random rows), the classifier a fresh install trains
from the team's shipped examples, and Bitext when ../shared has it. Real MiniLM embeddings, real PostgreSQL."""

from __future__ import annotations

import csv
import random

import numpy as np
import pytest
from django.core.management import call_command

from ecomops.models import Job, JobStatus
from support.ml import embedder
from support.ml.intent import (
    OUT_OF_SCOPE,
    PRODUCT_QUESTION,
    SUPPORTED_INTENTS,
    augment,
    family_split,
    train_intent_model,
    words_help,
)
from support.models import ClassifierVersion
from support.services.classifier import (
    TEAM_TRAIN_FILE,
    LabelledRow,
    TrainingDataInvalid,
    intent_training_set,
    labelled_rows_read,
    training_rows,
    training_upload_path,
)
from support.services.retrieval import understand

from .conftest import FIXTURES

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def _unseen() -> list[tuple[str, str]]:
    with (FIXTURES / "intents_unseen.csv").open(encoding="utf-8", newline="") as fh:
        return [(r["text"], r["intent"]) for r in csv.DictReader(fh)]


@pytest.mark.quick
def test_the_shipped_file_covers_every_intent_with_several_phrasings():
    rows = labelled_rows_read(TEAM_TRAIN_FILE)
    counts = {i: sum(1 for _, x in rows if x == i) for i in SUPPORTED_INTENTS}
    assert min(counts.values()) >= 10, counts
    unseen = {t.lower() for t, _ in _unseen()}
    assert not unseen & {t.lower() for t, _ in rows}  # the test file shares no message with the training file
    assert len(unseen) >= 80


@pytest.mark.quick
def test_augment_keeps_the_message_recognisable():
    rng = random.Random(0)
    variants = augment("I want to cancel my order please", rng=rng, variants=2)
    assert len(variants) == 2 and all(v != "I want to cancel my order please" for v in variants)
    assert all("order" in v.lower() or "ordr" in v.lower() or "oder" in v.lower() for v in variants)


def test_family_split_holds_out_whole_clusters_not_random_rows(team_training):
    rows, data = team_training
    labels = [r.intent for r in rows]
    train, test = family_split(data.vectors[: len(rows)], labels)
    assert len(set(train) & set(test)) == 0 and len(test) >= len(SUPPORTED_INTENTS)
    # A held-out message is further from the training rows of its intent than in a random split: its near twins
    # went with it.
    v = data.vectors[: len(rows)]
    y = np.array(labels)

    def nearest_same_intent(test_idx, train_idx):
        sims = v[test_idx] @ v[train_idx].T
        same = y[test_idx][:, None] == y[train_idx][None, :]
        return float(np.where(same, sims, -1).max(axis=1).mean())

    rng = np.random.default_rng(0)
    random_test = rng.choice(len(rows), size=len(test), replace=False)
    random_train = np.setdiff1d(np.arange(len(rows)), random_test)
    assert nearest_same_intent(test, train) < nearest_same_intent(random_test, random_train)
    assert all(len(data.texts[i]) for i in data.train_idx)
    assert set(data.test_idx.tolist()) <= set(range(len(rows)))  # no augmented variant is ever a test row


def test_the_team_file_alone_generalises_to_unseen_phrasings(team_head):
    """The fresh-install classifier on customer phrasings written apart from the training file (typos, short,
    long, polite, angry): the goal is 0.95 with Bitext; the team file alone must already clear 0.85."""
    texts, labels = zip(*_unseen(), strict=True)
    preds = [label for label, _ in team_head.model.predict(embedder.embed(list(texts)), list(texts))]
    accuracy = float(np.mean([p == g for p, g in zip(preds, labels, strict=True)]))
    assert accuracy >= 0.85, [(t, g, p) for t, g, p in zip(texts, labels, preds, strict=True) if g != p]
    assert team_head.metrics["accuracy"] >= 0.7  # on its own held-out families (2-3 messages per intent: harsh)


def test_held_out_bitext_families_reach_the_goal(settings):
    if not settings.SUPPORT_BITEXT_CSV.is_file():
        pytest.skip(f"Bitext is not on this machine ({settings.SUPPORT_BITEXT_CSV}); set SUPPORT_BITEXT_CSV")
    rows = training_rows(training_set="bitext")
    data = intent_training_set(rows)
    words, choice = words_help(data.vectors, data.labels, data.texts, data.train_idx, sample_weight=data.weights)
    assert words, choice  # on Bitext's thousands of rows the inner families prefer the words
    result = train_intent_model(data.vectors, data.labels, train_idx=data.train_idx, test_idx=data.test_idx,
                                sample_weight=data.weights, texts=data.texts)
    alone = train_intent_model(data.vectors, data.labels, train_idx=data.train_idx, test_idx=data.test_idx,
                               sample_weight=data.weights)
    assert result.metrics["test_size"] > 700
    # The goal is 0.95; measured 0.92 with the words (0.89 with the embedding alone, five draws), so this guards
    # against regressions below what we have, it does not claim the goal. The words must help on this draw.
    assert result.metrics["accuracy"] >= 0.88, result.metrics["accuracy"]
    assert result.metrics["accuracy"] > alone.metrics["accuracy"], (result.metrics, alone.metrics)


@pytest.mark.django_db(transaction=True)  # the job runs in a thread of the command, on its own connection
def test_a_fresh_install_trains_from_the_shipped_file_and_classifies(store, settings, tmp_path, capsys):
    settings.SUPPORT_BITEXT_CSV = tmp_path / "absent.csv"  # no ../shared: what `make run` on a new machine has
    call_command("train_support", "--store", store.slug)
    version = ClassifierVersion.objects.for_store(store).get(is_active=True)
    assert "team examples" in version.training_source and "Bitext" not in version.training_source
    job = Job.objects.for_store(store).get(kind="support_train")
    assert job.status == JobStatus.SUCCEEDED and job.params == {"training_set": "auto"}
    for text, intent in [("where's my parcel?? ordered 2 weeks ago", "track_order"),
                         ("I want to speak to a real person", "contact_human_agent"),
                         ("does the blender come with a warranty", PRODUCT_QUESTION),
                         ("what's the capital of peru", OUT_OF_SCOPE)]:
        assert understand(store, text).intent == intent, text
    assert "Classifier v1 active" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_the_demo_stores_train_button_works_without_shared(store, owner, client, settings, tmp_path):
    """What a new user of `make run` does: open the demo store, press Train (no ../shared on the machine). The
    button's job trains from the shipped team examples and the bot classifies with it."""
    from support.services.demo import support_demo_seed
    from support.tasks import support_train

    settings.SUPPORT_BITEXT_CSV = tmp_path / "absent.csv"
    support_demo_seed(store)
    client.force_login(owner)
    response = client.post(f"/stores/{store.slug}/support/classifier/train/")
    assert response.status_code == 302
    job = Job.objects.for_store(store).get(kind="support_train")
    assert support_train(str(job.pk)) in {"succeeded", "skipped"}  # skipped: the dispatch already ran it
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.result
    version = ClassifierVersion.objects.for_store(store).get(is_active=True)
    assert version.training_source == "team examples (support/data)"
    assert understand(store, "i want to cancel the order i just made").intent == "cancel_order"


def test_training_refuses_paths_and_missing_datasets(settings, tmp_path):
    settings.SUPPORT_BITEXT_CSV = tmp_path / "absent.csv"
    with pytest.raises(TrainingDataInvalid, match="not on this machine"):
        training_rows(training_set="bitext")
    for hostile in ("/proc/self/environ", "../../etc/passwd", "a" * 64 + ".txt"):
        with pytest.raises(TrainingDataInvalid):
            training_upload_path(hostile)
    assert all(isinstance(r, LabelledRow) for r in training_rows(training_set="team"))
