"""Evaluate category suggestion on a held-out 20% (split by product name): ours vs TF-IDF + linear SVM.

    manage.py evaluate_categories --csv PATH [--levels 2] [--limit N] [--category-columns Gender,title_type]
                                  [--target-precision 0.9] [--features embed|embed+tfidf] --json PATH
    manage.py evaluate_categories --store SLUG --json PATH

The CSV needs `title` and `category` (levels separated by `>` or `>>`), optional `description`, `brand`. A
catalogue without a category column names the columns the path is built from with --category-columns; the
pseudo-column `title_type` is the product type a name ends with (Myntra: --category-columns Gender,title_type).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from categories.ml.classifier import DEFAULT_FEATURES, FEATURE_CHOICES
from categories.ml.evaluation import BadCsv, evaluate, read_labelled_csv, table
from ecomops.models import Store


class Command(BaseCommand):
    help = "Held-out evaluation of category suggestion (accuracy per level, macro-F1, coverage at the threshold)."

    def add_arguments(self, parser):
        src = parser.add_mutually_exclusive_group(required=True)
        src.add_argument("--csv", type=Path)
        src.add_argument("--store", help="Evaluate on a store's own categorised products")
        parser.add_argument("--levels", type=int, default=2, help="Category levels to keep (default 2)")
        parser.add_argument("--limit", type=int, default=None, help="A seeded sample of N rows")
        parser.add_argument("--category-columns", default=None,
                            help="Comma-separated columns to build the path from (title_type: the name's product type)")
        parser.add_argument("--target-precision", type=float, default=0.9)
        parser.add_argument("--features", choices=FEATURE_CHOICES, default=DEFAULT_FEATURES)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--json", type=Path, default=None, help="Write the results here")

    def handle(self, *args, **o):
        if o["levels"] < 1 or o["levels"] > 10:
            raise CommandError("--levels must be between 1 and 10.")
        if o["limit"] is not None and o["limit"] < 20:
            raise CommandError("--limit must be at least 20.")
        if not 0.5 <= o["target_precision"] <= 0.99:
            raise CommandError("--target-precision must be between 0.5 and 0.99.")
        if o["csv"] is not None:
            columns = [c.strip() for c in o["category_columns"].split(",") if c.strip()] if o["category_columns"] else None
            try:
                rows = read_labelled_csv(o["csv"], levels=o["levels"], category_columns=columns, limit=o["limit"],
                                         seed=o["seed"])
            except BadCsv as exc:
                raise CommandError(str(exc)) from None
            source = str(o["csv"])
        else:
            from categories.services import rows_from_store

            store = Store.objects.filter(slug=o["store"]).first()
            if store is None:
                raise CommandError(f"No store with slug {o['store']!r}.")
            rows = rows_from_store(store, levels=o["levels"])
            if o["limit"] is not None and len(rows) > o["limit"]:
                import random

                rows = random.Random(o["seed"]).sample(rows, o["limit"])
            source = f"store:{store.slug}"
        from ecomops.ml.embedder import embed_with_disk_cache

        cache = Path(settings.VAR_DIR) / "cache" / "categories_embeddings.npz"
        bar = tqdm(total=100, desc="embed", unit="%", disable=o["verbosity"] < 1)

        def embed(texts):
            def progress(done, total):
                bar.update(max(0, 100 * done // max(total, 1) - bar.n))
            return embed_with_disk_cache(texts, cache, progress=progress)

        try:
            result = evaluate(rows, embed=embed, target_precision=o["target_precision"], features=o["features"],
                              seed=o["seed"], progress=lambda msg: bar.set_postfix_str(msg[-50:]))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        result["data"].update(source=source, levels=o["levels"], limit=o["limit"],
                              category_columns=o["category_columns"])
        self.stdout.write(table(result))
        if o["json"]:
            o["json"].parent.mkdir(parents=True, exist_ok=True)
            o["json"].write_text(json.dumps(result, indent=2))
            self.stdout.write(f"Wrote {o['json']}")
