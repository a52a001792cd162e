"""What search stores: one document per product (its text, full-text vector, trigram text, MiniLM embedding), the
per-store index version that in-process vector caches key on, merchant synonyms, and anonymous search events."""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models

from ecomops.models.scoped import StoreOwned


class SearchDocument(StoreOwned):
    """The searchable form of one product. `content_hash` is the hash of the text the product yields now;
    `embedded_hash` the hash of the text its `embedding` was computed from: equal means nothing to re-embed."""

    product = models.OneToOneField("ecomops.Product", on_delete=models.CASCADE, related_name="search_document")
    title_text = models.TextField(help_text="Title, brand and category, lowercased: what trigram similarity reads")
    meta_text = models.TextField(blank=True, help_text="Brand, category and attribute values")
    body_text = models.TextField(blank=True, help_text="Description (truncated)")
    tsv = SearchVectorField(null=True)
    content_hash = models.CharField(max_length=64)
    embedding = models.BinaryField(null=True, help_text="float32 x 384, unit length (ecomops.ml.embedder)")
    embedded_hash = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            GinIndex(fields=["tsv"], name="searchdoc_tsv"),
            GinIndex(fields=["title_text"], name="searchdoc_title_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["store", "embedded_hash"], name="searchdoc_store_embedded"),
        ]

    def __str__(self) -> str:
        return f"search document of product {self.product_id}"


class SearchIndexState(models.Model):
    """One row per indexed store. `version` goes up whenever embeddings change: each process's numpy matrix of the
    store's vectors is keyed on it (search/selectors.py), so a query never reads a stale matrix."""

    store = models.OneToOneField("ecomops.Store", on_delete=models.CASCADE, related_name="search_index")
    version = models.PositiveIntegerField(default=0)
    indexed_at = models.DateTimeField(null=True, blank=True)
    documents = models.PositiveIntegerField(default=0)
    embedded = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"search index of store {self.store_id} v{self.version}"


class SearchSynonym(StoreOwned):
    """A group of words a shopper may use for the same thing ("tee, t-shirt"), or a one-way rewrite
    ("earphones => earbuds": a search for earphones also looks for earbuds, not the reverse)."""

    terms = models.CharField(max_length=500, help_text="Comma-separated equivalents, or 'a, b => c' (one-way)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["terms"]

    def __str__(self) -> str:
        return self.terms


class SearchSource(models.TextChoices):
    STOREFRONT = "storefront", "Storefront"
    DASHBOARD = "dashboard", "Dashboard"


class SearchEvent(StoreOwned):
    """One search: the normalised query and how many results it had. No user, session, address or agent: no PII."""

    query = models.CharField(max_length=200)
    results = models.PositiveIntegerField()
    source = models.CharField(max_length=16, choices=SearchSource.choices, default=SearchSource.STOREFRONT)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["store", "source", "created_at"], name="searchevent_store_time")]

    def __str__(self) -> str:
        return f"{self.query!r} ({self.results})"
