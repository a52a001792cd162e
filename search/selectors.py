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
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import numpy as np
from django.db import connection
from django.db.models import BinaryField, Count, Max, Q, Value
from django.utils import timezone

from ecomops.ml import embedder
from ecomops.models import Product, ProductStatus, Store
from search import pgvector
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


_LEXEME_CACHE: dict[str, tuple[str, ...]] = {}
_LEXEME_CACHE_SIZE = 20_000


def _term_lexemes(terms: list[str]) -> dict[str, tuple[str, ...]]:
    """Each term's full-text lexemes under the english configuration (PostgreSQL's own stemmer, so they match the
    tsvectors); one round trip for the terms this process has not seen yet."""
    missing = sorted({t for t in terms if t not in _LEXEME_CACHE})
    if missing:
        with connection.cursor() as cursor:
            cursor.execute("SELECT u.t, tsvector_to_array(to_tsvector('english', u.t)) FROM unnest(%s::text[]) AS u(t)",
                           [missing])
            found = {term: tuple(lexemes) for term, lexemes in cursor.fetchall()}
        if len(_LEXEME_CACHE) > _LEXEME_CACHE_SIZE:
            _LEXEME_CACHE.clear()
        _LEXEME_CACHE.update(found)
    return {t: _LEXEME_CACHE.get(t, ()) for t in terms}


def group_weights(store: Store, groups: list[list[str]]) -> list[tuple[int, float]]:
    """(document frequency, IDF) of each query word group: a group matches a document when any of its
    alternatives does, so its frequency is its most frequent alternative's; a phrase's is its rarest word's."""
    loaded = loaded_index(store)
    lexemes = _term_lexemes([t for group in groups for t in group])
    weights = []
    for group in groups:
        df = max((min((loaded.doc_freq.get(lex, 0) for lex in lexemes[t]), default=0) for t in group), default=0)
        weights.append((df, loaded.idf(df)))
    return weights


class Tier:
    """How much of the query a lexical match has: every word in the product's own fields (title, brand, category,
    attributes), every word but some only in its description, or some words."""
    NAMED = 2
    DESCRIBED = 1
    PARTIAL = 0


def _complete_matches(cursor, cte: str, params: list, rank: str, base: str, where: str, where_params: list,
                      limit: int) -> list[tuple[int, int]]:
    """The products with every word, named ones first, by the IDF score (found through the GIN index)."""
    cursor.execute(f"""{cte}
        SELECT d.product_id, ts_filter(d.tsv, '{{a,b}}') @@ q.allq AS named {base}
        WHERE d.store_id = %s AND d.tsv @@ q.allq {where}
        ORDER BY named DESC, {rank.format(tsv="d.tsv")} DESC, d.product_id LIMIT %s""",
        [*params, *where_params, limit])
    return [(row[0], Tier.NAMED if row[1] else Tier.DESCRIBED) for row in cursor.fetchall()]


def lexical_matches(store: Store, query: str, filters: SearchFilters, *, rules: list[SynonymRule] | None = None,
                    limit: int = CANDIDATES, partial_cap: int | None = None, partial: bool = True,
                    complete: list[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
    """(product id, Tier) best first: products with every word (or a synonym or spelling correction of it) in
    their own fields, then with every word counting the description, then with some words. Within a tier the
    score is BM25-style: the sum over the query's words of the word's IDF in this store times ts_rank of that
    word (which weighs where it occurs: title and brand over category and attributes over description). Without
    the IDF, "earbuds black" ranked every black phone stand level with the other earbuds. The first tier keeps
    products that carry every word in their name, brand, category or attributes ahead of those whose description
    supplies a word.

    `partial=False` returns the products with every word only; `complete` passes those back in (from an earlier
    call with the same arguments) so that only the partial tier is queried."""
    groups = _query_groups(query, rules or [])
    if not groups:
        return []
    weights = group_weights(store, groups)
    columns, params = [], []
    for i, group in enumerate(groups):
        sql, group_params = _tsquery_sql([group], "||")
        columns.append(f"{sql} AS g{i}")
        params += group_params
    names = [f"g{i}" for i in range(len(groups))]
    # Groups common enough to match more than `partial_cap` documents are the expensive part of the partial tier.
    rare = [n for n, (df, _) in zip(names, weights, strict=True) if partial_cap is None or df <= partial_cap]
    common = [n for n in names if n not in rare]
    empty = "''::tsquery"
    cte = f"""WITH q AS MATERIALIZED (
        SELECT {", ".join(names)}, {" || ".join(names)} AS anyq, {" && ".join(names)} AS allq,
               {" || ".join(rare) or empty} AS rareq, {" || ".join(common) or empty} AS commonq
        FROM (SELECT {", ".join(columns)}) s)"""
    rank = " + ".join(f"{idf!r} * ts_rank({{tsv}}, q.{n})" for n, (_, idf) in zip(names, weights, strict=True))
    where, where_params = _where(filters)
    base = "FROM search_searchdocument d JOIN ecomops_product p ON p.id = d.product_id CROSS JOIN q"
    # Products with every word are found by the selective AND query through the GIN index. Only when they do not
    # fill the list are the rest (any word) ranked.
    with connection.cursor() as cursor:
        if complete is None:
            complete = _complete_matches(cursor, cte, params, rank, base, where, [store.pk, *where_params], limit)
        if len(complete) >= limit or len(groups) == 1 or not partial:
            return complete
        # A common word ("black", "women") has thousands of partial matches. Every product with a rarer word is
        # ranked; of those with only common words ours ranks at most `partial_cap` (their IDF puts them last, and
        # the vector list covers partial matches by meaning); the lexical baseline ranks all.
        branches, branch_params = [], []
        if rare:
            branches.append(f"""SELECT d.product_id, d.tsv {base}
            WHERE d.store_id = %s AND d.tsv @@ q.rareq AND NOT (d.tsv @@ q.allq) {where}""")
            branch_params += [store.pk, *where_params]
        if common:
            branches.append(f"""(SELECT d.product_id, d.tsv {base}
            WHERE d.store_id = %s AND d.tsv @@ q.commonq AND NOT (d.tsv @@ q.rareq) AND NOT (d.tsv @@ q.allq)
                  {where} LIMIT {int(partial_cap)})""")
            branch_params += [store.pk, *where_params]
        cursor.execute(f"""{cte}
            SELECT s.product_id FROM ({" UNION ALL ".join(branches)}) s CROSS JOIN q
            ORDER BY {rank.format(tsv="s.tsv")} DESC, s.product_id LIMIT %s""",
            [*params, *branch_params, limit - len(complete)])
        return complete + [(row[0], Tier.PARTIAL) for row in cursor.fetchall()]


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


# --- the per-process index: vectors, vocabulary, term statistics ---------------------------------------------


@dataclass(frozen=True)
class LoadedIndex:
    """What each process keeps per store and index version: the vector matrix, the catalogue's words (spelling
    corrections) and how many documents contain each full-text lexeme (the IDF of the lexical ranking)."""

    version: int
    vectors: VectorIndex
    vocabulary: frozenset[str]
    doc_freq: dict[str, int]
    n_docs: int
    embedded: int = 0  # documents with a vector
    in_sql: bool = False  # vectors searched by pgvector in PostgreSQL (search/pgvector.py), not in `vectors`

    def idf(self, df: int) -> float:
        """BM25's inverse document frequency (Robertson & Zaragoza 2009): ln(1 + (N - df + 0.5) / (df + 0.5))."""
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))


_vector_lock = threading.Lock()
_vector_cache: dict[int, LoadedIndex] = {}


def index_version(store: Store) -> int:
    return SearchIndexState.objects.filter(store=store).values_list("version", flat=True).first() or 0


_current: contextvars.ContextVar[tuple[int, LoadedIndex] | None] = contextvars.ContextVar(
    "search_loaded_index", default=None)


def _document_frequencies(store: Store) -> dict[str, int]:
    """lexeme -> number of the store's documents containing it, from PostgreSQL's own ts_stat over the tsvectors
    (the same english stemming the queries use)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT word, ndoc FROM ts_stat(%s)",
                       [f"SELECT tsv FROM search_searchdocument WHERE store_id = {int(store.pk)} AND tsv IS NOT NULL"])
        return dict(cursor.fetchall())


def loaded_index(store: Store) -> LoadedIndex:
    """The store's vectors, vocabulary and term statistics, loaded once per index version per process; within one
    search_products call the version is read once (one round trip, not one per list)."""
    current = _current.get()
    if current is not None and current[0] == store.pk:
        return current[1]
    version = index_version(store)
    hit = _vector_cache.get(store.pk)
    if hit is not None and hit.version == version:
        return hit
    with _vector_lock:
        hit = _vector_cache.get(store.pk)
        if hit is not None and hit.version == version:
            return hit
        in_sql = pgvector.available()  # then the vectors stay in PostgreSQL and no matrix is kept here
        docs = SearchDocument.objects.for_store(store)
        rows = list(docs.values_list("product_id", Value(None, output_field=BinaryField()) if in_sql else "embedding",
                                     "title_text", "meta_text"))
        index = VectorIndex.from_rows([(row[0], row[1]) for row in rows], embedder.EMBEDDING_DIM)
        embedded = pgvector.embedded_count(store.pk) if in_sql else len(index)
        vocabulary = Vocabulary(w for row in rows for text in row[2:] for w in tokens(text)
                               if len(w) >= 3 and not w.isdigit())
        loaded = LoadedIndex(version=version, vectors=index, vocabulary=vocabulary,
                             doc_freq=_document_frequencies(store), n_docs=len(rows), embedded=embedded,
                             in_sql=in_sql)
        _vector_cache[store.pk] = loaded
        return loaded


def _loaded_index(store: Store) -> tuple[VectorIndex, frozenset[str]]:
    loaded = loaded_index(store)
    return loaded.vectors, loaded.vocabulary


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
    loaded = loaded_index(store)
    index = loaded.vectors
    if loaded.embedded == 0:
        return []
    vector = embedder.embed_one(query)
    if loaded.in_sql:
        where, params = _where(filters)
        return [pid for pid, _ in pgvector.nearest(store.pk, vector, where=where, params=params, limit=limit,
                                                   min_score=min_score)]
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


def _trigram_worth(word: str, vocabulary: frozenset[str]) -> bool:
    """Whether an unknown word may be two catalogue words run together ("parkavenue"): the one case the trigram list
    finds what full text and the spelling corrections cannot. Any other unknown word ("sweatshirt" in a store that
    sells sweaters, "co" of "stride co.") sent the whole query to pg_trgm, whose neighbours were noise ("footwear"
    -> "airwear") and took 30-80 ms on 50,000 products: demo nDCG@10 0.873 -> 0.886, Myntra 0.897 -> 0.902."""
    return any(word[:i] in vocabulary and word[i:] in vocabulary for i in range(3, len(word) - 2))


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
    token = _current.set((store.pk, loaded_index(store)))
    try:
        return _search(store, query, filters, limit=limit, suggest=suggest, timings=timings)
    finally:
        _current.reset(token)


def _search(store: Store, query: str, filters: SearchFilters, *, limit: int, suggest: bool,
            timings: dict[str, float]) -> SearchResult:
    rules = synonym_rules(store)
    expansions = synonym_expansions(query, rules)
    semantic_query = query if not expansions else f"{query} ({', '.join(expansions)})"
    started = time.perf_counter()
    corrections = fuzzy_rules(store, query)
    timings["fuzzy"] = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    complete = lexical_matches(store, query, filters, rules=[*rules, *corrections], partial=False)
    corrected = [t for rule in corrections for t in rule.targets[:1]]
    terms = [*tokens(query), *expansions, *corrected]
    if len(complete) >= limit:
        # The page is full of products with every word, and they rank ahead of everything the partial, trigram
        # and vector lists could add: those lists cannot change the answer, so they are not computed.
        timings["lexical"] = (time.perf_counter() - started) * 1000
        return SearchResult(query=query, product_ids=[pid for pid, _ in complete[:limit]], terms=terms,
                            timings_ms=timings)
    # The query's vector is computed in a thread while PostgreSQL ranks the partial matches (torch releases the
    # GIL): on two cores the embedding (~16 CPU ms) and the full-text query then overlap instead of adding up.
    embedding = _EMBED_POOL.submit(embedder.embed_one, semantic_query) if loaded_index(store).embedded else None
    matches = lexical_matches(store, query, filters, rules=[*rules, *corrections], partial_cap=PARTIAL_CAP,
                              complete=complete)
    lexical = [pid for pid, _ in matches]
    tier = dict(matches)
    timings["lexical"] = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    # The trigram list is the typo fallback for words neither the catalogue's vocabulary nor its close spellings
    # explain (run-together words, "parkavenue"): when every word is known or corrected, full text has them all
    # and trigram neighbours ("linen" -> the brand "Loom & Linen") only add noise and time.
    _, vocabulary = _loaded_index(store)
    corrected_words = {rule.sources[0] for rule in corrections}
    unexplained = [w for w in tokens(query) if w not in vocabulary and w not in STOP_WORDS and not w.isdigit()
                   and w not in corrected_words and _trigram_worth(w, vocabulary)]
    typo = trigram_ids(store, query, filters) if unexplained else []
    timings["trigram"] = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    if embedding is not None:
        embedding.result()  # now in the embedder's cache, which vector_ids reads
    semantic = vector_ids(store, semantic_query, filters)
    timings["vector"] = (time.perf_counter() - started) * 1000
    # Products that contain every word of the query (or a synonym or correction of it) in their own fields come
    # first, then those with every word counting their description, both in their lexical (IDF) order: among
    # products with every word the shopper typed, where the words occur and how rare they are decide, and a vector
    # neighbour ("t-shirt" for "park avenue shirt") does not reorder them (nDCG@10 on Myntra 0.888 -> 0.897, demo
    # unchanged). The rest follow in fused order: there meaning decides what the words could not.
    fused_all = [pid for pid, _ in reciprocal_rank_fusion([lexical, typo, semantic])]
    lexical_rank = {pid: i for i, pid in enumerate(lexical)}
    fused = sorted(fused_all, key=lambda pid: (-tier.get(pid, Tier.PARTIAL),
                                               lexical_rank[pid] if tier.get(pid, Tier.PARTIAL) else 0))[:limit]
    suggestion = did_you_mean(store, query) if suggest and len(fused) < DID_YOU_MEAN_BELOW else ""
    return SearchResult(query=query, product_ids=fused, terms=terms, did_you_mean=suggestion, timings_ms=timings)


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
