"""Rolling-origin evaluation of the demand forecaster against seasonal naive and naive velocity.

    manage.py evaluate_forecast --orders PATH [--preset cdnow] [--series auto|sku|cohort|total]
                                [--horizon 28] [--folds 4] [--weights revenue|units] [--json PATH]
    manage.py evaluate_forecast --store SLUG [--horizon 28] [--folds 4] [--json PATH]

--orders reads any file `import_orders` reads (same parser, presets and --map/--set options) and needs no database.
Prints a table; --json writes the full report (keys ours.weighted_score, seasonal_naive.weighted_score,
ours.coverage_80, ...).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from inventory.ml.evaluation import METHODS, rolling_origin_report
from inventory.services.evaluation import SERIES_KINDS, OrdersFileError, series_from_orders_file, series_from_store
from inventory.services.forecasting import MODEL_SETS


def _pairs(values, option):
    out = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CommandError(f"{option} expects name=value, got {item!r}.")
        out[key.strip()] = value.strip()
    return out


class Command(BaseCommand):
    help = "Backtest the demand forecaster (rolling origin) against seasonal naive and naive velocity."

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--orders", help="An orders file (CSV/TSV/JSONL/whitespace), as import_orders reads")
        source.add_argument("--store", help="Slug of a store: its own order history")
        parser.add_argument("--preset", help="Orders preset of import_orders, e.g. cdnow")
        parser.add_argument("--map", action="append", metavar="COL=FIELD", help="Map a column (as import_orders)")
        parser.add_argument("--set", action="append", metavar="FIELD=VALUE", help="A constant field (as import_orders)")
        parser.add_argument("--format", choices=["csv", "tsv", "ws", "jsonl"])
        parser.add_argument("--time-format", default=None)
        parser.add_argument("--series", choices=SERIES_KINDS, default="auto",
                            help="What a series is for a file: per sku, per customer cohort, or the total")
        parser.add_argument("--horizon", type=int, default=28)
        parser.add_argument("--folds", type=int, default=4)
        parser.add_argument("--weights", choices=["revenue", "units"], default="revenue")
        parser.add_argument("--models", choices=sorted(MODEL_SETS), default="full")
        parser.add_argument("--json", dest="json_path", help="Write the report as JSON here")

    def handle(self, *args, **o):
        if not 1 <= o["horizon"] <= 365:
            raise CommandError("--horizon must be between 1 and 365.")
        if not 1 <= o["folds"] <= 52:
            raise CommandError("--folds must be between 1 and 52.")
        if o["orders"]:
            path = Path(o["orders"])
            if not path.is_file():
                raise CommandError(f"No such file: {path}")
            from dataclasses import replace

            from ecomops.services.ingest.files import FileSpec, preset_spec

            try:
                spec = preset_spec("orders", o["preset"]) if o["preset"] else FileSpec()
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            spec = replace(spec, mapping={**spec.mapping, **_pairs(o["map"], "--map")},
                           constants={**spec.constants, **_pairs(o["set"], "--set")},
                           format=o["format"] or spec.format, time_format=o["time_format"] or spec.time_format)
            try:
                series, info = series_from_orders_file(path, series=o["series"], spec=spec)
            except (OrdersFileError, ValueError, UnicodeDecodeError) as exc:
                raise CommandError(str(exc)) from None
            dataset = path.name + (f" (preset {o['preset']})" if o["preset"] else "")
        else:
            from ecomops.models import Store

            store = Store.objects.filter(slug=o["store"]).first()
            if store is None:
                raise CommandError(f"No store with slug {o['store']!r}.")
            series, info = series_from_store(store)
            dataset = f"store {store.slug}"
        if not series:
            raise CommandError("No series with any sales to evaluate.")
        bar = tqdm(total=o["folds"], desc="folds", disable=o["verbosity"] < 1)
        try:
            report = rolling_origin_report(
                series, horizon=o["horizon"], folds=o["folds"], weights=o["weights"], models=MODEL_SETS[o["models"]],
                on_progress=lambda done, total: bar.update(done - bar.n),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        report = {"dataset": dataset, **info, **report}
        self._table(report)
        if o["json_path"]:
            Path(o["json_path"]).write_text(json.dumps(report, indent=2, default=str))
            self.stdout.write(f"Wrote {o['json_path']}")

    def _table(self, report: dict) -> None:
        w = self.stdout.write
        w(f"{report['dataset']}: {report['n_series']} series ({report['series_kind']}), {report['n_days']} days, "
          f"horizon {report['horizon']}, {report['folds']} rolling origins, weights by {report['weights']}")
        w(f"{'method':<16}{'weighted RMSSE':>15}{'MASE':>8}{'RMSSE':>8}{'total RMSSE':>13}{'coverage 80%':>14}")

        def fmt(v, spec=".3f"):
            return "-" if v is None else format(v, spec)

        for m in METHODS:
            r = report[m]
            w(f"{m:<16}{fmt(r['weighted_score']):>15}{fmt(r['mase']):>8}{fmt(r['rmsse']):>8}"
              f"{fmt(r['total_rmsse']):>13}{fmt(r['coverage_80'], '.1%'):>14}")
        imp = report["improvement_vs_seasonal_naive"]
        w(f"ours vs seasonal naive (weighted): {fmt(imp, '+.1%')} (goal >= +15%: "
          f"{'met' if report['goals']['beats_seasonal_naive_by_15pct'] else 'NOT met'}); "
          f"80% coverage goal 75-85%: {'met' if report['goals']['coverage_80_in_75_85'] else 'NOT met'}")
        w(f"models used in ours' combinations (series x folds): {report['ours']['models_chosen']}; {report['seconds']} s")
