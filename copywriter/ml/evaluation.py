"""Offline evaluation: CSV loading (Myntra or title/brand/category/attributes/description), systems, metrics.

Every system's drafts are judged by the same judges, and not only by the checker that filters the pipeline:

* ``offtopic_sentence_rate``: sentences (>= 3 words) the MiniLM relevance check calls off-topic or naming another
  product type, over all judged sentences (threshold calibrated on human copy, the same for every system);
* ``contradicting_sentences``: how many name a product type or use the facts contradict, or state a colour the
  title contradicts (the catalogue's colour field disagreeing with the title, :func:`copywriter.ml.sense.colour_reasons`);
* ``spec_dump_rate``: drafts with three or more ``key: value`` pairs or "Details:";
* ``empty_drafts``, ``looping_drafts`` (a phrase repeated, :func:`copywriter.ml.vet.has_loop`);
* ``unsupported_fact_rate``: drafts with any claim the product input does not back (the fact checker);
* ``rouge_l``: ROUGE-L F1 against the human description (Google's ``rouge-score``, stemming on);
* ``nonsense_sentence_rate``: sentences the sense check fails (:mod:`copywriter.ml.sense`: "made of" a colour
  or finish, an opener that is not one of the facts, "is a daily routine", and, when the command has a model
  to score with, a SmolLM2 log-prob far below human copy's), over all judged sentences;
* ``invented_sentence_rate``: sentences with a content word that neither the product's input nor the generic copy
  vocabulary licenses (:mod:`copywriter.ml.grounding`: "an LCD screen", "made to measure", "at the market"), over
  all judged sentences; on the human row it is how often people state details the structured data lacks;
* attribute coverage, length adherence (within +-50% of the target words), distinct-2, tokens/s.

The "human" row judges the reference descriptions themselves, so the pipeline's off-topic rate can be compared
with human copy's at the same threshold.
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import facts as factlib
from . import grounding, relevance, sense, vet
from .generate import (
    SYSTEM_PROMPT,
    BadProductInput,
    BulkStats,
    Options,
    ProductFacts,
    build_prompt,
    source_for,
    template_draft,
    write_drafts,
)
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


_scorer = None


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 (rouge-score, Porter stemming)."""
    global _scorer
    if _scorer is None:
        from rouge_score import rouge_scorer

        _scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    if not candidate.strip() or not reference.strip():
        return 0.0
    return float(_scorer.score(reference, candidate)["rougeL"].fmeasure)


def distinct_2(texts: Sequence[str]) -> float:
    grams, total = set(), 0
    for t in texts:
        toks = factlib._tokens(t)
        pairs = list(zip(toks, toks[1:], strict=False))
        grams.update(pairs)
        total += len(pairs)
    return len(grams) / total if total else 0.0


@dataclass
class Judged:
    """One draft as every judge sees it."""

    title: str
    facts: dict[str, str]
    text: str
    unsupported: list[dict]
    offtopic: list[dict]
    judged_sentences: int
    spec_dump: bool
    looping: bool
    coverage: float
    nonsense: list[dict] = field(default_factory=list)
    invented: list[dict] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"title": self.title, "facts": self.facts, "text": self.text,
                "unsupported_facts": self.unsupported, "offtopic_sentences": self.offtopic,
                "spec_dump": self.spec_dump, "looping": self.looping, "nonsense_sentences": self.nonsense,
                "invented_sentences": self.invented}


def judge(examples: Sequence[Example], texts: Sequence[str], options: Options, scorer: Any = None) -> list[Judged]:
    """Fact check, relevance (all drafts in one MiniLM pass), sense (rules, plus the LM score when ``scorer`` is a
    model that can score), spec dumps, loops: the same for every system."""
    sentence_lists = [[s for _, _, s in factlib.split_sentences(t)] for t in texts]
    verdicts = relevance.score_sentences([(e.facts, sl) for e, sl in zip(examples, sentence_lists, strict=True)])
    flat = [(e.facts, s) for e, sl in zip(examples, sentence_lists, strict=True) for s in sl if len(s.split()) >= 4]
    sense_vs = iter(sense.check(flat, scorer))
    sense_lists = [[next(sense_vs) for s in sl if len(s.split()) >= 4] for sl in sentence_lists]
    extra = grounding.style_extra(options.keywords, options.audience)
    out = []
    for e, text, vs, svs in zip(examples, texts, verdicts, sense_lists, strict=True):
        report = factlib.check_facts(text, source=source_for(e.facts, options))
        lic = grounding.licensed_roots(e.facts, extra)
        invented = [{"text": v.text, "invented": w} for v in vs if v.score is not None
                    for w in [grounding.invented_words(v.text, e.facts, licensed=lic)] if w]
        out.append(Judged(
            title=e.facts.title, facts=dict(e.facts.attributes), text=text,
            unsupported=report.unsupported_facts, offtopic=[v.as_dict() for v in vs if not v.ok],
            judged_sentences=sum(1 for v in vs if v.score is not None), spec_dump=vet.is_spec_dump(text),
            looping=vet.has_loop(text), coverage=report.coverage,
            nonsense=[{"text": v.text, "reasons": v.reasons,
                       "lm_score": None if v.lm_score is None else round(v.lm_score, 3)} for v in svs if not v.ok],
            invented=invented,
        ))
    return out


@dataclass
class SystemResult:
    system: str
    texts: list[str]
    seconds: float = 0.0
    new_tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def metrics(self, examples: Sequence[Example], options: Options, *, reference: bool = False,
                scorer: Any = None) -> dict[str, Any]:
        judged = judge(examples, self.texts, options, scorer)
        n = len(judged) or 1
        refs = [e.description for e in examples]
        sentences = sum(j.judged_sentences for j in judged)
        off = sum(len(j.offtopic) for j in judged)
        target = options.target_words
        row = {
            "system": self.system,
            "n": len(judged),
            "offtopic_sentence_rate": round(off / sentences, 4) if sentences else 0.0,
            "offtopic_sentences": off,
            "judged_sentences": sentences,
            "nonsense_sentence_rate": round(sum(len(j.nonsense) for j in judged) / sentences, 4) if sentences
            else 0.0,
            "nonsense_sentences": sum(len(j.nonsense) for j in judged),
            "invented_sentence_rate": round(sum(len(j.invented) for j in judged) / sentences, 4) if sentences
            else 0.0,
            "contradicting_sentences": sum(1 for j in judged for o in j.offtopic if o.get("family")) + sum(
                1 for j in judged for o in j.nonsense if any(r.startswith(sense.TITLE_CONTRADICTION)
                                                             for r in o["reasons"])),
            "spec_dump_rate": round(sum(j.spec_dump for j in judged) / n, 4),
            "empty_drafts": sum(1 for j in judged if not j.text.strip()),
            "looping_drafts": sum(j.looping for j in judged),
            "unsupported_fact_rate": round(sum(1 for j in judged if j.unsupported) / n, 4),
            "avg_unsupported_facts": round(sum(len(j.unsupported) for j in judged) / n, 4),
            "rouge_l": None if reference else round(
                sum(rouge_l(j.text, r) for j, r in zip(judged, refs, strict=True)) / n, 4),
            "attribute_coverage": round(sum(j.coverage for j in judged) / n, 4),
            "length_adherence": round(sum(1 for j in judged if abs(len(j.text.split()) - target) <= 0.5 * target) / n,
                                      4),
            "avg_words": round(sum(len(j.text.split()) for j in judged) / n, 1),
            "distinct_2": round(distinct_2([j.text for j in judged]), 4),
            "tokens_per_s": round(self.new_tokens / self.seconds, 2) if self.new_tokens and self.seconds else None,
            **self.extra,
        }
        row["drafts"] = [j.as_json() for j in judged]
        return row


def run_template(test: Sequence[Example], options: Options) -> SystemResult:
    t0 = time.perf_counter()
    texts = [template_draft(e.facts, options).description for e in test]
    return SystemResult("template", texts, time.perf_counter() - t0)


def run_human(test: Sequence[Example]) -> SystemResult:
    return SystemResult("human", [e.description for e in test])


def run_pipeline(name: str, model: Any, test: Sequence[Example], options: Options, *, batch_size: int = 8,
                 n_candidates: int = 2, on_batch: Callable[[int], None] | None = None) -> SystemResult:
    """What the workers ship: plan -> per-sentence LM (batched over products) -> vet -> resample -> stand-in."""
    stats = BulkStats()
    texts: list[str] = []
    for i in range(0, len(test), batch_size):
        batch = [e.facts for e in test[i: i + batch_size]]
        texts += [d.description for d in write_drafts(model, batch, options, n_candidates=n_candidates, seed=i,
                                                      source_label=name, stats=stats)]
        if on_batch:
            on_batch(len(batch))
    share = stats.model_sentences / stats.sentences if stats.sentences else 0.0
    return SystemResult(name, texts, stats.seconds, stats.new_tokens, {"model_sentence_share": round(share, 4)})


def run_raw(name: str, model: Any, test: Sequence[Example], options: Options, *, batch_size: int = 8,
            on_batch: Callable[[int], None] | None = None) -> SystemResult:
    """The model alone: one whole-description prompt per product, greedy, no plan and no checks (what the
    shipped copywriter's model wrote before the pipeline). Kept to show the judges see nonsense."""
    texts, seconds, tokens = [], 0.0, 0
    max_tokens = int(options.target_words * 1.45) + 16
    for i in range(0, len(test), batch_size):
        batch = test[i: i + batch_size]
        convs = [[{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": build_prompt(e.facts, options)}]
                 for e in batch]
        t0 = time.perf_counter()
        outs = model.complete_batch(convs, max_tokens=max_tokens, temperature=0.0, repeat_penalty=1.1)
        seconds += time.perf_counter() - t0
        tokens += sum(c.n_tokens for c in outs)
        texts += [re.sub(r"\s+", " ", c.text).strip() for c in outs]
        if on_batch:
            on_batch(len(batch))
    return SystemResult(name, texts, seconds, tokens)


TABLE_COLUMNS = ["system", "n", "offtopic_sentence_rate", "nonsense_sentence_rate", "invented_sentence_rate", "contradicting_sentences", "spec_dump_rate", "empty_drafts",
                 "looping_drafts", "unsupported_fact_rate", "rouge_l", "attribute_coverage", "length_adherence",
                 "avg_words", "distinct_2", "tokens_per_s"]
SHORT = {"offtopic_sentence_rate": "offtopic", "nonsense_sentence_rate": "nonsense", "invented_sentence_rate": "invented", "contradicting_sentences": "contra", "spec_dump_rate": "specdump",
         "empty_drafts": "empty", "looping_drafts": "loops", "unsupported_fact_rate": "unsupported",
         "attribute_coverage": "coverage", "length_adherence": "len_adh", "tokens_per_s": "tok/s"}


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    heads = {c: SHORT.get(c, c) for c in TABLE_COLUMNS}
    cell = {c: [("—" if r.get(c) is None else str(r.get(c))) for r in rows] for c in TABLE_COLUMNS}
    widths = {c: max(len(heads[c]), *(len(x) for x in cell[c])) for c in TABLE_COLUMNS}
    line = "  ".join(heads[c].ljust(widths[c]) for c in TABLE_COLUMNS)
    out = [line, "-" * len(line)]
    for i in range(len(rows)):
        out.append("  ".join(cell[c][i].ljust(widths[c]) for c in TABLE_COLUMNS))
    return "\n".join(out)


def summary_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row without its drafts (what the EvaluationReport stores and the page shows)."""
    return {k: v for k, v in row.items() if k != "drafts"}
