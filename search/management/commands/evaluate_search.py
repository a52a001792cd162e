"""Evaluate search on a judged query set: ours (hybrid) vs lexical-only vs substring, nDCG@10 and recall@10.

    manage.py evaluate_search --catalog CSV --queries CSV [--format plain|myntra] [--limit N] [--json PATH]
    manage.py evaluate_search --store SLUG --queries CSV [--json PATH]

--catalog loads the file into a scratch store (deleted afterwards); --store evaluates an existing store (its index
is brought up to date first). Catalogue columns (plain): title, category, optional brand, description, attributes
(a JSON object), price. --format myntra reads the Myntra catalogue's own columns. Query columns: query, relevant
(titles separated by |), optional kind. Vectors of the catalogue's texts are cached under var/cache/ by text hash.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ecomops.models import Product, Store
from ecomops.services.ingest import tables_analyse
from search.evaluation import (
    FORMATS,
    EvaluationInputError,
    catalog_load,
    evaluate,
    queries_load,
    scratch_store_create,
    table,
)
from search.models import SearchDocument
from search.services import search_reindex


class Command(BaseCommand):
    help = "nDCG@10 / recall@10 of hybrid search vs lexical-only vs substring on a judged query set."

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--catalog", type=Path, help="Catalogue CSV, loaded into a scratch store")
        source.add_argument("--store", help="Evaluate this existing store instead")
        parser.add_argument("--queries", type=Path, required=True, help="Judged queries CSV (query, relevant)")
        parser.add_argument("--format", choices=FORMATS, default="plain", help="Catalogue columns (default plain)")
        parser.add_argument("--limit", type=int, default=None, help="Only the first N catalogue rows")
        parser.add_argument("--json", type=Path, default=None, help="Write the results here")
        parser.add_argument("--keep", action="store_true", help="Keep the scratch store (for a look in the dashboard)")

    def handle(self, *args, **o):
        quiet = o["verbosity"] < 1
        if o["limit"] is not None and o["limit"] < 1:
            raise CommandError("--limit must be 1 or more.")
        try:
            queries = queries_load(o["queries"])
            rows = catalog_load(o["catalog"], fmt=o["format"], limit=o["limit"]) if o["catalog"] else None
        except EvaluationInputError as exc:
            raise CommandError(str(exc)) from None
        if rows is not None:
            store = scratch_store_create(rows)
        else:
            store = Store.objects.filter(slug=o["store"]).first()
            if store is None:
                raise CommandError(f"No store with slug {o['store']!r}.")
        try:
            bar = tqdm(total=100, desc="index", unit="%", disable=quiet)

            def progress(pct: int, message: str) -> None:
                bar.update(max(0, pct - bar.n))
                bar.set_postfix_str(message[-50:])

            cache = Path(settings.BASE_DIR) / "var" / "cache" / "search-eval-embeddings.npz"
            search_reindex(store=store, on_progress=progress, cache_file=cache)
            bar.close()
            tables_analyse([Product, SearchDocument])  # the planner's row counts after a bulk load
            qbar = tqdm(total=len(queries), desc="queries", disable=quiet)
            try:
                result = evaluate(store, queries, on_query=lambda n: qbar.update(n - qbar.n))
            except EvaluationInputError as exc:
                raise CommandError(str(exc)) from None
            finally:
                qbar.close()
        finally:
            if rows is not None and not o["keep"]:
                store.delete()
        result["catalog"] = str(o["catalog"]) if o["catalog"] else f"store:{o['store']}"
        result["queries_file"] = str(o["queries"])
        self.stdout.write(table(result))
        if result["unknown_titles"]:
            self.stderr.write(f"{len(result['unknown_titles'])} relevant title(s) are not in the catalogue, e.g. "
                              f"{result['unknown_titles'][0]!r}; {result['skipped_queries']} queries skipped.")
        if o["json"]:
            o["json"].parent.mkdir(parents=True, exist_ok=True)
            o["json"].write_text(json.dumps(result, indent=2, default=str))
            self.stdout.write(f"Wrote {o['json']}")
