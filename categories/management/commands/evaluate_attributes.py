"""Precision / recall of attribute extraction on a hand-labelled CSV.

    manage.py evaluate_attributes --csv tests/fixtures/categories/attributes.csv --json PATH [--errors]

Columns: title, optional description, attributes (a JSON object of the values a reader finds in the texts).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from categories.ml.evaluation import BadCsv, attribute_table, evaluate_attributes, read_attribute_csv


class Command(BaseCommand):
    help = "Evaluate attribute extraction (precision, recall, F1 per attribute) on a labelled CSV."

    def add_arguments(self, parser):
        parser.add_argument("--csv", type=Path, required=True)
        parser.add_argument("--json", type=Path, default=None)
        parser.add_argument("--errors", action="store_true", help="Print every disagreement")

    def handle(self, *args, **o):
        try:
            rows = read_attribute_csv(o["csv"])
        except BadCsv as exc:
            raise CommandError(str(exc)) from None
        if not rows:
            raise CommandError(f"{o['csv']}: no rows.")
        result = evaluate_attributes(rows)
        self.stdout.write(attribute_table(result))
        if o["errors"]:
            for e in result["errors"]:
                self.stdout.write(f"  line {e['line']} {e['attribute']}: expected {e['expected']!r}, "
                                  f"extracted {e['extracted']!r} ({e['title'][:60]})")
        if o["json"]:
            o["json"].parent.mkdir(parents=True, exist_ok=True)
            o["json"].write_text(json.dumps(result, indent=2))
            self.stdout.write(f"Wrote {o['json']}")
