"""Writes: keeping a store's search documents and embeddings in step with its catalogue, synonyms, search events.

Incremental by content hash: a product whose searchable text hashes as before keeps its document and vector; only
new or changed ones are rewritten, and only those whose embedded text changed go through MiniLM.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from django.contrib.postgres.search import SearchVector
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ecomops.ml import embedder
from ecomops.models import Product, Store
from search import pgvector
from search.ml.text import document_text, normalise_query, synonym_rule_parse
from search.models import SearchDocument, SearchEvent, SearchIndexState, SearchSource, SearchSynonym

logger = logging.getLogger(__name__)

REINDEX_KIND = "search_reindex"
SYNC_CHUNK = 2000
EMBED_CHUNK = 256

ProgressFn = Callable[[int, str], None]


def _tsv_expression():
    return (SearchVector("title_text", weight="A", config="english")
            + SearchVector("meta_text", weight="B", config="english")
            + SearchVector("body_text", weight="D", config="english"))


def documents_sync(*, store: Store, on_progress: ProgressFn | None = None) -> dict[str, int]:
    """Create or rewrite the documents of products whose text changed; the full-text vector is computed in SQL."""
    existing = dict(SearchDocument.objects.for_store(store).values_list("product_id", "content_hash"))
    fields = ("pk", "title", "brand", "category", "attributes", "description")
    products = Product.objects.for_store(store).order_by("pk").values_list(*fields)
    total = Product.objects.for_store(store).count()
    created = updated = unchanged = seen = 0
    batch_new: list[SearchDocument] = []
    batch_changed: list[SearchDocument] = []

    def flush() -> None:
        nonlocal batch_new, batch_changed
        with transaction.atomic():
            if batch_new:
                SearchDocument.objects.bulk_create(batch_new, batch_size=1000)
            if batch_changed:
                SearchDocument.objects.bulk_update(batch_changed, ["title_text", "meta_text", "body_text",
                                                                   "content_hash"], batch_size=500)
            ids = [d.product_id for d in (*batch_new, *batch_changed)]
            if ids:
                SearchDocument.objects.for_store(store).filter(product_id__in=ids).update(tsv=_tsv_expression())
        batch_new, batch_changed = [], []

    doc_ids = dict(SearchDocument.objects.for_store(store).values_list("product_id", "pk"))
    for pk, title, brand, category, attributes, description in products.iterator(chunk_size=SYNC_CHUNK):
        seen += 1
        text = document_text(title=title, brand=brand, category=category, attributes=attributes,
                             description=description)
        old = existing.get(pk)
        if old == text.content_hash:
            unchanged += 1
        else:
            doc = SearchDocument(store=store, product_id=pk, title_text=text.title_text, meta_text=text.meta_text,
                                 body_text=text.body_text, content_hash=text.content_hash)
            if old is None:
                batch_new.append(doc)
                created += 1
            else:
                doc.pk = doc_ids[pk]
                batch_changed.append(doc)
                updated += 1
        if len(batch_new) + len(batch_changed) >= SYNC_CHUNK:
            flush()
            if on_progress:
                on_progress(int(30 * seen / max(total, 1)), f"Indexed the text of {seen:,} of {total:,} products")
    flush()
    return {"products": seen, "documents_created": created, "documents_updated": updated,
            "documents_unchanged": unchanged}


def _embed_texts(store: Store, product_ids: list[int]) -> dict[int, tuple[str, str]]:
    """product id -> (embedding text, content hash), from the products as they are now."""
    out = {}
    fields = ("pk", "title", "brand", "category", "attributes", "description")
    for pk, title, brand, category, attributes, description in (
            Product.objects.for_store(store).filter(pk__in=product_ids).values_list(*fields)):
        text = document_text(title=title, brand=brand, category=category, attributes=attributes,
                             description=description)
        out[pk] = (text.embed_text, text.content_hash)
    return out


def embeddings_update(*, store: Store, on_progress: ProgressFn | None = None,
                      cache_file: Path | None = None) -> dict[str, int]:
    """Embed the documents whose embedded text is not their current text (new or changed products).

    `cache_file` (evaluations and benchmarks only): vectors are also kept on disk by text hash
    (embedder.embed_with_disk_cache), so re-running on the same catalogue skips the minutes of embedding."""
    stale = list(
        SearchDocument.objects.for_store(store).exclude(embedded_hash=F("content_hash"))
        .order_by("product_id").values_list("product_id", flat=True)
    )
    total = len(stale)
    done = 0
    step = EMBED_CHUNK if cache_file is None else max(total, 1)
    for start in range(0, total, step):
        chunk = stale[start:start + step]
        texts = _embed_texts(store, chunk)
        ids = [pid for pid in chunk if pid in texts]
        batch = [texts[pid][0] for pid in ids]
        if cache_file is None:
            vectors = embedder.embed(batch, batch_size=64)
        else:
            def cached_progress(n: int, of: int) -> None:
                if on_progress:
                    on_progress(30 + int(68 * n / max(of, 1)), f"Embedded {n:,} of {of:,} changed products")

            vectors = embedder.embed_with_disk_cache(batch, cache_file, progress=cached_progress)
        with transaction.atomic():
            docs = {d.product_id: d for d in SearchDocument.objects.for_store(store).filter(product_id__in=ids)}
            rows = []
            for pid, vector in zip(ids, vectors, strict=True):
                doc = docs.get(pid)
                if doc is None or doc.content_hash != texts[pid][1]:
                    continue  # changed again meanwhile: the next run embeds the newer text
                doc.embedding = embedder.to_bytes(vector)
                doc.embedded_hash = texts[pid][1]
                rows.append(doc)
            SearchDocument.objects.bulk_update(rows, ["embedding", "embedded_hash"], batch_size=500)
            pgvector.sync(store.pk, [doc.product_id for doc in rows])
        done += len(chunk)
        if on_progress:
            on_progress(30 + int(68 * done / max(total, 1)), f"Embedded {done:,} of {total:,} changed products")
    return {"embedded": done, "embedding_skipped": SearchDocument.objects.for_store(store).count() - done}


def search_reindex(*, store: Store, full: bool = False, on_progress: ProgressFn | None = None,
                   cache_file: Path | None = None) -> dict:
    """Bring the store's search index up to date with its catalogue; `full` re-embeds every product."""
    if full:
        SearchDocument.objects.for_store(store).update(embedded_hash="", content_hash="")
    sync = documents_sync(store=store, on_progress=on_progress)
    embedded = embeddings_update(store=store, on_progress=on_progress, cache_file=cache_file)
    pgvector.sync(store.pk)  # vectors written before the pgvector column existed, or by another path
    documents = SearchDocument.objects.for_store(store).count()
    with transaction.atomic():
        state, _ = SearchIndexState.objects.select_for_update().get_or_create(store=store)
        changed = sync["documents_created"] or sync["documents_updated"] or embedded["embedded"] or full
        if changed or state.documents != documents:
            state.version += 1
        state.indexed_at = timezone.now()
        state.documents = documents
        state.embedded = SearchDocument.objects.for_store(store).filter(embedding__isnull=False).count()
        state.save()
    if on_progress:
        on_progress(100, f"Search index up to date: {documents:,} products, {embedded['embedded']:,} embedded")
    return {**sync, **embedded, "version": state.version}


def search_reindex_start(*, store: Store, created_by=None, full: bool = False):
    from ecomops.services.jobs import job_create

    return job_create(store=store, kind=REINDEX_KIND, params={"full": full} if full else {}, created_by=created_by)


def catalog_changed(store_id: int) -> None:
    """After a product write commits: queue an incremental reindex for a store that has a search index. One
    running and one queued job at most (the queued one will see every change made until it starts)."""
    from ecomops.services.jobs import JobLimitReached

    store = Store.objects.filter(pk=store_id).first()
    if store is None or not SearchIndexState.objects.filter(store=store).exists():
        return
    try:
        search_reindex_start(store=store)
    except JobLimitReached:
        pass


# --- synonyms -----------------------------------------------------------------------------------------------------


def synonym_create(*, store: Store, terms: str) -> SearchSynonym:
    """Raises ValidationError({'terms': [...]}) for a rule that cannot be read or already exists."""
    try:
        rule = synonym_rule_parse(terms)
    except ValueError as exc:
        raise ValidationError({"terms": [str(exc)]}) from None
    canonical = ", ".join(rule.sources) if rule.sources == rule.targets else (
        f"{', '.join(rule.sources)} => {', '.join(rule.targets)}")
    if SearchSynonym.objects.for_store(store).filter(terms=canonical).exists():
        raise ValidationError({"terms": [f"The rule {canonical!r} already exists."]})
    return SearchSynonym.objects.create(store=store, terms=canonical)


def synonym_delete(*, store: Store, synonym_id: int) -> bool:
    deleted, _ = SearchSynonym.objects.for_store(store).filter(pk=synonym_id).delete()
    return bool(deleted)


# --- events -----------------------------------------------------------------------------------------------------


def search_event_record(*, store: Store, query: str, results: int, source: str = SearchSource.STOREFRONT) -> None:
    """One anonymous search event (the normalised query and its result count). Never fails the search."""
    text = normalise_query(query)
    if not text:
        return
    try:
        SearchEvent.objects.create(store=store, query=text, results=results, source=source)
    except Exception:  # noqa: BLE001 - analytics must not turn a search into an error
        logger.exception("could not record a search event for store %s", store.pk)
