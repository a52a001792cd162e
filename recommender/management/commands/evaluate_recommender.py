"""Evaluate recommenders side by side on a dataset (leave-last-out, full ranking) and store the report."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ecomops.models import Store
from recommender.ml.registry import MODEL_NAMES
from recommender.services.evaluation import evaluation_run

COLUMNS = ["recall@10", "recall@20", "ndcg@10", "ndcg@20", "mrr", "coverage", "top1pct_share", "train_seconds"]


class Command(BaseCommand):
    help = "Run recommenders side by side on a dataset name, CSV path or store slug; print and store the table."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True, help="amazon-grocery-5core | <store slug> | path.csv")
        parser.add_argument("--models", nargs="+", default=MODEL_NAMES, choices=MODEL_NAMES)
        parser.add_argument("--store", help="Attach the report to this store's dashboard")
        parser.add_argument("--no-tune", action="store_true", help="Skip the validation grid (defaults only)")
        parser.add_argument("--set", action="append", default=[], metavar="MODEL.PARAM=VALUE",
                            help="Override a hyper-parameter, e.g. sasrec.epochs=10")
        parser.add_argument("--json", dest="json_path", help="Write one object per model to this file")

    def handle(self, *args, **opts):
        store = None
        if opts["store"]:
            store = Store.objects.filter(slug=opts["store"]).first()
            if store is None:
                raise CommandError(f"no store with slug {opts['store']!r}")
        overrides: dict[str, dict] = {}
        for item in opts["set"]:
            try:
                key, value = item.split("=", 1)
                model, param = key.split(".", 1)
                overrides.setdefault(model, {})[param] = json.loads(value)
            except ValueError:
                raise CommandError(f"--set {item!r}: expected MODEL.PARAM=VALUE") from None
        bar = tqdm(total=len(opts["models"]), desc="models", disable=opts["verbosity"] < 1)

        def progress(stage, info):
            if stage == "done":
                bar.update(1)
            elif stage in {"fit", "tune"}:
                bar.set_postfix_str(f"{stage} {info['model']}")
            elif stage == "epoch" and opts["verbosity"] > 1:
                bar.write(f"  {info}")

        try:
            report = evaluation_run(dataset=opts["dataset"], models=opts["models"], tune=not opts["no_tune"],
                                    store=store, progress=progress, overrides=overrides)
        except (ValueError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        rows = report.report["models"]
        ds = report.report["dataset"]
        self.stdout.write(f"\nDataset {opts['dataset']}: {ds['users']} users, {ds['items']} items, "
                          f"{ds['interactions']} interactions; {ds['test_users']} test users. {ds['protocol']}.")
        header = f"{'model':<12}" + "".join(f"{c:>15}" for c in COLUMNS)
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for row in rows:
            self.stdout.write(f"{row['model']:<12}" + "".join(f"{row[c]:>15.4f}" for c in COLUMNS))
        verdict = report.report["verdict"]
        if verdict.get("summary"):
            self.stdout.write(verdict["summary"])
        for row in rows:
            for note in row.get("notes", []):
                self.stdout.write(f"note ({row['model']}): {note}")
        self.stdout.write(f"Report #{report.pk} stored.")
        if opts["json_path"]:
            Path(opts["json_path"]).write_text(json.dumps(
                [{k: row[k] for k in ["model", *COLUMNS, "params", "validation_ndcg@10"]} for row in rows], indent=2))
