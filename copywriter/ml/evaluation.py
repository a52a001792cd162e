"""Offline evaluation: CSV loading (Myntra or title/brand/category/attributes/description), metrics, systems.

Metrics per system: ROUGE-L F1 against the human description, attribute coverage, hallucination rate (share
of drafts with any unsupported fact), average unsupported facts per draft, length adherence (share within
+-50% of the target words), distinct-2, tokens/s.
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import facts as factlib
from .generate import BadProductInput, BulkStats, Draft, Options, ProductFacts, generate_drafts, template_draft
from .train import Example, split_by_name


class BadCsv(ValueError):
    pass


def _split_runon(text: str) -> str:
    # Myntra bullets lost their separators ("...TSA lockOne handle"): restore a sentence break
    return re.sub(r"([a-z])([A-Z][a-z])", r"\1. \2", text)


def load_examples(path: str | Path) -> list[Example]:
    """Read the Myntra catalogue or any CSV with title, brand, category, attributes (JSON), description."""
    path = Path(path)
    if not path.exists():
        raise BadCsv(f"{path}: no such file.")
    out = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        cols = set(reader.fieldnames or [])
        myntra = {"Product_Name", "Product_Brand", "Description"} <= cols
        if not myntra and not {"title", "description"} <= cols:
            raise BadCsv(f"{path}: needs columns title, brand, category, attributes, description "
                         f"(or the Myntra catalogue columns); found {sorted(cols)}.")
        for lineno, row in enumerate(reader, start=2):
            if myntra:
                attrs = {"gender": (row.get("Gender") or "").strip(), "colour": (row.get("Primary_Color") or "").strip()}
                title, brand, category = row["Product_Name"], row.get("Product_Brand", ""), "Fashion"
                desc = _split_runon(row.get("Description") or "")
            else:
                raw = row.get("attributes") or "{}"
                try:
                    attrs = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise BadCsv(f"{path}:{lineno}: attributes is not a JSON object ({exc.msg}).") from None
                if not isinstance(attrs, dict):
                    raise BadCsv(f"{path}:{lineno}: attributes must be a JSON object.")
                title, brand, category = row.get("title", ""), row.get("brand", ""), row.get("category", "")
                desc = row.get("description") or ""
            try:
                facts = ProductFacts.build(title=title, brand=brand, category=category, attributes=attrs)
            except BadProductInput:
                continue
            if desc.strip():
                out.append(Example(facts, desc.strip()))
    return out


def heldout(examples: Sequence[Example], limit: int | None, seed: int = 0) -> tuple[list[Example], list[Example]]:
    train, test = split_by_name(examples, 0.2, seed)
    return train, (test[:limit] if limit else test)


def _lcs(a: list[str], b: list[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(candidate: str, reference: str) -> float:
    a, b = factlib._tokens(candidate), factlib._tokens(reference)
    if not a or not b:
        return 0.0
    lcs = _lcs(a, b)
    if lcs == 0:
        return 0.0
    p, r = lcs / len(a), lcs / len(b)
    return 2 * p * r / (p + r)


def distinct_2(texts: Sequence[str]) -> float:
    grams, total = set(), 0
    for t in texts:
        toks = factlib._tokens(t)
        pairs = list(zip(toks, toks[1:], strict=False))
        grams.update(pairs)
        total += len(pairs)
    return len(grams) / total if total else 0.0


@dataclass
class SystemResult:
    system: str
    drafts: list[Draft]
    seconds: float
    new_tokens: int

    def metrics(self, refs: Sequence[str], target_words: int) -> dict[str, Any]:
        n = len(self.drafts) or 1
        cov = [len(d.covered_attributes) / max(1, len(d.covered_attributes) + len(d.missing_attributes))
               for d in self.drafts]
        return {
            "system": self.system,
            "n": len(self.drafts),
            "rouge_l": round(sum(rouge_l(d.description, r) for d, r in zip(self.drafts, refs, strict=True)) / n, 4),
            "attribute_coverage": round(sum(cov) / n, 4),
            "hallucination_rate": round(sum(1 for d in self.drafts if d.unsupported_facts) / n, 4),
            "avg_unsupported_facts": round(sum(len(d.unsupported_facts) for d in self.drafts) / n, 4),
            "length_adherence": round(sum(1 for d in self.drafts
                                          if abs(len(d.description.split()) - target_words) <= 0.5 * target_words) / n, 4),
            "distinct_2": round(distinct_2([d.description for d in self.drafts]), 4),
            "tokens_per_s": round(self.new_tokens / self.seconds, 2) if self.new_tokens and self.seconds else None,
        }


def run_template(test: Sequence[Example], options: Options) -> SystemResult:
    t0 = time.perf_counter()
    return SystemResult("template", [template_draft(e.facts, options) for e in test], time.perf_counter() - t0, 0)


def run_model(name: str, model, tokenizer, test: Sequence[Example], options: Options, *, batch_size: int = 8,
              n_candidates: int = 2, post_edit: bool = True, max_new_tokens: int | None = None,
              on_batch: Callable[[int], None] | None = None) -> SystemResult:
    stats = BulkStats()
    drafts: list[Draft] = []
    for i in range(0, len(test), batch_size):
        batch = [e.facts for e in test[i: i + batch_size]]
        drafts += generate_drafts(model, tokenizer, batch, options, n_candidates=n_candidates, stats=stats,
                                  post_edit=post_edit, max_new_tokens=max_new_tokens, seed=i, source_label=name)
        if on_batch:
            on_batch(len(batch))
    return SystemResult(name, drafts, stats.seconds, stats.new_tokens)


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    cols = ["system", "n", "rouge_l", "attribute_coverage", "hallucination_rate", "avg_unsupported_facts",
            "length_adherence", "distinct_2", "tokens_per_s"]
    widths = {c: max(len(c), *(len(str(r.get(c))) for r in rows)) for c in cols}
    line = "  ".join(c.ljust(widths[c]) for c in cols)
    out = [line, "-" * len(line)]
    for r in rows:
        out.append("  ".join(str(r.get(c)).ljust(widths[c]) for c in cols))
    return "\n".join(out)
