"""llama.cpp step timings of SmolLM2 per weight format and thread count: prefill, one-sequence decode, batch decode.

    .venv/bin/python bench/llm_kernels.py [--formats q4_1,q8_0,bf16,f16,q4_0] [--threads 1,2] [--parallel 16,32,64]
                                          [--flash off,on] [--repeats 3] [--json PATH]

What bench/copywriter.py cannot separate: where the time of a stream's first token and of a batch step goes,
measured on ``llama_decode`` alone (no sampling, no Python loop around it), per weight file:

* ``prefill``: the user turn of the copywriter bench's prompts (the system prompt already in the KV cache, as in a
  worker), decoded as one batch with ``n_threads_batch`` = threads; tok/s over the user turn's tokens;
* ``decode1``: one sequence, one token per step (the stream's decoding), ``n_threads`` = threads;
* ``batchP``: P sequences with their prompts in the KV cache (kv_unified off, one stream per sequence, as the
  runtime's batch context), one token each per step.

Wall seconds and process CPU seconds are both reported (tok/s and tok/cpu-s); the load average is printed. Formats
other than the shipped Q4_1 are written once into the model directory (``ecomops.ml.gguf_export``), derived from
the shipped file: nothing better than Q4_1's own information exists in any of them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))


def bench_messages(n: int) -> list[list[dict]]:
    """The copywriter bench's own prompts for n products of different domains (bench/copywriter.py)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_copywriter", Path(__file__).with_name("copywriter.py"))
    cw = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cw)
    products = cw.load_products(ROOT / "tests" / "fixtures" / "copywriter" / "multidomain.csv")
    return [cw.messages_for(p) for p in cw.varied(products, n)]


def _ctx(lc, internals, model, *, n_ctx, n_seq, threads, batch_threads, flash, ubatch=512):
    p = lc.llama_context_default_params()
    p.n_ctx, p.n_batch, p.n_ubatch, p.n_seq_max = n_ctx, 512, ubatch, n_seq
    p.n_threads, p.n_threads_batch = threads, batch_threads
    p.kv_unified = False
    p.no_perf = True
    p.flash_attn_type = {"on": lc.LLAMA_FLASH_ATTN_TYPE_ENABLED, "off": lc.LLAMA_FLASH_ATTN_TYPE_DISABLED,
                         "auto": lc.LLAMA_FLASH_ATTN_TYPE_AUTO}[flash]
    return internals.LlamaContext(model=model, params=p, verbose=False)


def measure(path: Path, threads: int, parallel: list[int], flash: str, repeats: int) -> dict:
    import llama_cpp as lc
    from llama_cpp import _internals as internals
    from llama_cpp._logger import set_verbose

    set_verbose(False)  # llama.cpp's debug lines go through a Python callback: filter them

    from ecomops.ml.llm import LlamaCppLanguageModel as R

    model = internals.LlamaModel(path_model=str(path), params=lc.llama_model_default_params(), verbose=False)
    convs = bench_messages(12)
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    formatter = Jinja2ChatFormatter(template=model.metadata()["tokenizer.chat_template"], eos_token="<|im_end|>",
                                    bos_token="<|im_start|>")
    prompts = [model.tokenize(formatter(messages=c).prompt.encode(), False, True) for c in convs]
    sys_len = 0
    for k in range(min(len(p) for p in prompts)):
        if len({p[k] for p in prompts}) > 1:
            break
        sys_len = k + 1
    batch = internals.LlamaBatch(n_tokens=512, embd=0, n_seq_max=1, verbose=False)
    out: dict = {"file": path.name, "threads": threads, "flash": flash, "system_tokens": sys_len,
                 "user_tokens_mean": round(sum(len(p) - sys_len for p in prompts) / len(prompts), 1)}

    def decode(ctx, b):
        rc = lc.llama_decode(ctx.ctx, b.batch)
        if rc != 0:
            raise RuntimeError(f"llama_decode {rc}")

    # prefill and one-sequence decode: n_threads 1 for decoding as the runtime's stream, batch threads = threads
    ctx = _ctx(lc, internals, model, n_ctx=2048, n_seq=1, threads=threads, batch_threads=threads, flash=flash)
    R._fill(batch.batch, prompts[0][:sys_len], 0, 0, logits_last=True)
    decode(ctx, batch)
    best = None
    for _ in range(repeats):
        n, w0, c0 = 0, time.perf_counter(), time.process_time()
        for p in prompts:
            lc.llama_memory_seq_rm(ctx.memory, 0, sys_len, -1)
            R._fill(batch.batch, p[sys_len:], sys_len, 0, logits_last=True)
            decode(ctx, batch)
            n += len(p) - sys_len
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        if best is None or wall < best[1]:
            best = (n, wall, cpu)
    n, wall, cpu = best
    out["prefill_tok_s"], out["prefill_tok_cpu_s"] = round(n / wall, 1), round(n / cpu, 1)
    out["prefill_ms_per_prompt"] = round(1000 * wall / len(prompts), 1)
    best = None
    for _ in range(repeats):
        pos = len(prompts[-1])
        w0, c0 = time.perf_counter(), time.process_time()
        for k in range(48):
            R._fill(batch.batch, [prompts[-1][k % 10 + sys_len]], pos + k, 0, logits_last=True)
            decode(ctx, batch)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        lc.llama_memory_seq_rm(ctx.memory, 0, pos, -1)
        if best is None or wall < best[0]:
            best = (wall, cpu)
    out["decode1_tok_s"], out["decode1_tok_cpu_s"] = round(48 / best[0], 1), round(48 / best[1], 1)
    ctx.close()

    for P in parallel:
        ctx = _ctx(lc, internals, model, n_ctx=P * 256, n_seq=P, threads=threads, batch_threads=threads, flash=flash)
        for s in range(P):
            p = prompts[s % len(prompts)]
            R._fill(batch.batch, p, 0, s, logits_last=True)
            decode(ctx, batch)
        best = None
        for r in range(repeats):
            steps = 24
            w0, c0 = time.perf_counter(), time.process_time()
            for k in range(steps):
                done = 0
                while done < P:
                    batch.batch.n_tokens = 0
                    for s in range(done, min(P, done + 512)):
                        pos = len(prompts[s % len(prompts)]) + r * steps + k
                        R._append(batch.batch, [prompts[s % len(prompts)][sys_len + k % 10]], pos, s, logits_last=True)
                    decode(ctx, batch)
                    done += 512
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            if best is None or wall < best[0]:
                best = (wall, cpu)
        out[f"batch{P}_tok_s"] = round(P * steps / best[0], 1)
        out[f"batch{P}_tok_cpu_s"] = round(P * steps / best[1], 1)
        ctx.close()
    batch.close()
    model.close()
    return out


def variant(fmt: str) -> Path:
    from ecomops.ml import llm

    if fmt == "q4_1":
        return llm.gguf_path()
    return llm.base_batch_gguf(fmt)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--formats", default="q4_1,q8_0,bf16,f16,q4_0")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--parallel", default="16,32,64")
    ap.add_argument("--flash", default="off", help="comma list of off, on, auto")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", dest="json_path")
    args = ap.parse_args()
    parallel = [int(x) for x in args.parallel.split(",") if x]
    rows = []
    load0 = os.getloadavg()
    for fmt in [f.strip() for f in args.formats.split(",") if f.strip()]:
        path = variant(fmt)
        for t in [int(x) for x in args.threads.split(",")]:
            for flash in args.flash.split(","):
                row = {"format": fmt, **measure(path, t, parallel, flash, args.repeats),
                       "loadavg": [round(x, 2) for x in os.getloadavg()]}
                rows.append(row)
                print(json.dumps(row), flush=True)
    cols = ["format", "threads", "flash", "prefill_tok_s", "prefill_tok_cpu_s", "prefill_ms_per_prompt",
            "decode1_tok_s", "decode1_tok_cpu_s"] + [f"batch{P}_tok_s" for P in parallel] + \
        [f"batch{P}_tok_cpu_s" for P in parallel]
    print("  ".join(cols))
    for r in rows:
        print("  ".join(str(r.get(c, "")) for c in cols))
    print(f"load average {[round(x, 2) for x in load0]} -> {[round(x, 2) for x in os.getloadavg()]} on "
          f"{os.cpu_count()} CPUs; user turn {rows[0]['user_tokens_mean'] if rows else '?'} tokens after a "
          f"{rows[0]['system_tokens'] if rows else '?'}-token cached system prompt")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps({"rows": rows, "loadavg_start": load0}, indent=1))


if __name__ == "__main__":
    main()
