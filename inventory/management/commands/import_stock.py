"""manage.py import_stock FILE --store SLUG

A CSV with a header row and columns sku, date (YYYY-MM-DD), on_hand: the units on hand of a product at the end of
that day. Every row is validated first (unknown sku, negative or non-integer stock, a bad date, the same sku and day
twice); any error is printed as 'line N, field: reason' and nothing is written (exit 1).
"""

from __future__ import annotations

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ecomops.models import Store
from inventory.services.stock import StockImportRejected, stock_levels_record

REQUIRED = ("sku", "date", "on_hand")
MAX_PRINTED = 50


class Command(BaseCommand):
    help = "Import stock snapshots (sku, date, on_hand) from CSV; all-or-nothing, errors name the line."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--store", required=True, help="Slug of an existing store")

    def handle(self, *args, **o):
        store = Store.objects.filter(slug=o["store"]).first()
        if store is None:
            raise CommandError(f"No store with slug {o['store']!r}.")
        path = Path(o["path"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        rows = []
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                reader = csv.DictReader(handle)
                header = [h.strip() for h in reader.fieldnames or []]
                missing = [c for c in REQUIRED if c not in header]
                if missing:
                    raise CommandError(f"line 1: missing column(s) {', '.join(missing)} (columns: {', '.join(header)})")
                reader.fieldnames = header
                for record in tqdm(reader, desc="reading", unit=" rows", disable=o["verbosity"] < 1):
                    if None in record:
                        raise CommandError(f"line {reader.line_num}: more values than the header has columns")
                    rows.append((reader.line_num, record))
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path.name} is not UTF-8 text: {exc}") from None
        except csv.Error as exc:
            raise CommandError(f"line {reader.line_num}: {exc}") from None
        if not rows:
            raise CommandError(f"{path.name} has no rows.")
        try:
            written = stock_levels_record(store=store, rows=rows)
        except StockImportRejected as exc:
            for error in exc.errors[:MAX_PRINTED]:
                self.stderr.write(str(error))
            more = len(exc.errors) - MAX_PRINTED
            raise CommandError(f"{len(exc.errors)} invalid row(s){f' ({more} not shown)' if more > 0 else ''}; "
                               "nothing was written.") from None
        self.stdout.write(f"Imported {written} stock level(s) into {store.slug}.")
