"""Support fixtures. Embeddings and the small intent head are computed once per test session (CPU is shared)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ecomops.models import Role
from support.ml import embedder
from support.ml.intent import train_intent_model, words_help
from support.models import ClassifierVersion
from support.services.classifier import LabelledRow, intent_training_set, out_of_scope_rows, team_rows
from support.services.knowledge import faq_import, knowledge_embed_pending
from support.services.retrieval import caches_clear
from tests.factories import CustomerFactory, MembershipFactory, OrderFactory, UserFactory

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "support"


def small_intent_rows() -> list[tuple[str, str]]:
    with (FIXTURES / "intents_small.csv").open(encoding="utf-8", newline="") as fh:
        rows = [(r["text"], r["intent"]) for r in csv.DictReader(fh)]
    return rows + out_of_scope_rows()


@pytest.fixture(scope="session")
def small_intent_data():
    rows = small_intent_rows()
    texts, labels = [t for t, _ in rows], [lbl for _, lbl in rows]
    return texts, labels, embedder.embed(texts, batch_size=64)


@pytest.fixture(scope="session")
def small_head(small_intent_data):
    texts, labels, vectors = small_intent_data
    return train_intent_model(vectors, labels, c=10.0)


@pytest.fixture(scope="session")
def team_training():
    """The shipped training set as a fresh install trains on it (no Bitext): the team's examples, held-out
    paraphrase families, noisy variants of the training rows."""
    rows = [LabelledRow(t, i, "team") for t, i in team_rows()]
    return rows, intent_training_set(rows)


@pytest.fixture(scope="session")
def team_head(team_training):
    _, data = team_training
    words, _ = words_help(data.vectors, data.labels, data.texts, data.train_idx, sample_weight=data.weights)
    return train_intent_model(data.vectors, data.labels, train_idx=data.train_idx, test_idx=data.test_idx,
                              sample_weight=data.weights, texts=data.texts if words else None)


@pytest.fixture
def team_classifier(store, team_head):
    return ClassifierVersion.objects.create(
        store=store, version=1, is_active=True, artifact=team_head.model.to_bytes(), metrics=team_head.metrics
    )


@pytest.fixture(autouse=True)
def _fresh_support_caches():
    caches_clear()
    yield
    caches_clear()


@pytest.fixture
def classifier(store, small_head):
    return ClassifierVersion.objects.create(
        store=store, version=1, is_active=True, artifact=small_head.model.to_bytes(), metrics=small_head.metrics
    )


@pytest.fixture
def faq(store):
    """The small FAQ imported and embedded (the embedding job's function runs inline)."""
    faq_import(store=store, raw=(FIXTURES / "faq_small.json").read_bytes(), filename="faq_small.json")
    knowledge_embed_pending(store=store)
    return store


@pytest.fixture
def orders(store, other_store):
    alice = CustomerFactory(store=store, external_id="ALICE", email="alice@example.com", name="Alice")
    bob = CustomerFactory(store=store, external_id="BOB", email="bob@example.com", name="Bob")
    rival = CustomerFactory(store=other_store, external_id="ALICE", email="alice@example.com")
    return {
        "alice": OrderFactory(store=store, customer=alice, number="100001", status="shipped",
                              shipping_address="1 Alice Street, Berlin"),
        "bob": OrderFactory(store=store, customer=bob, number="100002", status="paid",
                            shipping_address="99 Bob Road, Hamburg"),
        "rival": OrderFactory(store=other_store, customer=rival, number="100003", status="delivered"),
    }


@pytest.fixture
def agent(store):
    return MembershipFactory(store=store, role=Role.MANAGER, user=UserFactory(username="agent")).user
