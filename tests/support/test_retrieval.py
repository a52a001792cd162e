"""Embeddings stored per entry (incremental), retrieval correct after edits/deletes, the real datasets load."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from support.ml import embedder
from support.models import KnowledgeEntry, SupportState
from support.services import retrieval
from support.services.knowledge import (
    faq_entry_create,
    knowledge_embed_pending,
    knowledge_entry_delete,
    knowledge_entry_update,
)
from support.services.retrieval import knowledge_search

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
DATASETS = Path(settings.BASE_DIR).parent / "shared" / "datasets"


def test_embeddings_are_stored_per_entry_and_only_changed_entries_are_re_embedded(faq, store):
    entries = KnowledgeEntry.objects.for_store(store)
    assert entries.count() == 8
    assert all(embedder.from_bytes(e.embedding) is not None for e in entries)
    assert knowledge_embed_pending(store=store)["embedded"] == 0  # nothing changed: a no-op
    entry = entries.get(title="Do you offer gift wrapping?")
    knowledge_entry_update(entry=entry, title="Can you wrap presents?", text=entry.text)
    assert knowledge_embed_pending(store=store)["embedded"] == 1


def test_retrieval_follows_edits_and_deletions(faq, store):
    hits = knowledge_search(store, "how many days do I have to send something back?")
    returns = KnowledgeEntry.objects.for_store(store).get(title="What is your return policy?")
    assert hits[0].entry_id == returns.pk and "30 days" in hits[0].text
    # Edit: the answer text in the index is the new one as soon as the version stamp moves.
    knowledge_entry_update(entry=returns, text="You can return products within 14 days of delivery.")
    hits = knowledge_search(store, "how many days do I have to send something back?")
    assert hits[0].entry_id == returns.pk and "14 days" in hits[0].text
    # Delete: the entry never comes back from the index.
    knowledge_entry_delete(entry=returns)
    ids = [h.entry_id for h in knowledge_search(store, "how many days do I have to send something back?", k=8)]
    assert returns.pk not in ids
    # A new entry is searchable once its embedding job has run.
    new = faq_entry_create(store=store, title="Do you sell gift cards?", text="Gift cards from 10 to 200 EUR.")
    assert new.pk not in [h.entry_id for h in knowledge_search(store, "gift card", k=8)]
    knowledge_embed_pending(store=store)
    assert knowledge_search(store, "can I buy a gift card", k=1)[0].entry_id == new.pk


def test_a_worker_with_a_stale_index_rebuilds_on_the_next_search(faq, store):
    knowledge_search(store, "shipping")
    stale = retrieval._indexes[store.pk]
    SupportState.objects.for_store(store).update(knowledge_version=stale.version + 5)  # another worker's edit
    knowledge_search(store, "shipping")
    assert retrieval._indexes[store.pk] is not stale


def test_search_is_scoped_to_the_store(faq, store, other_store):
    faq_entry_create(store=other_store, title="Secret rival question", text="Rival's own answer")
    knowledge_embed_pending(store=other_store)
    texts = [p.text for p in knowledge_search(store, "Secret rival question", k=8)]
    assert "Rival's own answer" not in texts


@pytest.mark.slow
def test_shared_datasets_load(store):
    faq = DATASETS / "ecommerce-faq" / "Ecommerce_FAQ_Chatbot_dataset.json"
    bitext = DATASETS / "bitext-support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    if not faq.exists() or not bitext.exists():
        pytest.skip("../shared/datasets (ecommerce-faq, bitext-support) is not present on this machine")
    call_command("import_faq", "--store", store.slug, str(faq))
    assert KnowledgeEntry.objects.for_store(store).count() == 79
    call_command("import_faq", "--store", store.slug, str(bitext))
    entries = KnowledgeEntry.objects.for_store(store)
    assert entries.count() > 79 + 4400  # 4,514 rows, 59 case-duplicates kept as distinct questions
    assert not entries.filter(text__contains="{{").exists()  # template slots filled or spelled out
