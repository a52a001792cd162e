"""manage.py train_support --store <slug> [--bitext CSV] [--intents CSV]: train and activate a classifier version."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ecomops.models import Store
from support.services.classifier import TrainingDataInvalid, classifier_train


class Command(BaseCommand):
    help = "Train the support intent classifier (MiniLM embeddings + calibrated logistic head) and activate it."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True)
        parser.add_argument("--bitext", default=None, help="Bitext CSV (default: ../shared/datasets/bitext-support/...)")
        parser.add_argument("--intents", default=None, help="Extra labelled messages: CSV with columns text,intent")

    def handle(self, *args, **opts):
        store = Store.objects.filter(slug=opts["store"]).first()
        if store is None:
            raise CommandError(f"No store with slug {opts['store']!r}.")
        bar = tqdm(total=100, unit="%")
        last = [0]

        def progress(pct: int, msg: str) -> None:
            bar.set_description(msg[:40])
            bar.update(max(0, pct - last[0]))
            last[0] = max(last[0], pct)

        try:
            version = classifier_train(store=store, bitext_path=opts["bitext"], intents_path=opts["intents"],
                                       progress=progress)
        except (TrainingDataInvalid, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from None
        bar.update(100 - last[0])
        bar.close()
        m = version.metrics
        self.stdout.write(
            f"Classifier v{version.version} active: accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}, "
            f"ECE {m['ece']:.4f}, temperature {m['temperature']:.2f}, {m['test_size']} held-out examples."
        )
