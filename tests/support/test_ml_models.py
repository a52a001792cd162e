"""The numerical core with the real MiniLM embedder (no Django): the hybrid index and the intent head."""

from __future__ import annotations

import numpy as np
import pytest

from support.ml import embedder
from support.ml.index import HybridIndex
from support.ml.intent import OUT_OF_SCOPE, IntentModel, train_intent_model

pytestmark = pytest.mark.slow


def test_hybrid_index_ranks_by_meaning_and_keywords():
    texts = ["How long does shipping take?", "What is your return policy?", "Do you offer gift wrapping?"]
    vecs = embedder.embed(texts)
    index = HybridIndex.build([(i, t, v) for i, (t, v) in enumerate(zip(texts, vecs, strict=True))])
    q = "can I send an item back"
    hits = index.search(embedder.embed_one(q), q, k=3)
    assert hits[0].entry_id == 1
    q = "gift wrap"
    assert index.search(embedder.embed_one(q), q, k=1)[0].entry_id == 2


def test_intent_head_trains_calibrates_and_round_trips(small_intent_data, small_head):
    texts, labels, vectors = small_intent_data
    metrics = small_head.metrics
    assert metrics["accuracy"] >= 0.8 and metrics["macro_f1"] >= 0.7
    assert 0.05 < metrics["temperature"] < 20
    model = IntentModel.from_bytes(small_head.model.to_bytes())
    assert model.classes == small_head.model.classes
    probe = embedder.embed(["I want to cancel my order number 42", "what's the weather in Rome tomorrow"])
    (intent1, conf1), (intent2, _) = model.predict(probe)
    assert intent1 == "cancel_order" and conf1 > 0.5
    assert intent2 == OUT_OF_SCOPE
    probs = model.predict_proba(probe)
    assert np.allclose(probs.sum(axis=1), 1.0)


def test_a_head_that_reads_the_words_round_trips_and_needs_them(small_intent_data):
    """Trained with the texts, the head stores its TF-IDF vocabulary, idf and weights in the artifact (no pickle):
    the reloaded head gives the same probabilities, and asking it without the words is an error, not a silent
    embedding-only guess."""
    texts, labels, vectors = small_intent_data
    result = train_intent_model(vectors, labels, c=10.0, texts=texts)
    model = IntentModel.from_bytes(result.model.to_bytes())
    assert model.lexical and len(model.vocabulary) == len(model.idf) == model.lex_coef.shape[1] > 20
    probe_texts = ["I want to cancel my order number 42", "what's the weather in Rome tomorrow"]
    probe = embedder.embed(probe_texts)
    assert np.allclose(model.predict_proba(probe, probe_texts), result.model.predict_proba(probe, probe_texts),
                       atol=1e-5)
    (intent1, conf1), (intent2, _) = model.predict(probe, probe_texts)
    assert intent1 == "cancel_order" and conf1 > 0.5
    assert intent2 == OUT_OF_SCOPE
    with pytest.raises(ValueError, match="texts"):
        model.predict(probe)
