"""Relevance check beside the fact checker: is each sentence about *this* product?

The fact checker only sees claims it can parse (numbers, materials, names...), so "A massive explosion took place
there that day" passes it. This check does not share that blind spot: it embeds each sentence with MiniLM
(:mod:`ecomops.ml.embedder`) and compares it with the product's own facts, one piece at a time (the title, the
whole fact sheet, the category leaf, each attribute). A sentence whose best match is below the calibrated
threshold is **off-topic**.

A second test catches a sentence that names a product type or use the facts contradict ("AW Bellies, a popular
breakfast option"): the sentence is compared with prototypes of every product family
(:data:`copywriter.ml.plan.FAMILIES`); when another family beats the product's own by the calibrated margin, the
sentence contradicts the product type.

Both figures come from human-written copy (``relevance_calibration.json`` beside this file, written by
``evaluate_copywriter --calibrate-relevance``; it records how it was derived). No Django.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .inputs import ProductFacts
from .plan import FAMILIES, family_of, product_noun

CALIBRATION_FILE = Path(__file__).with_name("relevance_calibration.json")
MIN_WORDS = 3  # shorter fragments ("Brown.", "Teal.") are too short to judge either way
# used only when no calibration file exists (a fresh checkout that deleted it): the figures of the shipped file
DEFAULT_THRESHOLD = 0.14
DEFAULT_MARGIN = 0.12
DEFAULT_FLOOR = 0.30


@dataclass
class Calibration:
    threshold: float = DEFAULT_THRESHOLD  # a sentence below this best-piece similarity is off-topic
    contradiction_margin: float = DEFAULT_MARGIN  # another family must beat the own family by this much ...
    contradiction_floor: float = DEFAULT_FLOOR  # ... and match the sentence at least this well
    derivation: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_calibration: Calibration | None = None
_lock = threading.Lock()


def calibration() -> Calibration:
    """The stored calibration, read once per process."""
    global _calibration
    if _calibration is None:
        with _lock:
            if _calibration is None:
                if CALIBRATION_FILE.exists():
                    data = json.loads(CALIBRATION_FILE.read_text())
                    _calibration = Calibration(float(data["threshold"]), float(data["contradiction_margin"]),
                                               float(data["contradiction_floor"]), data.get("derivation", {}))
                else:
                    _calibration = Calibration()
    return _calibration


def reset_calibration() -> None:
    global _calibration
    _calibration = None


@dataclass
class SentenceRelevance:
    text: str
    score: float | None  # best similarity to one of the product's fact pieces; None for a too-short fragment
    off_topic: bool
    contradiction: str = ""  # the family the sentence is about instead of the product's own, "" if none

    @property
    def ok(self) -> bool:
        return not self.off_topic and not self.contradiction

    def as_dict(self) -> dict[str, Any]:
        reason = "contradicts the product type" if self.contradiction else "not about this product"
        return {"text": self.text, "score": None if self.score is None else round(self.score, 3),
                "reason": reason, "family": self.contradiction}


def fact_pieces(facts: ProductFacts) -> list[str]:
    pieces = [facts.title, facts_text(facts)]
    if facts.category:
        pieces.append(facts.category.split(">")[-1].strip())
    pieces += [f"{k.replace('_', ' ')}: {v}" for k, v in facts.attributes.items()]
    return pieces


def facts_text(facts: ProductFacts) -> str:
    parts = [facts.title]
    if facts.brand:
        parts.append(f"brand {facts.brand}")
    if facts.category:
        parts.append(facts.category.replace(">", ","))
    parts += [f"{k.replace('_', ' ')} {v}" for k, v in facts.attributes.items()]
    return ". ".join(parts)


def masked(facts: ProductFacts, sentence: str) -> str:
    """The sentence with the product's full title (and brand) replaced by its type noun: naming the product
    must not make a sentence about something else look relevant ("AW Bellies, a popular breakfast option")."""
    noun = product_noun(facts).text
    out = re.sub(re.escape(facts.title), noun, sentence, flags=re.I) if facts.title else sentence
    if facts.brand and len(facts.brand) > 1:
        out = re.sub(rf"\b{re.escape(facts.brand)}\b", "", out, flags=re.I)
    return re.sub(r"\s+", " ", out).strip()


def _word_count(text: str) -> int:
    return len(re.findall(r"[A-Za-z0-9]+", text))


_prototypes: np.ndarray | None = None


def _prototype_vectors() -> np.ndarray:
    global _prototypes
    if _prototypes is None:
        from ecomops.ml import embedder

        _prototypes = embedder.embed([f.prototype for f in FAMILIES])
    return _prototypes


def own_family_index(facts: ProductFacts, facts_vector: np.ndarray) -> int:
    """The product's family: the keyword match when there is one, else the nearest prototype."""
    fam = family_of(facts)
    if fam is not None:
        return [f.name for f in FAMILIES].index(fam.name)
    return int(np.argmax(_prototype_vectors() @ facts_vector))


def score_sentences(items: Sequence[tuple[ProductFacts, Sequence[str]]],
                    cal: Calibration | None = None) -> list[list[SentenceRelevance]]:
    """Verdicts for the sentences of many products, embedded together (one MiniLM pass over every text)."""
    from ecomops.ml import embedder

    cal = cal or calibration()
    texts: list[str] = []
    spans = []
    for facts, sentences in items:
        pieces = fact_pieces(facts)
        a = len(texts)
        texts += pieces
        b = len(texts)
        texts += [masked(facts, t) for t in sentences]
        spans.append((a, b, len(texts)))
    vectors = embedder.embed(texts) if texts else np.zeros((0, embedder.EMBEDDING_DIM), np.float32)
    protos = _prototype_vectors()
    out = []
    for (facts, sentences), (a, b, c) in zip(items, spans, strict=True):
        piece_v, sent_v = vectors[a:b], vectors[b:c]
        own = own_family_index(facts, piece_v[1])
        verdicts = []
        for text, v in zip(sentences, sent_v, strict=True):
            if _word_count(text) < MIN_WORDS:
                verdicts.append(SentenceRelevance(text, None, False))
                continue
            score = float((piece_v @ v).max())
            fam_sims = protos @ v
            best = int(np.argmax(fam_sims))
            contradiction = ""
            if best != own and fam_sims[best] >= cal.contradiction_floor \
                    and fam_sims[best] - fam_sims[own] >= cal.contradiction_margin and fam_sims[best] > score:
                contradiction = FAMILIES[best].name
            verdicts.append(SentenceRelevance(text, score, score < cal.threshold, contradiction))
        out.append(verdicts)
    return out


def check_sentences(facts: ProductFacts, sentences: Sequence[str]) -> list[SentenceRelevance]:
    return score_sentences([(facts, sentences)])[0]


def off_topic_sentences(facts: ProductFacts, text: str) -> list[dict[str, Any]]:
    """The failing sentences of a whole description (for a human edit, a stored draft, a reference)."""
    from .facts import split_sentences

    return [r.as_dict() for r in check_sentences(facts, [s for _, _, s in split_sentences(text)]) if not r.ok]


# --- calibration ---------------------------------------------------------------------------------------

def human_sentence_stats(items: Sequence[tuple[ProductFacts, str]]) -> dict[str, np.ndarray]:
    """Per human sentence (>= MIN_WORDS words): best-piece score and (best other family - own family) gap."""
    from .facts import split_sentences

    pairs = [(f, [s for _, _, s in split_sentences(t) if _word_count(s) >= MIN_WORDS]) for f, t in items]
    verdicts = score_sentences(pairs, Calibration(threshold=-1, contradiction_margin=9, contradiction_floor=9))
    from ecomops.ml import embedder

    protos = _prototype_vectors()
    scores, gaps, bests = [], [], []
    for (facts, sents), vs in zip(pairs, verdicts, strict=True):
        if not sents:
            continue
        fv = embedder.embed([facts_text(facts)])[0]
        own = own_family_index(facts, fv)
        sv = embedder.embed([masked(facts, t) for t in sents])
        for v, r in zip(sv, vs, strict=True):
            sims = protos @ v
            other = np.delete(sims, own)
            scores.append(r.score)
            gaps.append(float(other.max() - sims[own]))
            bests.append(float(other.max()))
    return {"score": np.array(scores), "gap": np.array(gaps), "best_other": np.array(bests)}


def calibrate(items: Sequence[tuple[ProductFacts, str]], *, keep: float = 0.95, source: str = "") -> Calibration:
    """Threshold = the score that keeps ``keep`` of the human sentences; the contradiction margin is set so that
    at most 1% of human sentences would be flagged (their copy names other product types only in passing)."""
    stats = human_sentence_stats(items)
    threshold = float(np.quantile(stats["score"], 1 - keep))
    margin = max(float(np.quantile(stats["gap"], 0.99)), 0.05)
    floor = DEFAULT_FLOOR
    flagged = float(np.mean((stats["gap"] >= margin) & (stats["best_other"] >= floor)))
    derivation = {
        "source": source, "n_products": len(items), "n_sentences": int(stats["score"].size),
        "keep": keep, "rule": f"threshold = {1 - keep:.2f} quantile of human sentences' best-piece similarity; "
                              "margin = 0.99 quantile of (best other family - own family) over human sentences",
        "score_quantiles": {q: round(float(np.quantile(stats["score"], q)), 4) for q in (0.02, 0.05, 0.1, 0.5)},
        "human_contradiction_rate": round(flagged, 4),
    }
    return Calibration(round(threshold, 4), round(margin, 4), floor, derivation)


def save_calibration(cal: Calibration, path: Path = CALIBRATION_FILE) -> None:
    path.write_text(json.dumps(cal.as_dict(), indent=1) + "\n")
    reset_calibration()
