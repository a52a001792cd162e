"""Reads: hybrid search over one store's catalogue, its baselines, "did you mean", and the search analytics.

Hybrid = reciprocal-rank fusion of three ranked lists, each computed with the filters inside it:
  1. lexical: PostgreSQL full text (english config; title/brand weighted A, category/attributes B, description D),
     ts_rank over the OR of the query's words plus 1 for documents that contain every word (or a synonym of it);
  2. typo: pg_trgm word_similarity of the whole query to title + brand + category (GIN trigram index);
  3. semantic: cosine of the query's MiniLM vector to every product vector of the store, exact, in numpy, over a
     per-process matrix keyed by the store's index version.
Every list is restricted by the same WHERE clause (status, category, price, stock, attributes) before it is cut
to its top N, so a filter never empties a page that unfiltered results would have filled.
"""

from __future__ import annotations

import contextvars
import difflib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import numpy as np
from django.db import connection
from django.db.models import Count, Max, Q
from django.utils import timezone

from ecomops.ml import embedder
from ecomops.models import Product, ProductStatus, Store
from search.ml.fusion import reciprocal_rank_fusion
from search.ml.text import STOP_WORDS, SynonymRule, normalise_query, synonym_expansions, synonym_rule_parse, tokens
from search.ml.vectors import VectorIndex
from search.models import SearchDocument, SearchEvent, SearchIndexState, SearchSource, SearchSynonym

CANDIDATES = 100  # per list; fusion of three lists of 100 keeps every plausible product
TRIGRAM_THRESHOLD = 0.45  # word_similarity below this is noise ("kettle" vs "bottle" is 0.3)
VECTOR_MIN_SCORE = 0.30  # MiniLM cosine under which a product is not an answer (the median product scores ~0.15)
FUZZY_CUTOFF = 0.75  # difflib ratio for a catalogue word to stand in for a word the catalogue does not know
PARTIAL_CAP = 2000  # partial full-text matches ours ranks at most (see lexical_matches)
VECTOR_PROBE = 1000  # nearest products checked against the filters before all passing ids are fetched
DID_YOU_MEAN_BELOW = 3  # suggest a spelling when a query has fewer results


@dataclass(frozen=True)
class SearchFilters:
    category: str = ""  # a category path prefix: "Apparel" matches "Apparel > Tops"
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock: bool | None = None
    attributes: dict[str, str] = field(default_factory=dict)  # name -> value, case-insensitive
    statuses: tuple[str, ...] = ()  # empty: any status (the dashboard); the storefront passes ('active',)

    @property
    def is_empty(self) -> bool:
        return not (self.category or self.price_min is not None or self.price_max is not None
                    or self.in_stock is not None or self.attributes or self.statuses)


PUBLIC = SearchFilters(statuses=(ProductStatus.ACTIVE,))


@dataclass
class SearchResult:
    query: str
    product_ids: list[int]
    terms: list[str]  # what to highlight: the query's words and their synonyms
    did_you_mean: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.product_ids)


def _where(filters: SearchFilters) -> tuple[str, list]:
    """The filter clause over `p` (ecomops_product), with its parameters."""
    clauses, params = [], []
    if filters.statuses:
        clauses.append("p.status = ANY(%s)")
        params.append(list(filters.statuses))
    if filters.category:
        clauses.append("(p.category = %s OR p.category LIKE %s)")
        escaped = filters.category.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params += [filters.category, escaped + " >%"]
    if filters.price_min is not None:
        clauses.append("p.price >= %s")
        params.append(filters.price_min)
    if filters.price_max is not None:
        clauses.append("p.price <= %s")
        params.append(filters.price_max)
    if filters.in_stock is True:
        clauses.append("p.stock > 0")
    elif filters.in_stock is False:
        clauses.append("p.stock <= 0")
    for name, value in filters.attributes.items():
        clauses.append("lower(p.attributes ->> %s) = lower(%s)")
        params += [name, value]
    return (" AND " + " AND ".join(clauses)) if clauses else "", params


def synonym_rules(store: Store) -> list[SynonymRule]:
    rules = []
    for row in SearchSynonym.objects.for_store(store).values_list("terms", flat=True):
        try:
            rules.append(synonym_rule_parse(row))
        except ValueError:
            continue  # saved before a rule change; the form never writes one
    return rules


def _tsquery_sql(groups: list[list[str]], joiner: str) -> tuple[str, list]:
    """A tsquery expression: each group is a word OR its synonyms; groups joined by `joiner` (&& or ||)."""
    parts, params = [], []
    for group in groups:
        alternatives = []
        for term in group:
            alternatives.append("phraseto_tsquery('english', %s)" if " " in term else "plainto_tsquery('english', %s)")
            params.append(term)
        parts.append("(" + " || ".join(alternatives) + ")")
    return "(" + f" {joiner} ".join(parts) + ")", params


def _query_groups(query: str, rules: list[SynonymRule]) -> list[list[str]]:
    words = [t for t in tokens(query) if t not in STOP_WORDS] or tokens(query)
    groups = [[w] for w in words]
    padded = f" {' '.join(tokens(query))} "
    for rule in rules:
        for source in rule.sources:
            if f" {source} " in padded:
                first = source.split()[0]
                for group in groups:
                    if group[0] == first:
                        group.extend(t for t in rule.targets if t not in group)
    return groups


def lexical_ids(store: Store, query: str, filters: SearchFilters, *, rules: list[SynonymRule] | None = None,
                limit: int = CANDIDATES) -> list[int]:
    """Full-text ranking: ts_rank of the OR query, plus 1 when every word (or one of its synonyms) is present."""
    return [pid for pid, _ in lexical_matches(store, query, filters, rules=rules, limit=limit)]


def lexical_matches(store: Store, query: str, filters: SearchFilters, *, rules: list[SynonymRule] | None = None,
                    limit: int = CANDIDATES, partial_cap: int | None = None) -> list[tuple[int, bool]]:
    """(product id, has every word) best first, by ts_rank of the OR query plus 1 for having every word (or one
    of its synonyms or spelling corrections)."""
    groups = _query_groups(query, rules or [])
    if not groups:
        return []
    any_sql, any_params = _tsquery_sql(groups, "||")
    all_sql, all_params = _tsquery_sql(groups, "&&")
    where, where_params = _where(filters)
    base = "FROM search_searchdocument d JOIN ecomops_product p ON p.id = d.product_id"
    # Products with every word rank first; they are found by the selective AND query through the GIN index.
    # Only when they do not fill the list are the rest (any word) ranked: ts_rank over every product that has
    # one common word ("black") is the expensive part, and most multi-word queries never need it.
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT d.product_id {base}, (SELECT {all_sql} AS q) q
            WHERE d.store_id = %s AND d.tsv @@ q.q {where}
            ORDER BY ts_rank(d.tsv, q.q) DESC, d.product_id LIMIT %s""",
            [*all_params, store.pk, *where_params, limit])
        complete = [(row[0], True) for row in cursor.fetchall()]
        if len(complete) >= limit or len(groups) == 1:
            return complete
        # A query with a common word ("black", "women") has thousands of partial matches; ours ranks at most
        # `partial_cap` of them (the vector list covers partial matches by meaning), the lexical baseline all.
        capped = f"LIMIT {int(partial_cap)}" if partial_cap else ""
        cursor.execute(f"""
            SELECT s.product_id FROM (
                SELECT d.product_id, d.tsv, q.anyq {base}, (SELECT {any_sql} AS anyq, {all_sql} AS allq) q
                WHERE d.store_id = %s AND d.tsv @@ q.anyq AND NOT (d.tsv @@ q.allq) {where} {capped}) s
            ORDER BY ts_rank(s.tsv, s.anyq) DESC, s.product_id LIMIT %s""",
            [*any_params, *all_params, store.pk, *where_params, limit - len(complete)])
        return complete + [(row[0], False) for row in cursor.fetchall()]


def trigram_ids(store: Store, query: str, filters: SearchFilters, *, limit: int = CANDIDATES) -> list[int]:
    """Products whose title, brand or category contains a stretch similar to the query (typos, run-together words)."""
    text = " ".join(tokens(query))
    if len(text) < 3:
        return []
    where, where_params = _where(filters)
    sql = f"""
        SELECT d.product_id
        FROM search_searchdocument d JOIN ecomops_product p ON p.id = d.product_id
        WHERE d.store_id = %s AND %s <%% d.title_text {where}
        ORDER BY word_similarity(%s, d.title_text) DESC, d.product_id
        LIMIT %s"""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pg_trgm.word_similarity_threshold', %s, false)", [str(TRIGRAM_THRESHOLD)])
        cursor.execute(sql, [store.pk, text, *where_params, text, limit])
        return [row[0] for row in cursor.fetchall()]


# --- the per-process vector matrix ---------------------------------------------------------------------------

_vector_lock = threading.Lock()
_vector_cache: dict[int, tuple[int, VectorIndex, frozenset[str]]] = {}


def index_version(store: Store) -> int:
    return SearchIndexState.objects.filter(store=store).values_list("version", flat=True).first() or 0


_current: contextvars.ContextVar[tuple[int, VectorIndex, frozenset[str]] | None] = contextvars.ContextVar(
    "search_loaded_index", default=None)


def _loaded_index(store: Store) -> tuple[VectorIndex, frozenset[str]]:
    """The store's vectors and vocabulary, loaded once per index version per process; within one search_products
    call the version is read once (one round trip, not one per list)."""
    current = _current.get()
    if current is not None and current[0] == store.pk:
        return current[1], current[2]
    version = index_version(store)
    hit = _vector_cache.get(store.pk)
    if hit is not None and hit[0] == version:
        return hit[1], hit[2]
    with _vector_lock:
        hit = _vector_cache.get(store.pk)
        if hit is not None and hit[0] == version:
            return hit[1], hit[2]
        rows = list(SearchDocument.objects.for_store(store).values_list("product_id", "embedding", "title_text",
                                                                        "meta_text"))
        index = VectorIndex.from_rows([(row[0], row[1]) for row in rows], embedder.EMBEDDING_DIM)
        vocabulary = Vocabulary(w for row in rows for text in row[2:] for w in tokens(text)
                               if len(w) >= 3 and not w.isdigit())
        _vector_cache[store.pk] = (version, index, vocabulary)
        return index, vocabulary


_EMBED_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="search-embed")


def vector_cache_clear() -> None:
    with _vector_lock:
        _vector_cache.clear()


def _allowed_ids(store: Store, filters: SearchFilters) -> np.ndarray | None:
    if filters.is_empty:
        return None
    where, params = _where(filters)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT p.id FROM ecomops_product p WHERE p.store_id = %s {where}", [store.pk, *params])
        return np.fromiter((row[0] for row in cursor.fetchall()), dtype=np.int64)


def _filtered_among(store: Store, ids: list[int], filters: SearchFilters) -> set[int]:
    where, params = _where(filters)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT p.id FROM ecomops_product p WHERE p.store_id = %s AND p.id = ANY(%s) {where}",
                       [store.pk, ids, *params])
        return {row[0] for row in cursor.fetchall()}


def vector_ids(store: Store, query: str, filters: SearchFilters, *, limit: int = CANDIDATES,
               min_score: float = VECTOR_MIN_SCORE) -> list[int]:
    """The `limit` products nearest to the query among those passing the filters (exact, not approximate).

    With filters, the nearest VECTOR_PROBE products of the whole store are checked against them first: when at
    least `limit` pass (or the probe already reaches below min_score), those are exactly the filtered top, since
    every product outside the probe is farther than all inside it. Only otherwise are all passing ids fetched."""
    index, _ = _loaded_index(store)
    if len(index) == 0:
        return []
    vector = embedder.embed_one(query)
    if filters.is_empty:
        return [pid for pid, _ in index.search(vector, top=limit, min_score=min_score)]
    probe = index.search(vector, top=VECTOR_PROBE, min_score=min_score)
    passing = _filtered_among(store, [pid for pid, _ in probe], filters)
    kept = [pid for pid, _ in probe if pid in passing]
    if len(kept) >= limit or len(probe) < min(VECTOR_PROBE, len(index)):
        return kept[:limit]
    return [pid for pid, _ in index.search(vector, top=limit, allowed=_allowed_ids(store, filters),
                                           min_score=min_score)]


def _closest_words(word: str, vocabulary: frozenset[str], n: int = 1) -> list[str]:
    """Catalogue words within difflib ratio FUZZY_CUTOFF, among those of nearly the same length that share the
    first or the second letter (a typo rarely changes both): a fraction of the vocabulary per lookup."""
    if word in vocabulary or word in STOP_WORDS or len(word) < 4 or any(ch.isdigit() for ch in word):
        return []
    candidates = [w for w in _vocabulary_buckets(vocabulary).get(word[0], ()) if abs(len(w) - len(word)) <= 2]
    candidates += [w for w in _vocabulary_buckets(vocabulary).get("_" + word[1], ())
                   if abs(len(w) - len(word)) <= 2 and w[0] != word[0]]
    return difflib.get_close_matches(word, candidates, n=n, cutoff=FUZZY_CUTOFF)


class Vocabulary(frozenset):
    """A store's words, with lookup buckets by first and by second letter (built once per index version)."""

    @property
    def buckets(self) -> dict[str, list[str]]:
        buckets = self.__dict__.get("_buckets")
        if buckets is None:
            buckets = {}
            for w in sorted(self):
                buckets.setdefault(w[0], []).append(w)
                if len(w) > 1:
                    buckets.setdefault("_" + w[1], []).append(w)
            self.__dict__["_buckets"] = buckets
        return buckets


def _vocabulary_buckets(vocabulary: frozenset[str]) -> dict[str, list[str]]:
    return vocabulary.buckets if isinstance(vocabulary, Vocabulary) else Vocabulary(vocabulary).buckets


def fuzzy_rules(store: Store, query: str) -> list[SynonymRule]:
    """For each query word the catalogue does not contain, the closest catalogue words as alternatives
    ('headphnes' -> 'headphones'), as one-way rules the lexical list applies like synonyms."""
    _, vocabulary = _loaded_index(store)
    rules = []
    for word in tokens(query):
        close = _closest_words(word, vocabulary, n=2)
        if close:
            rules.append(SynonymRule(sources=(word,), targets=tuple(close)))
    return rules


def did_you_mean(store: Store, query: str) -> str:
    """The query with each word the catalogue does not know replaced by the closest word it does, or ''."""
    _, vocabulary = _loaded_index(store)
    if not vocabulary:
        return ""
    words = tokens(query)
    changed = False
    out = []
    for word in words:
        close = _closest_words(word, vocabulary)
        if close:
            out.append(close[0])
            changed = True
        else:
            out.append(word)
    return " ".join(out) if changed else ""


def search_products(store: Store, query: str, *, filters: SearchFilters | None = None, limit: int = CANDIDATES,
                    suggest: bool = True) -> SearchResult:
    """Hybrid search: product ids best first (at most `limit`), the terms to highlight, and a spelling suggestion
    when the query found fewer than DID_YOU_MEAN_BELOW products."""
    filters = filters or SearchFilters()
    query = normalise_query(query)
    timings: dict[str, float] = {}
    if not tokens(query):
        return SearchResult(query=query, product_ids=[], terms=[])
    token = _current.set((store.pk, *_loaded_index(store)))
    try:
        return _search(store, query, filters, limit=limit, suggest=suggest, timings=timings)
    finally:
        _current.reset(token)


def _search(store: Store, query: str, filters: SearchFilters, *, limit: int, suggest: bool,
            timings: dict[str, float]) -> SearchResult:
    rules = synonym_rules(store)
    expansions = synonym_expansions(query, rules)
    semantic_query = query if not expansions else f"{query} ({', '.join(expansions)})"
    # The query's vector is computed in a thread while PostgreSQL ranks the lexical lists (torch releases the GIL):
    # on two cores the embedding (~16 CPU ms) and the full-text query then overlap instead of adding up.
    embedding = _EMBED_POOL.submit(embedder.embed_one, semantic_query) if len(_loaded_index(store)[0]) else None
    started = time.perf_counter()
    corrections = fuzzy_rules(store, query)
    timings["fuzzy"] = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    matches = lexical_matches(store, query, filters, rules=[*rules, *corrections], partial_cap=PARTIAL_CAP)
    lexical = [pid for pid, _ in matches]
    complete = {pid for pid, has_all in matches if has_all}
    timings["lexical"] = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    # The trigram list is the typo fallback for words neither the catalogue's vocabulary nor its close spellings
    # explain (run-together words, "parkavenue"): when every word is known or corrected, full text has them all
    # and trigram neighbours ("linen" -> the brand "Loom & Linen") only add noise and time.
    _, vocabulary = _loaded_index(store)
    corrected_words = {rule.sources[0] for rule in corrections}
    unexplained = [w for w in tokens(query) if w not in vocabulary and w not in STOP_WORDS and not w.isdigit()
                   and w not in corrected_words]
    typo = trigram_ids(store, query, filters) if unexplained else []
    timings["trigram"] = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    if embedding is not None:
        embedding.result()  # now in the embedder's cache, which vector_ids reads
    semantic = vector_ids(store, semantic_query, filters)
    timings["vector"] = (time.perf_counter() - started) * 1000
    # Products that contain every word of the query (or a synonym or correction of it) come first, in fused
    # order; then the rest in fused order. Without this tier a vector neighbour ("t-shirt" for "shirt") can
    # outrank a product that has every word the shopper typed.
    fused_all = [pid for pid, _ in reciprocal_rank_fusion([lexical, typo, semantic])]
    fused = ([pid for pid in fused_all if pid in complete] + [pid for pid in fused_all if pid not in complete])[:limit]
    suggestion = did_you_mean(store, query) if suggest and len(fused) < DID_YOU_MEAN_BELOW else ""
    corrected = [t for rule in corrections for t in rule.targets[:1]]
    return SearchResult(query=query, product_ids=fused, terms=[*tokens(query), *expansions, *corrected],
                        did_you_mean=suggestion, timings_ms=timings)


def lexical_only_ids(store: Store, query: str, *, filters: SearchFilters | None = None, limit: int = CANDIDATES) -> list[int]:
    """The baseline: full-text ranking alone (no synonyms, no trigram, no vectors)."""
    return lexical_ids(store, normalise_query(query), filters or SearchFilters(), limit=limit)


def substring_ids(store: Store, query: str, *, limit: int = CANDIDATES) -> list[int]:
    """The catalog page's search before this app: icontains on title, SKU or brand, ordered by title."""
    q = query.strip()
    return list(
        Product.objects.for_store(store)
        .filter(Q(title__icontains=q) | Q(sku__icontains=q) | Q(brand__icontains=q))
        .order_by("title", "sku").values_list("pk", flat=True)[:limit]
    )


def products_in_order(store: Store, ids: list[int]) -> list[Product]:
    """The products with these ids, in this order; ids of another store or of deleted products are dropped."""
    found = {p.pk: p for p in Product.objects.for_store(store).filter(pk__in=ids)}
    return [found[i] for i in ids if i in found]


# --- index state and analytics ----------------------------------------------------------------------------------


def index_status(store: Store) -> dict:
    docs = SearchDocument.objects.for_store(store)
    state = SearchIndexState.objects.filter(store=store).first()
    embedded = docs.exclude(embedded_hash="").filter(embedding__isnull=False).count()
    return {
        "products": Product.objects.for_store(store).count(),
        "documents": docs.count(),
        "embedded": embedded,
        "version": state.version if state else 0,
        "indexed_at": state.indexed_at if state else None,
        "built": state is not None,
    }


def top_queries(store: Store, *, days: int = 30, limit: int = 20, source: str = SearchSource.STOREFRONT) -> list[dict]:
    since = timezone.now() - timedelta(days=days)
    return list(
        SearchEvent.objects.for_store(store).filter(created_at__gte=since, source=source)
        .values("query").annotate(searches=Count("id"), last=Max("created_at"))
        .order_by("-searches", "query")[:limit]
    )


def zero_result_queries(store: Store, *, days: int = 30, limit: int = 20,
                        source: str = SearchSource.STOREFRONT) -> list[dict]:
    since = timezone.now() - timedelta(days=days)
    return list(
        SearchEvent.objects.for_store(store).filter(created_at__gte=since, source=source, results=0)
        .values("query").annotate(searches=Count("id"), last=Max("created_at"))
        .order_by("-searches", "-last")[:limit]
    )
