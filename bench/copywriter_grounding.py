"""How often the invented-content check (copywriter.ml.grounding) flags human-written copy, and the stand-in's.

    .venv/bin/python bench/copywriter_grounding.py --csv tests/fixtures/copywriter/multidomain.csv \
        --csv ../shared/datasets/myntra-catalog/myntra_products_catalog.csv --rows 400 --json out.json

Per file: sentences (>= 4 words) of the human reference copy, the share with at least one unlicensed content word
(``human_flag_rate``), the share of all words that are unlicensed (``human_word_rate``), the words flagged most
often, and the same sentence rate for the template's own sentences (``template_flag_rate``, 0 by construction).
Human copy states details the structured data lacks, so most of its flags are true "not in the facts"; the
most-flagged words show which. No model, no Django.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # not bench/ (its http.py would shadow the stdlib)


def measure(path: str, rows: int) -> dict:
    from copywriter.ml import evaluation as ev
    from copywriter.ml import facts as factlib
    from copywriter.ml import grounding
    from copywriter.ml.inputs import Options
    from copywriter.ml.plan import plan_content, template_text

    examples = ev.load_examples(path)
    if rows:
        examples = examples[:rows]
    n = flagged = words = bad_words = t_n = t_flagged = 0
    top: collections.Counter = collections.Counter()
    for e in examples:
        lic = grounding.licensed_roots(e.facts)
        for _, _, s in factlib.split_sentences(e.description):
            if len(s.split()) < 4:
                continue
            w = grounding.invented_words(s, e.facts, licensed=lic)
            n += 1
            flagged += bool(w)
            words += len(grounding._parts(s))
            bad_words += len(w)
            top.update(x.lower() for x in w)
        t = template_text(plan_content(e.facts, Options(length="short")), Options(length="short"))
        for _, _, s in factlib.split_sentences(t):
            t_n += 1
            t_flagged += bool(grounding.invented_words(s, e.facts, licensed=lic))
    return {"csv": path, "products": len(examples), "human_sentences": n,
            "human_flag_rate": round(flagged / n, 4) if n else None,
            "human_word_rate": round(bad_words / words, 4) if words else None,
            "top_flagged_words": top.most_common(30), "template_sentences": t_n,
            "template_flag_rate": round(t_flagged / t_n, 4) if t_n else None}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--csv", action="append", required=True)
    p.add_argument("--rows", type=int, default=0, help="first N products of each file (0: all)")
    p.add_argument("--json")
    args = p.parse_args()
    out = [measure(c, args.rows) for c in args.csv]
    print(f"{'file':<40} {'products':>8} {'sentences':>9} {'human flag':>10} {'word rate':>9} {'template flag':>13}")
    for r in out:
        print(f"{Path(r['csv']).name[:40]:<40} {r['products']:>8} {r['human_sentences']:>9} "
              f"{r['human_flag_rate']:>10} {r['human_word_rate']:>9} {r['template_flag_rate']:>13}")
        print("  most flagged:", ", ".join(f"{w} ({c})" for w, c in r["top_flagged_words"][:15]))
    if args.json:
        Path(args.json).write_text(json.dumps({"files": out}, indent=1))


if __name__ == "__main__":
    main()
