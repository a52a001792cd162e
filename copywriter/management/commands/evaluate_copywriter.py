"""Evaluate the copywriter's systems on a CSV, judged by checks that do not share the pipeline's blind spots.

Systems (``--systems``, in this order in the table):

* ``template``: the content plan's own sentences, built from the facts (no model);
* ``pipeline``: what the workers ship: plan -> SmolLM2 rewrites each sentence (batched over products) -> fact,
  relevance, style and loop checks -> one resample (best of ``--candidates``) -> stand-in sentence;
* ``finetuned``: the same pipeline on a fine-tuned version (``--store`` with an active one, or ``--version-path``);
* ``raw``: the model alone, one whole-description prompt, greedy, no checks (what it writes unaided);
* ``human``: the reference descriptions, judged like the rest (the off-topic goal is "ours <= human's").

``--json PATH`` writes, per system, the metrics and every draft: ``systems[i].drafts = [{"title", "facts",
"text", ...}]``. ``--calibrate-relevance`` derives the relevance threshold from the human descriptions of the
CSV's *training* split (never the rows evaluated) and stores it in copywriter/ml/relevance_calibration.json.
See README ("Copywriter evaluation") for the figures and the commands that produced them.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from copywriter.ml import evaluation as ev
from copywriter.ml import relevance
from copywriter.ml.generate import Options
from copywriter.models import CopywriterModel, EvaluationReport
from copywriter.services.training import human_examples
from ecomops.models import Store

SYSTEMS = ("template", "pipeline", "finetuned", "raw", "human")


class Command(BaseCommand):
    help = ("Off-topic sentence rate, spec dumps, empty and looping drafts, unsupported-fact rate, ROUGE-L, "
            "coverage and speed per system; --json writes every draft.")

    def add_arguments(self, parser):
        parser.add_argument("--csv", help="Myntra catalogue or title,brand,category,attributes,description "
                                          "(without it, --store evaluates on the store's own human descriptions)")
        parser.add_argument("--limit", type=int, default=40, help="products to evaluate")
        parser.add_argument("--split", choices=["heldout", "all"], default="heldout",
                            help="heldout: the 20%% split by product name (the rows training never sees); "
                                 "all: every row (a file nothing trains on, e.g. the multi-domain fixture)")
        parser.add_argument("--sample-seed", type=int, default=None,
                            help="shuffle the evaluated rows with this seed before --limit")
        parser.add_argument("--store", help="store slug: use its active fine-tuned version and file the report")
        parser.add_argument("--version-path", help="a fine-tuned version directory to evaluate as 'finetuned'")
        parser.add_argument("--length", default="short", choices=["short", "medium", "long"])
        parser.add_argument("--candidates", type=int, default=2, help="samples per failing sentence (best of N)")
        parser.add_argument("--batch-size", type=int, default=4, help="products whose sentences decode together")
        parser.add_argument("--systems", default="template,pipeline,finetuned,raw,human")
        parser.add_argument("--json", dest="json_path")
        parser.add_argument("--no-lm-judge", action="store_true",
                            help="judge sense by the rules only (no SmolLM2 acceptability score)")
        parser.add_argument("--calibrate-relevance", action="store_true",
                            help="derive and store the relevance calibration from the CSV's training split")
        parser.add_argument("--calibration-rows", type=int, default=600)
        parser.add_argument("--calibrate-sense", action="store_true",
                            help="derive and store the acceptability threshold (SmolLM2 log-prob of human "
                                 "sentences) from the CSV's training split, plus --sense-extra CSVs' references")
        parser.add_argument("--sense-extra", action="append", default=[],
                            help="another CSV whose reference copy joins the sense calibration (repeatable)")

    def handle(self, *args, **o):
        store = None
        if o["store"]:
            store = Store.objects.filter(slug=o["store"]).first()
            if store is None:
                raise CommandError(f"No store with slug {o['store']!r}.")
        wanted = [s.strip() for s in o["systems"].split(",") if s.strip()]
        unknown = sorted(set(wanted) - set(SYSTEMS))
        if unknown:
            raise CommandError(f"Unknown system(s) {', '.join(unknown)}; choose from {', '.join(SYSTEMS)}.")
        if o["limit"] is not None and o["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        if o["csv"]:
            try:
                examples = ev.load_examples(o["csv"])
            except ev.BadCsv as exc:
                raise CommandError(str(exc)) from None
            dataset = str(o["csv"])
        elif store is not None:
            examples, dataset = human_examples(store), f"store:{store.slug}"
        else:
            raise CommandError("Give --csv PATH, or --store SLUG to evaluate on the store's own products.")
        if not examples:
            raise CommandError(f"{dataset}: no usable rows (each needs a title, attributes and a description).")
        if o["calibrate_relevance"]:
            return self.calibrate(examples, dataset, o["calibration_rows"])
        if o["calibrate_sense"]:
            return self.calibrate_sense(examples, dataset, o["calibration_rows"], o["sense_extra"])
        train, test = ev.heldout(examples, None)
        if o["split"] == "all":
            test = list(examples)
        if o["sample_seed"] is not None:
            random.Random(o["sample_seed"]).shuffle(test)
        test = test[: o["limit"]]
        options = Options(length=o["length"])
        cal = relevance.calibration()
        self.stdout.write(f"{len(examples)} usable rows; {o['split']} split: {len(test)} evaluated; relevance "
                          f"threshold {cal.threshold} (derived from {cal.derivation.get('source', 'defaults')})")
        version_path = o["version_path"]
        if not version_path and store is not None:
            active = CopywriterModel.objects.for_store(store).filter(is_active=True).first()
            version_path = active.path if active else None
        rows = []
        scorer = None
        if not o["no_lm_judge"]:
            from ecomops.ml.llm import LMUnavailable, get_language_model

            try:
                scorer = get_language_model()  # the sense judge's LM score, the same for every system
            except LMUnavailable as exc:
                self.stdout.write(f"sense judge without the LM score: {exc}")
        for name in wanted:
            result = self.run_system(name, test, options, o, version_path)
            if result is not None:
                rows.append(result.metrics(test, options, reference=name == "human", scorer=scorer))
        self.stdout.write(ev.format_table(rows))
        summaries = [ev.summary_row(r) for r in rows]
        EvaluationReport.objects.create(store=store, dataset=dataset, n_examples=len(test), systems=summaries)
        if o["json_path"]:
            from copywriter.ml import sense

            payload = {"dataset": dataset, "n": len(test), "split": o["split"], "length": o["length"],
                       "relevance_calibration": cal.as_dict(), "sense_calibration": sense.calibration().as_dict(),
                       "systems": rows}
            Path(o["json_path"]).write_text(json.dumps(payload, indent=1, ensure_ascii=False))
            self.stdout.write(f"wrote {o['json_path']}")

    def run_system(self, name, test, options, o, version_path):
        if name == "template":
            return ev.run_template(test, options)
        if name == "human":
            return ev.run_human(test)
        if name == "finetuned" and not version_path:
            self.stdout.write("finetuned: no fine-tuned version (pass --store with an active version or --version-path)")
            return None
        from ecomops.ml.llm import get_language_model

        model = get_language_model(version_path if name == "finetuned" else None)
        with tqdm(total=len(test), desc=name, disable=None) as bar:
            if name == "raw":
                return ev.run_raw(name, model, test, options, batch_size=o["batch_size"], on_batch=bar.update)
            return ev.run_pipeline(name, model, test, options, batch_size=o["batch_size"],
                                   n_candidates=o["candidates"], on_batch=bar.update)

    def calibrate(self, examples, dataset, rows):
        train, _ = ev.heldout(examples, None)
        random.Random(0).shuffle(train)
        train = train[:rows]
        cal = relevance.calibrate([(e.facts, e.description) for e in train], keep=0.95,
                                  source=f"{Path(dataset).name}: {len(train)} rows of the training split (seed 0)")
        relevance.save_calibration(cal)
        self.stdout.write(json.dumps(cal.as_dict(), indent=1))
        self.stdout.write(f"wrote {relevance.CALIBRATION_FILE}")

    def calibrate_sense(self, examples, dataset, rows, extra):
        from copywriter.ml import facts as factlib
        from copywriter.ml import sense
        from ecomops.ml.llm import get_language_model

        train, test = ev.heldout(examples, None)
        random.Random(0).shuffle(train)
        train = train[:rows]
        sources = [f"{Path(dataset).name}: {len(train)} rows of the training split (seed 0)"]
        pool = list(train)
        for path in extra:
            try:
                more = ev.load_examples(path)
            except ev.BadCsv as exc:
                raise CommandError(str(exc)) from None
            pool += more
            sources.append(f"{Path(path).name}: {len(more)} reference descriptions")

        def sentences(exs):
            # the lengths vetting ever scores (copywriter.ml.vet: 4-45 words); run-on Myntra blurbs are not sentences
            return [(e.facts, s) for e in exs for _, _, s in factlib.split_sentences(e.description)
                    if 4 <= len(s.split()) <= 45]

        model = get_language_model()
        items = sentences(pool)
        self.stdout.write(f"scoring {len(items)} human sentences ({'; '.join(sources)})")
        cal, _ = sense.calibrate(model, items, source="; ".join(sources))
        self.stdout.write(json.dumps(cal.as_dict()))
        self.stdout.flush()
        held = sentences(test[:rows // 2])
        verdicts = sense.check(held, model, cal)
        lm_fail = sum(1 for v in verdicts if v.lm_score is not None and v.lm_score < cal.threshold)
        rule_fail = sum(1 for v in verdicts if any(not r.startswith("reads wrong") for r in v.reasons))
        cal.derivation["heldout"] = {
            "source": f"{Path(dataset).name}: {min(len(test), rows // 2)} rows of the held-out split",
            "n_sentences": len(held), "lm_failure_rate": round(lm_fail / max(1, len(held)), 4),
            "rule_failure_rate": round(rule_fail / max(1, len(held)), 4),
            "any_failure_rate": round(sum(1 for v in verdicts if not v.ok) / max(1, len(held)), 4)}
        sense.save_calibration(cal)
        self.stdout.write(json.dumps(cal.as_dict(), indent=1))
        self.stdout.write(f"wrote {sense.CALIBRATION_FILE}")
