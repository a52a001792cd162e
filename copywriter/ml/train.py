"""Fine-tuning SmolLM2 on a store's own facts -> description pairs (LoRA or full), no Django.

- split by normalised product name (variants share descriptions, so a name never sits on both sides)
- loss only on the description tokens (the prompt is masked with -100)
- early stopping on held-out loss, evaluated every ``eval_every`` steps, best weights kept
- ``on_progress`` receives every loss point so the caller can stream the curve live
- the saved version is also exported for the llama.cpp runtime: merged weights as ``<out_dir>/model.gguf``
  (:func:`export_for_runtime`), which is what generation loads
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import facts as factlib
from . import lm
from .generate import SYSTEM_PROMPT, Options, ProductFacts, build_prompt

MIN_EXAMPLES = 50


class TooFewExamples(ValueError):
    pass


@dataclass
class Example:
    facts: ProductFacts
    description: str


@dataclass
class TrainConfig:
    method: str = "lora"  # "lora" or "full"
    epochs: int = 1
    max_steps: int | None = None
    batch_size: int = 8
    lr: float | None = None
    max_len: int = 256
    eval_every: int = 10
    patience: int = 3
    val_fraction: float = 0.15
    lora_r: int = 16
    seed: int = 0
    min_examples: int = MIN_EXAMPLES
    grounded_targets: bool = True  # train on the supported sentences of each description only


@dataclass
class TrainResult:
    path: str
    method: str
    steps: int
    best_val_loss: float
    initial_val_loss: float
    curve: list[dict] = field(default_factory=list)
    n_train: int = 0
    n_val: int = 0
    seconds: float = 0.0
    stopped_early: bool = False
    gguf_path: str = ""
    export_seconds: float = 0.0


def name_key(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", title.lower()).strip()


def split_by_name(examples: Sequence[Example], val_fraction: float, seed: int = 0) -> tuple[list, list]:
    """Deterministic split by hashed product name: every variant of a name lands on the same side."""
    train, val = [], []
    for ex in examples:
        h = int(hashlib.sha1(f"{seed}:{name_key(ex.facts.title)}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        (val if h < val_fraction else train).append(ex)
    if not val and len(train) > 1:
        val.append(train.pop())
    return train, val


def grounded_target(ex: Example) -> Example | None:
    """The training target with every sentence that states a fact missing from the input removed.

    Human copy often mentions details the structured data lacks (Myntra: "two pockets", "cotton" with only
    gender and colour as attributes). Trained on it verbatim, the model learns to state facts it was not
    given; trained on the grounded part it learns the house style without the invention. None when nothing
    grounded is left.
    """
    f = ex.facts
    report = factlib.check_facts(ex.description, title=f.title, brand=f.brand, category=f.category,
                                 attributes=f.attributes)
    text = factlib.remove_unsupported_sentences(ex.description, report) if report.unsupported else ex.description
    return Example(f, text) if len(text.split()) >= 3 else None


def length_for(description: str) -> str:
    n = len(description.split())
    return "short" if n < 75 else ("medium" if n < 150 else "long")


def encode(tokenizer: Any, ex: Example, max_len: int) -> tuple[list[int], list[int]]:
    prompt = lm.chat_prompt(tokenizer, build_prompt(ex.facts, Options(length=length_for(ex.description))),
                            system=SYSTEM_PROMPT)
    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    t_ids = tokenizer(ex.description.strip(), add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    p_ids = p_ids[-(max_len // 2):] if len(p_ids) > max_len // 2 else p_ids  # never let the prompt eat the target
    ids = (p_ids + t_ids)[:max_len]
    labels = ([-100] * len(p_ids) + t_ids)[:max_len]
    return ids, labels


def _collate(batch: list[tuple[list[int], list[int]]], pad_id: int):
    import torch

    n = max(len(ids) for ids, _ in batch)
    input_ids = torch.full((len(batch), n), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), n), -100, dtype=torch.long)
    attn = torch.zeros((len(batch), n), dtype=torch.long)
    for i, (ids, lab) in enumerate(batch):  # right padding for training
        input_ids[i, : len(ids)] = torch.tensor(ids)
        labels[i, : len(lab)] = torch.tensor(lab)
        attn[i, : len(ids)] = 1
    return {"input_ids": input_ids, "labels": labels, "attention_mask": attn}


def _eval_loss(model, encoded, pad_id: int, batch_size: int) -> float:
    import torch

    model.eval()
    total, count = 0.0, 0
    with torch.inference_mode():
        for i in range(0, len(encoded), batch_size):
            batch = _collate(encoded[i: i + batch_size], pad_id)
            n_tok = int((batch["labels"][:, 1:] != -100).sum())
            out = model(**batch)
            total += float(out.loss) * n_tok
            count += n_tok
    model.train()
    return total / max(count, 1)


def fine_tune(
    examples: Sequence[Example],
    out_dir: str | Path,
    *,
    model_dir: str | Path | None = None,
    config: TrainConfig | None = None,
    on_progress: Callable[[dict], None] | None = None,
) -> TrainResult:
    """Train and save a version to ``out_dir`` (adapter for LoRA, full weights otherwise)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cfg = config or TrainConfig()
    if len(examples) < cfg.min_examples:
        raise TooFewExamples(
            f"Fine-tuning needs at least {cfg.min_examples} human-written descriptions; found {len(examples)}.")
    t0 = time.perf_counter()
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    from ecomops.ml import llm_torch

    lm.set_threads()
    base = llm_torch.ensure_base(model_dir)  # the safetensors copy of the shipped GGUF (converted once)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    if cfg.method == "lora":
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(
            r=cfg.lora_r, lora_alpha=2 * cfg.lora_r, lora_dropout=0.05, task_type="CAUSAL_LM",
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]))
        lr = cfg.lr or 1e-3
    elif cfg.method == "full":
        lr = cfg.lr or 5e-5
    else:
        raise ValueError("method must be 'lora' or 'full'")
    # a different salt from evaluation.heldout's split: the examples may already be its train side
    train, val = split_by_name(examples, cfg.val_fraction, cfg.seed + 1)
    if cfg.grounded_targets:
        train = [g for g in map(grounded_target, train) if g is not None]
        val = [g for g in map(grounded_target, val) if g is not None] or val
    enc_train = [encode(tokenizer, ex, cfg.max_len) for ex in train]
    enc_val = [encode(tokenizer, ex, cfg.max_len) for ex in val]
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    steps_per_epoch = math.ceil(len(enc_train) / cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 5) * max(0.05, 1 - s / max(total_steps, 1)))
    pad_id = tokenizer.pad_token_id
    initial = _eval_loss(model, enc_val, pad_id, cfg.batch_size)
    curve = [{"step": 0, "val_loss": round(initial, 4)}]
    if on_progress:
        on_progress({"step": 0, "total_steps": total_steps, "val_loss": initial})
    best, best_state, bad_evals, step, stopped = initial, None, 0, 0, False
    model.train()
    out_dir = Path(out_dir)
    while step < total_steps and not stopped:
        order = list(range(len(enc_train)))
        random.shuffle(order)
        for i in range(0, len(order), cfg.batch_size):
            batch = _collate([enc_train[j] for j in order[i: i + cfg.batch_size]], pad_id)
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            point: dict[str, Any] = {"step": step, "train_loss": round(float(loss), 4)}
            if step % cfg.eval_every == 0 or step == total_steps:
                vl = _eval_loss(model, enc_val, pad_id, cfg.batch_size)
                point["val_loss"] = round(vl, 4)
                if vl < best - 1e-4:
                    best, bad_evals = vl, 0
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()
                                  if cfg.method == "full" or "lora_" in k}
                else:
                    bad_evals += 1
                    if bad_evals >= cfg.patience:
                        stopped = True
            curve.append(point)
            if on_progress:
                on_progress({**point, "total_steps": total_steps})
            if step >= total_steps or stopped:
                break
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    t_export = time.perf_counter()
    gguf = export_for_runtime(model, out_dir)
    result = TrainResult(str(out_dir), cfg.method, step, round(best, 4), round(initial, 4), curve, len(train),
                         len(val), round(time.perf_counter() - t0, 1), stopped, str(gguf),
                         round(time.perf_counter() - t_export, 1))
    (out_dir / "training.json").write_text(json.dumps(result.__dict__, indent=1))
    return result


def export_for_runtime(model: Any, out_dir: str | Path, *, weights: str | None = None) -> Path:
    """Write the trained model (a PEFT model is merged first) as ``<out_dir>/model.gguf`` for llama.cpp."""
    from ecomops.ml import gguf_export, llm

    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    cfg = model.config
    weights = weights or lm.EXPORT_WEIGHTS
    out = gguf_export.export_llama(model.state_dict(), n_head=cfg.num_attention_heads,
                                   n_head_kv=cfg.num_key_value_heads, dst=Path(out_dir) / llm.VERSION_GGUF,
                                   template=llm.gguf_path(), weights=weights, label=Path(out_dir).name)
    (Path(out_dir) / "export.json").write_text(json.dumps({"format": "gguf", "weights": weights, "file": out.name}))
    return out
