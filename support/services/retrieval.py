"""Per-worker in-memory indexes and classifier heads, rebuilt when the store's version stamp changes.

One cheap query reads the stamp on each search; a changed stamp (any knowledge edit, deletion or newly written
embedding) rebuilds the store's index from the vectors stored in the database.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from ecomops.models import Store
from support.ml import embedder
from support.ml.answering import Passage, named_products, with_named_products
from support.ml.index import HybridIndex
from support.ml.intent import OUT_OF_SCOPE, IntentModel
from support.models import ClassifierVersion, KnowledgeEntry, SupportState

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_indexes: dict[int, HybridIndex] = {}
_entries: dict[int, dict[int, KnowledgeEntry]] = {}
_heads: dict[int, tuple[int, IntentModel]] = {}


def knowledge_version(store: Store) -> int:
    return (
        SupportState.objects.for_store(store).values_list("knowledge_version", flat=True).first() or 0
    )


def store_index(store: Store) -> tuple[HybridIndex, dict[int, KnowledgeEntry]]:
    version = knowledge_version(store)
    index = _indexes.get(store.pk)
    if index is not None and index.version == version:
        return index, _entries[store.pk]
    rows = list(
        KnowledgeEntry.objects.for_store(store)
        .filter(is_active=True, embedding__isnull=False)
        .only("id", "kind", "title", "text", "embedding")
    )
    triples, by_id = [], {}
    for row in rows:
        vec = embedder.from_bytes(row.embedding)
        if vec is None:
            continue
        row.embedding = None  # the vector lives in the matrix; don't keep the bytes twice
        by_id[row.pk] = row
        triples.append((row.pk, f"{row.title} {row.text}", vec))
    index = HybridIndex.build(triples, version=version)
    with _lock:
        _indexes[store.pk] = index
        _entries[store.pk] = by_id
    return index, by_id


@dataclass(frozen=True)
class Understanding:
    vector: np.ndarray
    intent: str
    confidence: float | None
    classifier_version: int | None


def active_head(store: Store) -> tuple[int, IntentModel] | None:
    row = ClassifierVersion.objects.for_store(store).filter(is_active=True).values_list("pk", "version").first()
    if row is None:
        return None
    cached = _heads.get(store.pk)
    if cached is not None and cached[0] == row[0]:
        return (row[1], cached[1]) if cached[1] is not None else None
    artifact = ClassifierVersion.objects.for_store(store).values_list("artifact", flat=True).get(pk=row[0])
    try:
        model = IntentModel.from_bytes(artifact)
    except Exception:  # noqa: BLE001 - a corrupt artifact must not take the bot down: answer without a head
        logger.exception("store %s: the active classifier v%s cannot be loaded; answering without it",
                         store.pk, row[1])
        model = None
    with _lock:
        _heads[store.pk] = (row[0], model)  # a corrupt version is remembered, not re-parsed per message
    return (row[1], model) if model is not None else None


def understand(store: Store, text: str) -> Understanding:
    """Embed once; classify with the store's active head (no head: intent 'unknown', no confidence)."""
    vector = embedder.embed_one(text)
    head = active_head(store)
    if head is None:
        return Understanding(vector, "unknown", None, None)
    version, model = head
    try:
        intent, confidence = model.predict(vector[None, :], [text])[0]
    except Exception:  # noqa: BLE001 - e.g. a head trained for another embedding size: fall back, logged
        logger.exception("store %s: classifier v%s failed to predict; answering without it", store.pk, version)
        return Understanding(vector, "unknown", None, None)
    return Understanding(vector, intent or OUT_OF_SCOPE, confidence, version)


def knowledge_search(store: Store, text: str, *, k: int = 3, vector: np.ndarray | None = None) -> list[Passage]:
    """The k best passages for the question; a product the question names ("are the earbuds waterproof?") comes
    first whatever its cosine (`with_named_products`)."""
    index, entries = store_index(store)
    if vector is None:
        vector = embedder.embed_one(text)
    hits = index.search(vector, text, k=k)
    passages = [
        Passage(entry_id=h.entry_id, title=entries[h.entry_id].title, text=entries[h.entry_id].text,
                kind=entries[h.entry_id].kind, score=h.cosine)
        for h in hits
        if h.entry_id in entries
    ]
    named = named_products(text, [(pk, e.title) for pk, e in entries.items() if e.kind == "product"])
    if not named:
        return passages
    row_of = {pk: row for row, pk in enumerate(index.ids)}
    products = [Passage(entry_id=pk, title=entries[pk].title, text=entries[pk].text, kind="product",
                        score=float(index.vectors[row_of[pk]] @ vector)) for pk in named if pk in row_of]
    return with_named_products(text, passages, products)[:k]


def caches_clear() -> None:
    with _lock:
        _indexes.clear()
        _entries.clear()
        _heads.clear()
