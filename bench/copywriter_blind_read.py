"""A blind side-by-side read: the shipped pipeline's draft and the plain template's, for each product, under
labels A and B in a random order, so the reader cannot tell which system wrote which.

    # 1. drafts + the reading sheet (no system names in it) + the key (a separate file, do not open it yet)
    .venv/bin/python bench/copywriter_blind_read.py make --csv tests/fixtures/copywriter/blind20.csv \
        --sheet out/blind_sheet.md --key out/blind_key.json --grades out/blind_grades.csv
    # 2. read the sheet; per product fill in the grades CSV: publishable_A, publishable_B (yes/no: publishable
    #    after a light edit), better (A/B, or tie when the two read the same)
    # 3. unblind: join the grades with the key
    .venv/bin/python bench/copywriter_blind_read.py score --key out/blind_key.json --grades out/blind_grades.csv \
        --json out/blind.json

``score`` prints a table (per system: publishable after a light edit, ranked better) and writes the JSON keys
``pipeline_publishable_rate``, ``template_publishable_rate``, ``pipeline_preferred_rate``, ``n``.
The pipeline runs exactly as the workers ship it (:func:`copywriter.ml.generate.write_drafts`, short length).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # not bench/ (its http.py would shadow the stdlib)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomops.settings")


def make(args: argparse.Namespace) -> None:
    from copywriter.ml import evaluation as ev
    from copywriter.ml.generate import BulkStats, Options, template_draft, write_drafts
    from ecomops.ml.llm import get_language_model

    examples = ev.load_examples(args.csv)
    options = Options(length=args.length)
    model = get_language_model()
    stats = BulkStats()
    t0 = time.perf_counter()
    pipeline = []
    for i in range(0, len(examples), args.batch_size):
        batch = [e.facts for e in examples[i: i + args.batch_size]]
        pipeline += write_drafts(model, batch, options, n_candidates=2, seed=i, source_label="pipeline", stats=stats)
        print(f"{min(i + args.batch_size, len(examples))}/{len(examples)} products", file=sys.stderr)
    rng = random.Random(args.seed)
    key, sheet = [], ["# Blind read: for each product, is A / B publishable after a light edit, and which is better?",
                      ""]
    for n, (e, d) in enumerate(zip(examples, pipeline, strict=True), start=1):
        t = template_draft(e.facts, options)
        pair = [("pipeline", d.description), ("template", t.description)]
        rng.shuffle(pair)
        key.append({"product": n, "title": e.facts.title, "A": pair[0][0], "B": pair[1][0],
                    "pipeline_sentences": d.sentences})
        facts = "; ".join([f"brand: {e.facts.brand}"] * bool(e.facts.brand)
                          + [f"category: {e.facts.category}"] * bool(e.facts.category)
                          + [f"{k}: {v}" for k, v in e.facts.attributes.items()])  # all the writer was given
        sheet += [f"## {n}. {e.facts.title}", f"Facts: {facts}", "", f"**A.** {pair[0][1]}", "",
                  f"**B.** {pair[1][1]}", ""]
    Path(args.sheet).parent.mkdir(parents=True, exist_ok=True)
    Path(args.sheet).write_text("\n".join(sheet))
    Path(args.key).write_text(json.dumps({"csv": args.csv, "seed": args.seed, "seconds": round(
        time.perf_counter() - t0, 1), "model_sentences": stats.model_sentences, "sentences": stats.sentences,
        "pairs": key}, indent=1, ensure_ascii=False))
    with open(args.grades, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["product", "publishable_A", "publishable_B", "better", "note"])
        for k in key:
            w.writerow([k["product"], "", "", "", ""])
    print(f"wrote {args.sheet} (read this), {args.grades} (fill this in), {args.key} (the key: not before grading)")


def score(args: argparse.Namespace) -> None:
    key = {k["product"]: k for k in json.loads(Path(args.key).read_text())["pairs"]}
    with open(args.grades, newline="") as fh:
        grades = list(csv.DictReader(fh))
    missing = [g["product"] for g in grades if not (g["publishable_A"] and g["publishable_B"] and g["better"])]
    if missing:
        raise SystemExit(f"grades incomplete for product(s) {', '.join(missing)}")
    pub = {"pipeline": 0, "template": 0}
    better = {"pipeline": 0, "template": 0}
    for g in grades:
        k = key[int(g["product"])]
        for label in ("A", "B"):
            if g[f"publishable_{label}"].strip().lower() in {"yes", "y", "1"}:
                pub[k[label]] += 1
        choice = g["better"].strip().upper()
        if choice not in {"A", "B", "TIE"}:
            raise SystemExit(f"product {g['product']}: better must be A, B or tie, got {g['better']!r}")
        if choice != "TIE":  # identical or equally good drafts: neither is ranked above the other
            better[k[choice]] += 1
    n = len(grades)
    print(f"{'system':<10} {'publishable':>12} {'ranked better':>14}")
    for s in ("pipeline", "template"):
        print(f"{s:<10} {pub[s]:>5}/{n:<6} {better[s]:>7}/{n:<6}")
    out = {"n": n, "pipeline_publishable_rate": round(pub["pipeline"] / n, 4),
           "template_publishable_rate": round(pub["template"] / n, 4),
           "pipeline_preferred_rate": round(better["pipeline"] / n, 4), "counts": {"publishable": pub,
                                                                                   "better": better}}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
        print(f"wrote {args.json}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--csv", default="tests/fixtures/copywriter/blind20.csv")
    m.add_argument("--sheet", required=True)
    m.add_argument("--key", required=True)
    m.add_argument("--grades", required=True)
    m.add_argument("--length", default="short", choices=["short", "medium", "long"])
    m.add_argument("--batch-size", type=int, default=10)
    m.add_argument("--seed", type=int, default=20261202)
    s = sub.add_parser("score")
    s.add_argument("--key", required=True)
    s.add_argument("--grades", required=True)
    s.add_argument("--json")
    args = p.parse_args()
    if args.cmd == "make":
        import django

        django.setup()
        make(args)
    else:
        score(args)


if __name__ == "__main__":
    main()
