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
        parser.add_argument("--expected-columns", default=None,
                            help="attribute=column pairs, comma-separated, for a catalogue with its own attribute "
                                 "columns (e.g. colour=Primary_Color); only these attributes are scored")
        parser.add_argument("--colour-match", choices=["exact", "family"], default="exact")

    def handle(self, *args, **o):
        expected = None
        if o["expected_columns"]:
            pairs = [p.split("=", 1) for p in o["expected_columns"].split(",") if p.strip()]
            if any(len(p) != 2 or not p[0].strip() or not p[1].strip() for p in pairs):
                raise CommandError("--expected-columns takes attribute=column pairs, e.g. colour=Primary_Color.")
            expected = {a.strip(): c.strip() for a, c in pairs}
        try:
            rows = read_attribute_csv(o["csv"], expected_columns=expected)
        except BadCsv as exc:
            raise CommandError(str(exc)) from None
        if not rows:
            raise CommandError(f"{o['csv']}: no rows.")
        result = evaluate_attributes(rows, colour_match=o["colour_match"])
        if expected:  # only the attributes the catalogue labels can be scored
            result["per_attribute"] = {k: v for k, v in result["per_attribute"].items() if k in expected}
            totals = {k: sum(v[k] for v in result["per_attribute"].values()) for k in ("tp", "fp", "fn")}
            p = totals["tp"] / (totals["tp"] + totals["fp"]) if totals["tp"] + totals["fp"] else None
            r = totals["tp"] / (totals["tp"] + totals["fn"]) if totals["tp"] + totals["fn"] else None
            result["micro"] = {"precision": p and round(p, 4), "recall": r and round(r, 4),
                               "f1": round(2 * p * r / (p + r), 4) if p and r else None,
                               "support": totals["tp"] + totals["fn"], **totals}
            result["errors"] = [e for e in result["errors"] if e["attribute"] in expected]
        self.stdout.write(attribute_table(result))
        if o["errors"]:
            for e in result["errors"]:
                self.stdout.write(f"  line {e['line']} {e['attribute']}: expected {e['expected']!r}, "
                                  f"extracted {e['extracted']!r} ({e['title'][:60]})")
        if o["json"]:
            o["json"].parent.mkdir(parents=True, exist_ok=True)
            o["json"].write_text(json.dumps(result, indent=2))
            self.stdout.write(f"Wrote {o['json']}")
