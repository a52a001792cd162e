"""The search evaluation behind `manage.py evaluate_search`: load a catalogue into a scratch store, index it, run a
judged query set through ours, lexical-only and substring search, and score nDCG@10 / recall@10."""

from __future__ import annotations

import csv
import json
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction

from ecomops.models import Product, Store
from ecomops.services.ingest import tables_analyse
from search.ml.metrics import capped_recall_at_k, ndcg_at_k, percentile, recall_at_k
from search.ml.text import normalise
from search.selectors import lexical_only_ids, search_products, substring_ids

FORMATS = ("plain", "myntra")
MODES = ("ours", "lexical", "substring")
K = 10


class EvaluationInputError(ValueError):
    """A file the evaluation cannot read; the message names the file and the line."""


@dataclass
class CatalogRow:
    title: str
    category: str = ""
    brand: str = ""
    description: str = ""
    attributes: dict = field(default_factory=dict)
    price: Decimal = Decimal("0")


@dataclass
class JudgedQuery:
    query: str
    relevant: set[str]
    kind: str = ""


def _open_csv(path: Path):
    if not path.exists():
        raise EvaluationInputError(f"{path}: no such file.")
    return path.open(newline="", encoding="utf-8-sig")


def catalog_load(path: Path, *, fmt: str = "plain", limit: int | None = None) -> list[CatalogRow]:
    """Rows of a catalogue CSV. plain: title, category, optional brand, description, attributes (JSON object),
    price. myntra: the Myntra catalogue's own columns (Product_Name, Product_Brand, Gender, Price, Description,
    Primary_Color), mapped to title, brand, category (the gender line), attributes {colour, gender}."""
    if fmt not in FORMATS:
        raise EvaluationInputError(f"Unknown catalogue format {fmt!r}; use one of {', '.join(FORMATS)}.")
    rows: list[CatalogRow] = []
    with _open_csv(path) as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or []) if h]
        needed = ("title", "category") if fmt == "plain" else ("Product_Name", "Product_Brand", "Gender")
        missing = [c for c in needed if c not in header]
        if missing:
            raise EvaluationInputError(f"{path}: missing column(s) {', '.join(missing)}; the header is {header}.")
        for row in reader:
            line = reader.line_num
            if limit is not None and len(rows) >= limit:
                break
            row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k}
            rows.append(_myntra_row(row, path, line) if fmt == "myntra" else _plain_row(row, path, line))
    if not rows:
        raise EvaluationInputError(f"{path}: no products.")
    return rows


def _price(text: str, path: Path, line: int) -> Decimal:
    if not text:
        return Decimal("0")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise EvaluationInputError(f"{path}, line {line}: price {text[:30]!r} is not a number.") from None
    if value < 0 or not value.is_finite():
        raise EvaluationInputError(f"{path}, line {line}: price {text[:30]!r} must be 0 or more.")
    return value.quantize(Decimal("0.01"))


def _plain_row(row: dict, path: Path, line: int) -> CatalogRow:
    if not row.get("title"):
        raise EvaluationInputError(f"{path}, line {line}: empty title.")
    attributes: dict = {}
    if row.get("attributes"):
        try:
            attributes = json.loads(row["attributes"])
        except json.JSONDecodeError as exc:
            raise EvaluationInputError(f"{path}, line {line}: attributes is not JSON ({exc.msg}).") from None
        if not isinstance(attributes, dict):
            raise EvaluationInputError(f"{path}, line {line}: attributes must be a JSON object.")
    return CatalogRow(title=row["title"][:300], category=row.get("category", "")[:300], brand=row.get("brand", "")[:200],
                      description=row.get("description", ""), attributes=attributes,
                      price=_price(row.get("price", ""), path, line))


def _myntra_row(row: dict, path: Path, line: int) -> CatalogRow:
    if not row.get("Product_Name"):
        raise EvaluationInputError(f"{path}, line {line}: empty Product_Name.")
    attributes = {k: v for k, v in (("colour", row.get("Primary_Color", "")), ("gender", row.get("Gender", ""))) if v}
    return CatalogRow(title=row["Product_Name"][:300], category=row.get("Gender", "")[:300],
                      brand=row.get("Product_Brand", "")[:200], description=row.get("Description", ""),
                      attributes=attributes, price=_price(row.get("Price", ""), path, line))


def queries_load(path: Path) -> list[JudgedQuery]:
    """Rows of a query CSV: query, relevant (titles separated by |), optional kind (for a per-kind breakdown)."""
    out = []
    with _open_csv(path) as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or []) if h]
        missing = [c for c in ("query", "relevant") if c not in header]
        if missing:
            raise EvaluationInputError(f"{path}: missing column(s) {', '.join(missing)}; the header is {header}.")
        for row in reader:
            query = (row.get("query") or "").strip()
            relevant = {t.strip() for t in (row.get("relevant") or "").split("|") if t.strip()}
            if not query:
                raise EvaluationInputError(f"{path}, line {reader.line_num}: empty query.")
            if not relevant:
                raise EvaluationInputError(f"{path}, line {reader.line_num}: query {query!r} has no relevant titles.")
            out.append(JudgedQuery(query=query, relevant=relevant, kind=(row.get("kind") or "").strip()))
    if not out:
        raise EvaluationInputError(f"{path}: no queries.")
    return out


def scratch_store_create(rows: list[CatalogRow]) -> Store:
    store = Store.objects.create(name="Search evaluation (scratch)", slug=f"search-eval-{uuid.uuid4().hex[:10]}")
    with transaction.atomic():
        Product.objects.bulk_create([
            Product(store=store, sku=f"EVAL-{i:06d}", title=r.title, brand=r.brand, category=r.category,
                    description=r.description, attributes=r.attributes, price=r.price, stock=10)
            for i, r in enumerate(rows)
        ], batch_size=2000)
    tables_analyse([Product])
    return store


def _title_key(title: str) -> str:
    return normalise(title)


def evaluate(store: Store, queries: list[JudgedQuery], *, on_query: Callable[[int], None] | None = None) -> dict:
    """Run every query through the three searches; metrics per mode (and per query kind) plus latencies."""
    titles: dict[int, str] = {}
    count_by_title: dict[str, int] = defaultdict(int)
    for pk, title in Product.objects.for_store(store).values_list("pk", "title"):
        key = _title_key(title)
        titles[pk] = key
        count_by_title[key] += 1
    runners = {
        "ours": lambda q: search_products(store, q, limit=K, suggest=False).product_ids,
        "lexical": lambda q: lexical_only_ids(store, q, limit=K),
        "substring": lambda q: substring_ids(store, q, limit=K),
    }
    # One warm-up query per mode: the first one loads MiniLM and the store's vector matrix.
    for run in runners.values():
        run(queries[0].query)
    per_query, unknown, skipped = [], [], 0
    latencies: dict[str, list[float]] = {m: [] for m in MODES}
    for index, judged in enumerate(queries):
        relevant = {_title_key(t) for t in judged.relevant}
        unknown.extend(sorted(t for t in judged.relevant if _title_key(t) not in count_by_title))
        n_relevant = sum(count_by_title.get(t, 0) for t in relevant)
        if n_relevant == 0:
            skipped += 1
            continue
        entry = {"query": judged.query, "kind": judged.kind, "n_relevant": n_relevant}
        for mode, run in runners.items():
            started = time.perf_counter()
            ids = run(judged.query)
            latencies[mode].append((time.perf_counter() - started) * 1000)
            hits = [titles.get(pid) in relevant for pid in ids[:K]]
            entry[mode] = {"ndcg_10": ndcg_at_k(hits, n_relevant, K), "recall_10": recall_at_k(hits, n_relevant, K),
                           "recall_cap_10": capped_recall_at_k(hits, n_relevant, K),
                           "top3": [titles.get(pid, "") for pid in ids[:3]]}
        per_query.append(entry)
        if on_query:
            on_query(index + 1)
    if not per_query:
        raise EvaluationInputError("None of the queries has a relevant title in the catalogue.")

    def summary(entries: list[dict], mode: str) -> dict:
        n = len(entries)
        return {metric: round(sum(e[mode][metric] for e in entries) / n, 4)
                for metric in ("ndcg_10", "recall_10", "recall_cap_10")}

    result: dict = {"n_queries": len(per_query), "n_products": len(titles), "skipped_queries": skipped,
                    "unknown_titles": unknown[:50], "k": K}
    for mode in MODES:
        result[mode] = {**summary(per_query, mode),
                        "latency_p50_ms": round(percentile(latencies[mode], 50), 2),
                        "latency_p95_ms": round(percentile(latencies[mode], 95), 2)}
    lexical_ndcg = result["lexical"]["ndcg_10"]
    result["ours_over_lexical_ndcg"] = round(result["ours"]["ndcg_10"] / lexical_ndcg, 3) if lexical_ndcg else None
    kinds = sorted({e["kind"] for e in per_query if e["kind"]})
    result["by_kind"] = {kind: {"n": len([e for e in per_query if e["kind"] == kind]),
                                **{mode: summary([e for e in per_query if e["kind"] == kind], mode)["ndcg_10"]
                                   for mode in MODES}} for kind in kinds}
    result["queries"] = per_query
    return result


def table(result: dict) -> str:
    lines = [f"{result['n_queries']} queries over {result['n_products']:,} products (k = {result['k']})", "",
             f"{'search':<11}{'nDCG@10':>9}{'recall@10':>11}{'R_cap@10':>10}{'p50 ms':>9}{'p95 ms':>9}"]
    for mode in MODES:
        r = result[mode]
        lines.append(f"{mode:<11}{r['ndcg_10']:>9.3f}{r['recall_10']:>11.3f}{r['recall_cap_10']:>10.3f}"
                     f"{r['latency_p50_ms']:>9.1f}{r['latency_p95_ms']:>9.1f}")
    if result.get("ours_over_lexical_ndcg") is not None:
        lines.append(f"\nours / lexical nDCG@10: {result['ours_over_lexical_ndcg']:.2f}x")
    if result.get("by_kind"):
        lines += ["", f"{'kind':<12}{'n':>4}" + "".join(f"{m:>11}" for m in MODES)]
        for kind, row in result["by_kind"].items():
            lines.append(f"{kind:<12}{row['n']:>4}" + "".join(f"{row[m]:>11.3f}" for m in MODES))
    return "\n".join(lines)
