"""Vector search in SQL where the database has pgvector: the documents' `embedding_vec vector(384)` column (added
by migration 0002 only there, with an HNSW index) mirrors the float32 bytes in `embedding`, and the nearest products
are found by `ORDER BY embedding_vec <=> query` in the same statement as the store and the filters. pgvector 0.8's
iterative index scan keeps walking the graph until enough rows pass the WHERE clause, so a filter is applied before
the top is taken, not after a cut. HNSW is approximate: bench/search.py reports its recall@100 against the exact
numpy search on the same vectors. For a small store the planner scans the store's rows and sorts them (exact).
Without pgvector, search/selectors.py keeps the exact per-process numpy matrix.

Why prefer it when present: no process keeps a copy of every store's matrix (73 MiB per 50,000 products per web
and worker process), nothing waits for a matrix to load after an index update, and an exact scan in SQL was too
slow (183 ms a query at 50,000 products, against 25 ms p95 for the whole search with the index).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from django.db import connection

from ecomops.ml import embedder

COLUMN = "embedding_vec"
EF_SEARCH = 200  # HNSW candidate list; recall against the exact search: bench/search.py
_available: dict[str, bool] = {}


def available() -> bool:
    """Whether this database's documents have the vector column (checked once per database per process)."""
    key = f"{connection.settings_dict.get('HOST')}:{connection.settings_dict.get('PORT')}/{connection.settings_dict.get('NAME')}"
    if key not in _available:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM information_schema.columns WHERE table_name = 'search_searchdocument' "
                           "AND column_name = %s", [COLUMN])
            _available[key] = cursor.fetchone() is not None
    return _available[key]


def _literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in np.asarray(vector, dtype=np.float32)) + "]"


def sync(store_id: int, product_ids: Iterable[int] | None = None, *, chunk: int = 1000) -> int:
    """Copy the bytea vectors into the vector column: for `product_ids` (just re-embedded), or for every document
    of the store whose column is empty or stale (after the migration, or a bulk write that bypassed this)."""
    if not available():
        return 0
    with connection.cursor() as cursor:
        if product_ids is None:
            cursor.execute(f"""SELECT product_id FROM search_searchdocument WHERE store_id = %s AND embedding IS NOT NULL
                               AND ({COLUMN} IS NULL OR embedded_hash IS DISTINCT FROM embedded_vec_hash)""", [store_id])
            ids = [row[0] for row in cursor.fetchall()]
        else:
            ids = list(product_ids)
        done = 0
        for start in range(0, len(ids), chunk):
            part = ids[start:start + chunk]
            cursor.execute("SELECT product_id, embedding FROM search_searchdocument WHERE store_id = %s "
                           "AND product_id = ANY(%s) AND embedding IS NOT NULL", [store_id, part])
            rows = [(pid, bytes(blob)) for pid, blob in cursor.fetchall()
                    if blob is not None and len(blob) == embedder.EMBEDDING_DIM * 4]
            if not rows:
                continue
            cursor.execute(f"""
                UPDATE search_searchdocument d SET {COLUMN} = v.vec::vector, embedded_vec_hash = d.embedded_hash
                FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::text[]) AS vec) v
                WHERE d.store_id = %s AND d.product_id = v.id""",
                [[pid for pid, _ in rows], [_literal(np.frombuffer(blob, dtype=np.float32)) for _, blob in rows],
                 store_id])
            done += len(rows)
        return done


def nearest(store_id: int, vector: np.ndarray, *, where: str, params: list, limit: int,
            min_score: float) -> list[tuple[int, float]]:
    """(product id, cosine) best first among the store's products passing `where` (the filter clause over `p`)."""
    literal = _literal(vector)
    with connection.cursor() as cursor:
        # HNSW with pgvector 0.8's iterative scan: the index is walked until `limit` rows pass the store and the
        # filters (not cut at ef_search first and filtered after); relaxed order, so the rows are re-sorted here.
        cursor.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', false), "
                       "set_config('hnsw.ef_search', %s, false)", [str(max(2 * limit, EF_SEARCH))])
        cursor.execute(f"""
            SELECT d.product_id, 1 - (d.{COLUMN} <=> %s::vector) AS score
            FROM search_searchdocument d JOIN ecomops_product p ON p.id = d.product_id
            WHERE d.store_id = %s AND d.{COLUMN} IS NOT NULL {where}
            ORDER BY d.{COLUMN} <=> %s::vector, d.product_id LIMIT %s""",
            [literal, store_id, *params, literal, limit])
        rows = sorted(((pid, float(score)) for pid, score in cursor.fetchall()), key=lambda r: (-r[1], r[0]))
        return [(pid, score) for pid, score in rows if score >= min_score]


def embedded_count(store_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM search_searchdocument WHERE store_id = %s AND {COLUMN} IS NOT NULL",
                       [store_id])
        return cursor.fetchone()[0]
