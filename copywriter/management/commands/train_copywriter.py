"""Fine-tune the copywriter on a store's human-written descriptions (a Job on the training queue).

    manage.py train_copywriter --store acme [--epochs N] [--method lora|full] [--max-steps N] [--now]

--now runs the job in this process (tqdm progress) instead of enqueuing it for a worker.
--csv PATH --out DIR trains on a CSV's held-out-split train side instead (no store, no version row); used to
compare LoRA and full fine-tuning on the Myntra catalogue.
"""

from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from copywriter.ml import evaluation as ev
from copywriter.ml.train import TooFewExamples, TrainConfig, fine_tune
from copywriter.runtime import model_dir
from copywriter.services import TrainingRefused, training_start
from copywriter.tasks import copywriter_train
from ecomops.models import Store


class Command(BaseCommand):
    help = "Fine-tune SmolLM2 on facts -> description pairs (LoRA or full)."

    def add_arguments(self, parser):
        parser.add_argument("--store")
        parser.add_argument("--epochs", type=int, default=1)
        parser.add_argument("--method", choices=["lora", "full"], default="lora")
        parser.add_argument("--max-steps", type=int, default=None)
        parser.add_argument("--now", action="store_true", help="run here instead of on the training queue")
        parser.add_argument("--csv")
        parser.add_argument("--out")
        parser.add_argument("--train-limit", type=int, default=400)
        parser.add_argument("--batch-size", type=int, default=8)
        parser.add_argument("--eval-every", type=int, default=10)
        parser.add_argument("--max-len", type=int, default=256, help="tokens per training example")
        parser.add_argument("--val-fraction", type=float, default=0.15)
        parser.add_argument("--lr", type=float, default=None, help="default 1e-3 for LoRA, 5e-5 for full")
        parser.add_argument("--verbatim-targets", action="store_true",
                            help="train on the descriptions as written (default: their grounded sentences only)")

    def handle(self, *args, **o):
        if o["csv"]:
            return self._train_csv(o)
        if not o["store"]:
            raise CommandError("--store <slug> (or --csv PATH --out DIR) is required.")
        store = Store.objects.filter(slug=o["store"]).first()
        if store is None:
            raise CommandError(f"No store with slug {o['store']!r}.")
        try:
            job = training_start(store=store, user=None, epochs=o["epochs"], method=o["method"],
                                 max_steps=o["max_steps"])
        except TrainingRefused as exc:
            raise CommandError(str(exc)) from None
        if not o["now"]:
            self.stdout.write(f"queued training job {job.pk} on the 'training' queue")
            return
        outcome = copywriter_train.run(str(job.pk))
        job.refresh_from_db()
        self.stdout.write(f"job {job.pk}: {outcome} {job.error or ''}")
        self.stdout.write(json.dumps(job.result, indent=1))
        if outcome != "succeeded":
            raise CommandError(job.error or outcome)

    def _train_csv(self, o):
        if not o["out"]:
            raise CommandError("--out DIR is required with --csv.")
        try:
            train, _ = ev.heldout(ev.load_examples(o["csv"]), None)
        except ev.BadCsv as exc:
            raise CommandError(str(exc)) from None
        train = train[: o["train_limit"]]
        cfg = TrainConfig(method=o["method"], epochs=o["epochs"], max_steps=o["max_steps"],
                          batch_size=o["batch_size"], eval_every=o["eval_every"], max_len=o["max_len"],
                          val_fraction=o["val_fraction"], lr=o["lr"],
                          grounded_targets=not o["verbatim_targets"])
        bar = tqdm(total=o["max_steps"] or None, desc=f"train {o['method']}", disable=None)
        t0 = time.perf_counter()

        def on_progress(p):
            bar.update(1 if p["step"] else 0)
            if "val_loss" in p or o["verbosity"] > 1:
                self.stdout.write(f"step {p['step']}/{p.get('total_steps')} {time.perf_counter() - t0:.0f}s "
                                  f"train_loss {p.get('train_loss')} val_loss {p.get('val_loss', '')}")
                self.stdout.flush()

        try:
            res = fine_tune(train, o["out"], model_dir=model_dir(), config=cfg, on_progress=on_progress)
        except TooFewExamples as exc:
            raise CommandError(str(exc)) from None
        bar.close()
        self.stdout.write(f"{res.method}: steps={res.steps} val_loss {res.initial_val_loss} -> {res.best_val_loss} "
                          f"n_train={res.n_train} n_val={res.n_val} seconds={res.seconds} -> {res.path}")
