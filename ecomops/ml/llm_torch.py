"""transformers (torch) side of the language-model runtime: the weights training starts from, and the
"transformers" / "transformers-int8" engines that bench/copywriter.py measures against llama.cpp. No Django.

transformers reads the shipped GGUF (``gguf_file=``) but de-quantising takes ~40 s, so the first load writes a
safetensors copy into ``<model dir>/smollm2-135m-instruct/`` and every later load reads that copy. Loaded models
are cached per process, keyed by (path, int8).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecomops.ml import llm

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BASE_MODEL_NAME = "smollm2-135m-instruct"


@dataclass
class LoadInfo:
    path: str
    source: str  # "gguf" (first conversion), "safetensors" (cached copy) or "version"
    seconds: float
    quantized: bool = False


@dataclass
class HFEntry:
    model: Any
    tokenizer: Any
    info: LoadInfo


_CACHE: dict[tuple[str, bool], HFEntry] = {}
_LOCK = threading.Lock()


def base_model_dir(model_dir: str | os.PathLike | None = None) -> Path:
    return Path(model_dir or llm.model_dir()) / BASE_MODEL_NAME


def is_saved(path: Path) -> bool:
    return (path / "config.json").exists() and any(path.glob("*.safetensors"))


def convert_gguf(target: Path) -> float:
    """De-quantise the shipped GGUF into a safetensors copy at ``target``; returns seconds taken."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = llm.gguf_path()
    t0 = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(str(src.parent), gguf_file=src.name)
    model = AutoModelForCausalLM.from_pretrained(str(src.parent), gguf_file=src.name, dtype="float32")
    # save_pretrained refuses a model that still looks quantised: drop the quantiser and its config
    model.hf_quantizer = None
    model.config.__dict__.pop("quantization_config", None)
    if getattr(model, "is_quantized", False):
        try:
            model.is_quantized = False
        except AttributeError:
            pass
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(tmp), safe_serialization=True)
    tokenizer.save_pretrained(str(tmp))
    if target.exists() and is_saved(target):  # another process won the race
        shutil.rmtree(tmp, ignore_errors=True)
    elif target.exists():
        for child in tmp.iterdir():
            child.replace(target / child.name)
        tmp.rmdir()
    else:
        tmp.replace(target)
    return time.perf_counter() - t0


def ensure_base(model_dir: str | os.PathLike | None = None) -> Path:
    base = base_model_dir(model_dir)
    if not is_saved(base):
        base.parent.mkdir(parents=True, exist_ok=True)
        convert_gguf(base)
    return base


def set_threads(n: int | None = None) -> int:
    """Intra-op threads for torch: ECOMOPS_TORCH_THREADS or 1 (two spinning threads per worker measured 5-9x
    slower than one on the small shared CPU)."""
    import torch

    n = n or int(os.environ.get("ECOMOPS_TORCH_THREADS", "1") or 1)
    torch.set_num_threads(max(1, n))
    return n


def quantize_dynamic_int8(model: Any) -> Any:
    import torch
    from torch.ao.quantization import quantize_dynamic

    return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def _configure_tokenizer(tokenizer: Any) -> Any:
    tokenizer.padding_side = "left"  # decoder-only batched generation needs left padding
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_hf(model_dir=None, version_path=None, *, quantize: bool = False) -> HFEntry:
    """(model, tokenizer, info) for the base or a trained version directory (full weights or a LoRA adapter)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = base_model_dir(model_dir)
    key_path = str(Path(version_path).resolve()) if version_path else str(base.resolve())
    key = (key_path, quantize)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        set_threads()
        t0 = time.perf_counter()
        source = "safetensors" if is_saved(base) else "gguf"
        ensure_base(model_dir)
        if version_path:
            vpath = Path(version_path)
            if not vpath.exists():
                raise llm.LMUnavailable(f"Model version directory {vpath} does not exist.")
            model = merged_version(vpath, base)
            tok_src = vpath if (vpath / "tokenizer_config.json").exists() else base
            tokenizer = AutoTokenizer.from_pretrained(str(tok_src))
            source = "version"
        else:
            model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
            tokenizer = AutoTokenizer.from_pretrained(str(base))
        model.eval()
        if quantize:
            model = quantize_dynamic_int8(model)
        entry = HFEntry(model, _configure_tokenizer(tokenizer), LoadInfo(key_path, source, time.perf_counter() - t0,
                                                                          quantize))
        _CACHE[key] = entry
        return entry


def merged_version(vpath: Path, base: Path) -> Any:
    """A version's weights as one plain transformers model (a LoRA adapter merged into the base)."""
    import torch
    from transformers import AutoModelForCausalLM

    if (vpath / "adapter_config.json").exists():
        from peft import PeftModel

        model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
        return PeftModel.from_pretrained(model, str(vpath)).merge_and_unload()
    return AutoModelForCausalLM.from_pretrained(str(vpath), dtype=torch.float32)


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


# --- generation on templated prompt strings -------------------------------------------------------------


def chat_prompt(tokenizer: Any, user: str, system: str | None = None) -> str:
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": user})
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def _new_text(tokenizer: Any, ids: list[int]) -> tuple[str, int]:
    n = 0
    for tok in ids:
        if tok in (tokenizer.pad_token_id, tokenizer.eos_token_id):
            break
        n += 1
    return tokenizer.decode(ids[:n], skip_special_tokens=True).strip(), n


class _PollingStop:
    """A transformers stopping criterion that asks a callback, rate-limited by wall time."""

    def __init__(self, should_stop: Callable[[], bool], every_s: float | None = None):
        self.poll = llm._StopPoll(should_stop, every_s)

    @property
    def fired(self) -> bool:
        return self.poll.fired

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        return torch.full((input_ids.shape[0],), self.poll(), dtype=torch.bool, device=input_ids.device)


def generate_texts(model: Any, tokenizer: Any, prompts: Sequence[str], *, max_new_tokens: int,
                   temperature: float = 0.0, top_p: float = 1.0, repetition_penalty: float = 1.0,
                   seed: int | None = None, should_stop: Callable[[], bool] | None = None
                   ) -> tuple[list[tuple[str, int]], bool]:
    """One padded ``generate`` over templated prompts: ([(text, new_tokens)], stopped)."""
    import torch

    if seed is not None:
        torch.manual_seed(seed)
    enc = tokenizer(list(prompts), return_tensors="pt", padding=True, add_special_tokens=False)
    kw: dict[str, Any] = dict(max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                              eos_token_id=tokenizer.eos_token_id, repetition_penalty=repetition_penalty,
                              use_cache=True)
    if temperature > 0:
        kw.update(do_sample=True, temperature=temperature, top_p=top_p)
    else:
        kw.update(do_sample=False)
    stop = _PollingStop(should_stop) if should_stop is not None else None
    if stop is not None:
        from transformers import StoppingCriteriaList

        kw["stopping_criteria"] = StoppingCriteriaList([stop])
    with torch.inference_mode():
        out = model.generate(**enc, **kw)
    new = out[:, enc["input_ids"].shape[1]:]
    return [_new_text(tokenizer, row.tolist()) for row in new], bool(stop and stop.fired)


def stream_tokens(model: Any, tokenizer: Any, prompt: str, *, max_new_tokens: int, temperature: float = 0.0,
                  top_p: float = 1.0, repetition_penalty: float = 1.0, seed: int | None = None) -> Iterator[str]:
    """Yield decoded text pieces (manual KV-cached loop, no background thread: stop by not iterating)."""
    import torch

    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
    past, generated, emitted = None, [], ""
    with torch.inference_mode():
        step_input = ids
        for _ in range(max_new_tokens):
            out = model(input_ids=step_input, past_key_values=past, use_cache=True)
            past = out.past_key_values
            logits = out.logits[0, -1, :].float()
            if repetition_penalty != 1.0 and generated:
                prev = torch.tensor(sorted(set(generated[-llm.PENALTY_LAST_N:])))
                vals = logits[prev]
                logits[prev] = torch.where(vals > 0, vals / repetition_penalty, vals * repetition_penalty)
            if temperature > 0:
                top_v, top_i = torch.topk(logits, k=min(64, logits.shape[-1]))
                probs = torch.softmax(top_v / temperature, dim=-1)
                cum = torch.cumsum(probs, dim=-1)
                probs = probs * (cum - probs < top_p)
                token = int(top_i[torch.multinomial(probs / probs.sum(), 1, generator=gen)])
            else:
                token = int(torch.argmax(logits))
            if token == tokenizer.eos_token_id:
                break
            generated.append(token)
            text = tokenizer.decode(generated, skip_special_tokens=True)
            if not text.endswith("\ufffd") and len(text) > len(emitted):  # whole characters only
                yield text[len(emitted):]
                emitted = text
            step_input = torch.tensor([[token]])


class TransformersLanguageModel(llm.LanguageModel):
    """The LanguageModel interface over a transformers model (fp32, or dynamic int8 when ``int8``)."""

    def __init__(self, entry: HFEntry, *, label: str, int8: bool):
        self.model, self.tokenizer, self.info = entry.model, entry.tokenizer, entry.info
        self.label = label
        self.engine = llm.ENGINE_TRANSFORMERS_INT8 if int8 else llm.ENGINE_TRANSFORMERS

    @classmethod
    def load(cls, version_path=None, *, int8: bool = False, label: str | None = None,
             model_dir=None) -> TransformersLanguageModel:
        entry = load_hf(model_dir, version_path, quantize=int8)
        name = label or (Path(version_path).name if version_path else "SmolLM2-135M-Instruct")
        return cls(entry, label=f"{name} ({'transformers int8' if int8 else 'transformers fp32'})", int8=int8)

    def render(self, messages: list[dict]) -> str:
        return self.tokenizer.apply_chat_template(llm._check_messages(messages), tokenize=False,
                                                  add_generation_prompt=True)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"]) if text else 0

    def stream_chat(self, messages: list[dict], *, should_stop: Callable[[], bool] | None = None,
                    **sampling: Any) -> Iterator[str]:
        s = llm._Sampling.from_kwargs(**sampling)
        stop = llm._StopPoll(should_stop)
        tail = llm._TextTail(s.stop)
        for piece in stream_tokens(self.model, self.tokenizer, self.render(messages), max_new_tokens=s.max_tokens,
                                   temperature=s.temperature, top_p=s.top_p, repetition_penalty=s.repeat_penalty,
                                   seed=s.seed):
            tail.add(piece.encode("utf-8"))
            out = tail.take()
            if out:
                yield out
            if tail.stopped or stop():
                break
        tail.finish()
        rest = tail.take(final=True)
        if rest:
            yield rest

    def complete_batch(self, conversations: Sequence[list[dict]], *,
                       should_stop: Callable[[], bool] | None = None, **sampling: Any) -> list[llm.Completion]:
        s = llm._Sampling.from_kwargs(**sampling)
        if not conversations:
            return []
        texts, stopped = generate_texts(self.model, self.tokenizer, [self.render(c) for c in conversations],
                                        max_new_tokens=s.max_tokens, temperature=s.temperature, top_p=s.top_p,
                                        repetition_penalty=s.repeat_penalty, seed=s.seed, should_stop=should_stop)
        if stopped:
            raise llm.LMStopped("stopped while decoding a batch")
        out = []
        for text, n in texts:
            for stop in s.stop:
                if stop in text:
                    text = text[:text.index(stop)]
            out.append(llm.Completion(text, n, "length" if n >= s.max_tokens else "stop"))
        return out
