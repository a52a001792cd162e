"""Vector search in SQL (pgvector, where the database has it) returns what the numpy path returns."""

from __future__ import annotations

import numpy as np
import pytest

from ecomops.ml import embedder
from search import pgvector
from search.ml.vectors import VectorIndex
from search.models import SearchDocument
from search.selectors import SearchFilters, _allowed_ids, _where, loaded_index, vector_ids

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture
def needs_pgvector(db):
    if not pgvector.available():
        pytest.skip("this database has no pgvector (the embedded PostgreSQL 18 has it: run without DATABASE_URL); "
                    "search uses the numpy path here, which the other search tests cover")


def _numpy_index(store) -> VectorIndex:
    rows = list(SearchDocument.objects.for_store(store).values_list("product_id", "embedding"))
    return VectorIndex.from_rows(rows, embedder.EMBEDDING_DIM)


def test_without_pgvector_the_documents_have_no_vector_column(db):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
        has_extension = cursor.fetchone() is not None
    assert pgvector.available() == has_extension  # the migration added the column exactly where it could


def test_sql_and_numpy_nearest_agree_with_and_without_filters(needs_pgvector, indexed, other_store):
    assert loaded_index(indexed).in_sql and len(loaded_index(indexed).vectors) == 0  # no matrix kept in process
    index = _numpy_index(indexed)
    for query, filters in [("earbuds", SearchFilters()), ("something to drink tea from", SearchFilters()),
                           ("black", SearchFilters(statuses=("active",), price_max=100)),
                           ("sport", SearchFilters(category="Sports"))]:
        vector = embedder.embed_one(query)
        where, params = _where(filters)
        sql = pgvector.nearest(indexed.pk, vector, where=where, params=params, limit=10, min_score=-1.0)
        allowed = None if filters.is_empty else _allowed_ids(indexed, filters)
        exact = index.search(vector, top=10, allowed=allowed)
        assert [pid for pid, _ in sql] == [pid for pid, _ in exact], query
        assert np.allclose([s for _, s in sql], [s for _, s in exact], atol=1e-5)
    rival = set(SearchDocument.objects.for_store(other_store).values_list("product_id", flat=True))
    assert not set(vector_ids(indexed, "earbuds", SearchFilters())) & rival


def test_a_reembedded_product_is_copied_to_the_vector_column(needs_pgvector, indexed):
    from search.services import search_reindex

    doc = SearchDocument.objects.for_store(indexed).order_by("product_id").first()
    product = doc.product
    product.title = "Completely different garden hose, green"
    product.save()
    search_reindex(store=indexed)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT embedding, embedding_vec::text, embedded_hash = embedded_vec_hash "
                       "FROM search_searchdocument WHERE product_id = %s", [product.pk])
        blob, text, in_step = cursor.fetchone()
    assert in_step
    assert np.allclose(np.frombuffer(bytes(blob), dtype=np.float32),
                       np.asarray([float(x) for x in text.strip("[]").split(",")]), atol=1e-6)
    assert pgvector.sync(indexed.pk) == 0  # nothing left stale
