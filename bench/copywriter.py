"""Language-model engines for copy, side by side: speed, memory and a quality gate in one table.

    .venv/bin/python bench/copywriter.py [--configs peer,ours,fp32,int8] [--threads 1] [--bulk-products 32]
                                         [--max-tokens 64] [--gate-products 12] [--products-csv PATH] [--json PATH]

Rows (all on the same prompts, greedy decoding, repeat penalty 1.1, the same thread count):

* ``peer``: llama.cpp's own single stream, plain ``llama_cpp.Llama.create_chat_completion(stream=True)`` on the
  shipped SmolLM2-135M-Instruct Q4_1 GGUF: the speed to match.
* ``ours stream`` / ``ours bulk``: the project runtime (``ecomops.ml.llm``) as a worker runs it:
  ``stream_chat`` on the Q8_0 copy of the shipped weights (its prompt decoded on ``ECOMOPS_LLM_PREFILL_THREADS``,
  default 2), ``chat_batch`` decoding up to 32 sequences per llama_batch on the BF16 copy. The environment
  (``ECOMOPS_LLM_STREAM_WEIGHTS``, ``ECOMOPS_LLM_BATCH_WEIGHTS``, ``ECOMOPS_LLM_PARALLEL``,
  ``ECOMOPS_LLM_PREFILL_THREADS``) selects the candidates; bench/llm_kernels.py times llama_decode per format.
* ``transformers fp32`` / ``transformers int8``: the former torch path and its dynamic int8 quantisation.

Each configuration runs in its own process, so its peak RSS is its own (``ours`` = one worker holding both
contexts). The quality gate then reads every candidate's raw answers for ``--gate-products`` products of
different domains and fails an answer that is empty, carries chat-template or assistant boilerplate
("You are an AI assistant…", "<|im_start|>", "as an AI"; a leading "Here's a description of X:" line is
stripped first, as the copywriter's cleaning step does, and counted as a preamble), loops (a 4-word phrase three times or a 6-word
phrase twice), or is off the product (MiniLM cosine similarity to the product's own facts below the
threshold calibrated on the human-written descriptions of the fixture: their 5th percentile). A candidate
passes when no answer is empty or boilerplate and at most 1 in 12 loops or drifts. A failing configuration
cannot be the default (the table says which one ships).

single_tok_s = tokens after the first / time after the first (mean over 3 products); ttft_s = time to the first
text piece (mean, the system prompt warm in the cache as in a worker); bulk_tok_s = all new tokens of
``--bulk-products`` products / wall time. The machine may be shared: the load average is printed with the figures,
and the tok/cpu-s columns (tokens per CPU second of the process) hold up under load where wall time does not
(with one thread; llama.cpp's worker threads spin while they wait, so with more they overstate the cost).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Not bench/ itself on the path: bench/http.py would shadow the standard library's http (torch, Django import it).
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

CONFIGS = ("peer", "ours", "fp32", "int8")
SHIPPED = "ours"
SYSTEM = ("You write product descriptions for an online shop. Use only the facts given. "
          "Never invent materials, sizes, numbers, certifications, warranties or brand names.")
SAMPLING = {"temperature": 0.0, "repeat_penalty": 1.1}
FALLBACK_PRODUCTS = [  # used only when no fixture file is at hand: one per domain
    ("Aurel Pro Wireless Earbuds", "Electronics > Audio", {"battery_life": "40 h with case", "water_resistance": "IPX4", "connectivity": "Bluetooth 5.3"}),
    ("Voltis 20000 mAh Power Bank", "Electronics > Phone Accessories", {"capacity": "20000 mAh", "output": "22.5 W", "weight": "350 g"}),
    ("Copperline Saucepan 18 cm", "Home & Kitchen > Cookware", {"material": "Tri-ply stainless steel", "capacity": "1.9 l", "hob": "Induction ready"}),
    ("Oak Bread Board", "Home & Kitchen > Kitchen Tools", {"material": "Oiled oak", "size": "40 x 25 cm"}),
    ("Rosehip Face Oil", "Beauty > Skincare", {"volume": "30 ml", "skin_type": "Dry skin", "ingredients": "Cold-pressed rosehip oil"}),
    ("Mineral Sunscreen SPF 50", "Beauty > Sun Care", {"spf": "50", "volume": "50 ml", "water_resistant": "40 minutes"}),
    ("Orthopaedic Dog Bed", "Pet Supplies > Dogs", {"size": "Large, 100 x 70 cm", "filling": "Memory foam", "cover": "Washable"}),
    ("Cat Scratching Post", "Pet Supplies > Cats", {"height": "80 cm", "material": "Sisal rope", "base": "Carpeted"}),
    ("Trail Running Shoes", "Sports > Running", {"drop": "6 mm", "weight": "280 g", "outsole": "Vibram"}),
    ("Yoga Mat 6 mm", "Sports > Yoga", {"thickness": "6 mm", "material": "Natural rubber", "length": "183 cm"}),
    ("Walnut Bedside Table", "Furniture > Bedroom", {"material": "Walnut veneer", "drawers": "2", "height": "55 cm"}),
    ("Linen Two-Seater Sofa", "Furniture > Living Room", {"upholstery": "Linen blend", "width": "160 cm", "legs": "Oak"}),
]


# --- products -------------------------------------------------------------------------------------------


def load_products(csv_path: Path | None) -> list[dict]:
    """Rows with title, category, attributes (dict), description (human reference, may be empty)."""
    if csv_path and csv_path.exists():
        with csv_path.open(newline="") as fh:
            rows = []
            for i, row in enumerate(csv.DictReader(fh), start=2):
                try:
                    attrs = json.loads(row.get("attributes") or "{}")
                except json.JSONDecodeError as exc:
                    raise SystemExit(f"{csv_path}:{i}: attributes is not JSON ({exc})") from None
                rows.append({"title": row["title"], "brand": row.get("brand", ""), "category": row.get("category", ""),
                             "attributes": attrs, "description": row.get("description", "")})
            return rows
    return [{"title": t, "brand": "", "category": c, "attributes": a, "description": ""} for t, c, a in FALLBACK_PRODUCTS]


def varied(products: list[dict], n: int) -> list[dict]:
    """Round-robin over top-level categories, so n products span as many domains as the file has."""
    by_domain: dict[str, list[dict]] = defaultdict(list)
    for p in products:
        by_domain[(p["category"] or "?").split(">")[0].strip()].append(p)
    out, queues = [], list(by_domain.values())
    while len(out) < n and any(queues):
        for q in queues:
            if q and len(out) < n:
                out.append(q.pop(0))
    return out


def facts_text(p: dict) -> str:
    lines = [f"Product: {p['title']}"] + ([f"Brand: {p['brand']}"] if p["brand"] else [])
    lines += [f"Category: {p['category']}"] if p["category"] else []
    lines += [f"{k.replace('_', ' ')}: {v}" for k, v in p["attributes"].items()]
    return "\n".join(lines)


def messages_for(p: dict) -> list[dict]:
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Facts:\n{facts_text(p)}\n\nWrite a clear and factual product description "
                                        "of about 50 words using only these facts."}]


# --- one configuration (child process) -------------------------------------------------------------------


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed_stream(pieces, count_tokens) -> tuple[str, float, float, int, float]:
    """(text, ttft, tok/s after the first, tokens, CPU seconds of this process)."""
    t0, c0 = time.perf_counter(), time.process_time()
    first, text = None, ""
    for piece in pieces:
        if first is None and piece:
            first = time.perf_counter()
        text += piece
    end = time.perf_counter()
    cpu = time.process_time() - c0
    n = count_tokens(text)
    first = first or end
    return text, first - t0, (n - 1) / (end - first) if n > 1 and end > first else 0.0, n, cpu


def run_config(name: str, args) -> dict:
    from ecomops.ml import llm

    products = load_products(args.products_csv)
    gate_products = varied(products, args.gate_products)
    bulk = [messages_for(p) for p in (products * (1 + args.bulk_products // max(len(products), 1)))[: args.bulk_products]]
    speed = [messages_for(p) for p in gate_products[:3]]
    warm = messages_for(gate_products[-1])
    t0 = time.perf_counter()
    rows: list[dict] = []
    if name == "peer":
        import llama_cpp

        peer = llama_cpp.Llama(model_path=str(llm.gguf_path()), n_ctx=2048, n_threads=args.threads,
                               n_threads_batch=args.threads, verbose=False)
        load_s = time.perf_counter() - t0

        def count(text: str) -> int:
            return len(peer.tokenize(text.encode(), add_bos=False, special=False)) if text else 0

        def stream(msgs, max_tokens):
            for chunk in peer.create_chat_completion(messages=msgs, max_tokens=max_tokens, stream=True,
                                                     temperature=0.0, repeat_penalty=SAMPLING["repeat_penalty"]):
                yield chunk["choices"][0]["delta"].get("content", "") or ""

        "".join(stream(warm, 2))  # warm: weights paged in, the system prompt cached, like a worker
        singles = [_timed_stream(stream(m, args.max_tokens), count) for m in speed]
        gate = ["".join(stream(messages_for(p), args.gate_tokens)) for p in gate_products]
        rows.append(_row("peer: llama_cpp.Llama.create_chat_completion, shipped Q4_1", "peer", singles, None, gate,
                         load_s, None))
    elif name == "ours":
        stream_path = llm.base_stream_gguf()
        model = llm.LlamaCppLanguageModel(stream_path, label=llm.BASE_LABEL, batch_model_path=llm.base_batch_gguf(),
                                          n_threads=args.bulk_threads, stream_threads=args.threads)
        load_s = time.perf_counter() - t0
        model.warm_up()
        "".join(model.stream_chat(warm, max_tokens=2, **SAMPLING))  # the same warm state as the peer's
        singles = [_timed_stream(model.stream_chat(m, max_tokens=args.max_tokens, **SAMPLING), model.count_tokens)
                   for m in speed]
        gate_stream = ["".join(model.stream_chat(messages_for(p), max_tokens=args.gate_tokens, **SAMPLING))
                       for p in gate_products]
        t1, c1 = time.perf_counter(), time.process_time()
        done = model.complete_batch(bulk, max_tokens=args.max_tokens, **SAMPLING)
        n_tok = sum(c.n_tokens for c in done)
        bulk_tok_s = n_tok / (time.perf_counter() - t1)
        bulk_cpu = n_tok / max(time.process_time() - c1, 1e-9)
        gate_bulk = model.chat_batch([messages_for(p) for p in gate_products], max_tokens=args.gate_tokens, **SAMPLING)
        fmt = "Q4_1" if stream_path == llm.gguf_path() else stream_path.suffixes[-2].lstrip(".").upper()
        rows.append(_row(f"ours stream: stream_chat, {fmt}, prefix cache, {args.threads} thread(s), prompt on "
                         f"{model.prefill_threads}", "ours-stream",
                         singles, None, gate_stream, load_s, None))
        rows.append(_row(f"ours bulk: chat_batch, {model.n_parallel} seqs/llama_batch, "
                         f"{Path(model.batch_model_path).suffixes[-2].lstrip('.').upper()} weights, "
                         f"{args.bulk_threads} thread(s)", "ours-bulk", None, bulk_tok_s, gate_bulk, load_s, bulk_cpu))
    else:
        from ecomops.ml import llm_torch

        llm_torch.set_threads(args.threads)
        model = llm_torch.TransformersLanguageModel.load(None, int8=name == "int8")
        load_s = time.perf_counter() - t0
        "".join(model.stream_chat(warm, max_tokens=2, **SAMPLING))
        singles = [_timed_stream(model.stream_chat(m, max_tokens=args.max_tokens, **SAMPLING), model.count_tokens)
                   for m in speed]
        t1, c1 = time.perf_counter(), time.process_time()
        n_tok = 0
        for i in range(0, len(bulk), 16):
            n_tok += sum(c.n_tokens for c in model.complete_batch(bulk[i:i + 16], max_tokens=args.max_tokens,
                                                                  **SAMPLING))
        bulk_tok_s = n_tok / (time.perf_counter() - t1)
        bulk_cpu = n_tok / max(time.process_time() - c1, 1e-9)
        gate = model.chat_batch([messages_for(p) for p in gate_products], max_tokens=args.gate_tokens, **SAMPLING)
        label = "transformers fp32 (former path)" if name == "fp32" else "transformers dynamic int8 (former default)"
        rows.append(_row(f"{label}, {args.threads} torch thread(s)", name, singles, bulk_tok_s, gate, load_s, bulk_cpu))
    rss = _rss_mb()
    for r in rows:
        r["peak_rss_mb"] = round(rss, 1)
    return {"rows": rows, "gate_products": gate_products}


def _row(system: str, key: str, singles, bulk_tok_s, gate_texts, load_s, bulk_cpu_tok_s) -> dict:
    row = {"system": system, "key": key, "load_s": round(load_s, 2), "gate_texts": gate_texts,
           "single_tok_s": None, "ttft_s": None, "bulk_tok_s": round(bulk_tok_s, 1) if bulk_tok_s else None,
           "single_cpu_tok_s": None, "bulk_cpu_tok_s": round(bulk_cpu_tok_s, 1) if bulk_cpu_tok_s else None}
    if singles:
        row["single_tok_s"] = round(sum(s[2] for s in singles) / len(singles), 1)
        row["ttft_s"] = round(sum(s[1] for s in singles) / len(singles), 3)
        row["single_tokens"] = [s[3] for s in singles]
        # tokens per CPU second of the process (whole stream incl. the prompt): robust to a shared machine
        row["single_cpu_tok_s"] = round(sum(s[3] for s in singles) / max(sum(s[4] for s in singles), 1e-9), 1)
    return row


# --- the quality gate (parent process) -------------------------------------------------------------------

BOILERPLATE = re.compile(r"<\|im_(?:start|end)\|>|^\s*(?:assistant|user|system)\s*[:\n]|\b(?:as an ai|i am an ai|"
                         r"i'm an ai|you are an ai|ai assistant|language model|i hope this|let me know if|"
                         r"here(?:'s| is) (?:a|an|the|your)\b)", re.I | re.M)
# a leading "Here's a product description of X:" line: the copywriter's own cleaning step
# (copywriter.ml.generate.clean_model_text) removes it before anything else reads the text, so the gate judges
# what follows it, and counts it (column "preamble") rather than failing on it; anywhere else it is boilerplate
PREAMBLE = re.compile(r"^\s*(?:sure|certainly|here(?:'s| is) (?:a|an|the|your))\b[^\n:]*:\s*", re.I)


def looping(text: str) -> bool:
    words = re.findall(r"[a-z0-9']+", text.lower())
    for n, times in ((4, 3), (6, 2)):
        grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
        if grams and grams.most_common(1)[0][1] >= times:
            return True
    return False


def _embedder():
    try:
        from ecomops.ml import embedder  # the shared home once the prose branch lands
    except ImportError:
        from support.ml import embedder
    return embedder


def calibrate_threshold(products: list[dict]) -> tuple[float, int]:
    """5th percentile of MiniLM similarity(human description, its facts) over the fixture's references."""
    import numpy as np

    refs = [p for p in products if len(p["description"].split()) >= 8]
    if len(refs) < 10:
        return 0.35, 0
    emb = _embedder()
    a = emb.embed([p["description"] for p in refs])
    b = emb.embed([facts_text(p) for p in refs])
    sims = (a * b).sum(1)
    return round(float(np.percentile(sims, 5)), 3), len(refs)


def gate(texts: list[str], products: list[dict], threshold: float) -> dict:
    emb = _embedder()
    bodies = [PREAMBLE.sub("", t, count=1) for t in texts]
    sims = (emb.embed([t or " " for t in bodies]) * emb.embed([facts_text(p) for p in products])).sum(1)
    fails = {"empty": 0, "boilerplate": 0, "loop": 0, "off_topic": 0}
    preambles = 0
    examples = []
    for text, sim, p in zip(texts, sims, products, strict=True):
        reasons = []
        if PREAMBLE.match(text):
            preambles += 1
            text = PREAMBLE.sub("", text, count=1)
        if not text.strip():
            reasons.append("empty")
        elif BOILERPLATE.search(text):
            reasons.append("boilerplate")
        if text.strip() and looping(text):
            reasons.append("loop")
        if text.strip() and sim < threshold:
            reasons.append("off_topic")
        for r in reasons:
            fails[r] += 1
        if reasons and len(examples) < 3:
            examples.append({"title": p["title"], "reasons": reasons, "similarity": round(float(sim), 3),
                             "text": text[:240]})
    allowed_soft = max(1, len(texts) // 12)
    passed = fails["empty"] == 0 and fails["boilerplate"] == 0 and fails["loop"] + fails["off_topic"] <= allowed_soft
    return {"passed": bool(passed), "n": len(texts), "fails": fails, "preambles": preambles,
            "mean_similarity": round(float(sims.mean()), 3), "examples": examples}


def gate_label(g: dict) -> str:
    bad = ", ".join(f"{v} {k}" for k, v in g["fails"].items() if v)
    pre = f"; {g['preambles']} preamble" if g.get("preambles") else ""
    return ("pass" if g["passed"] else "FAIL") + f" ({bad or 'clean'}{pre}; sim {g['mean_similarity']})"


# --- main -------------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default=",".join(CONFIGS), help=f"any of {', '.join(CONFIGS)}")
    ap.add_argument("--threads", type=int, default=1, help="threads of every single stream (peer, ours, torch)")
    ap.add_argument("--bulk-threads", type=int, default=None, help="threads of ours bulk (default: --threads)")
    ap.add_argument("--bulk-products", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--gate-products", type=int, default=12)
    ap.add_argument("--gate-tokens", type=int, default=80)
    ap.add_argument("--products-csv", type=Path, default=None,
                    help="title,brand,category,attributes(JSON),description; default: the multi-domain fixture")
    ap.add_argument("--json", dest="json_path")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--child-out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.bulk_threads = args.bulk_threads or args.threads
    if args.products_csv is None:
        default = ROOT / "tests" / "fixtures" / "copywriter" / "multidomain.csv"
        args.products_csv = default if default.exists() else None
    if args.child:
        Path(args.child_out).write_text(json.dumps(run_config(args.child, args)))
        return
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = sorted(set(configs) - set(CONFIGS))
    if unknown:
        raise SystemExit(f"unknown config(s) {', '.join(unknown)}; choose from {', '.join(CONFIGS)}")
    load_start = os.getloadavg()
    t_start = time.perf_counter()
    products = load_products(args.products_csv)
    rows, gate_products = [], None
    for name in configs:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
            out = Path(fh.name)
        cmd = [sys.executable, __file__, "--child", name, "--child-out", str(out)] + _passthrough(args)
        print(f"running {name}…", file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, cwd=ROOT)
        child = json.loads(out.read_text())
        out.unlink()
        rows += child["rows"]
        gate_products = child["gate_products"]
    threshold, n_refs = calibrate_threshold(products)
    for r in rows:
        r["quality_gate"] = gate(r["gate_texts"], gate_products, threshold)  # texts stay in the JSON to read
    by_key = {r["key"]: r for r in rows}
    peer = by_key.get("peer", {}).get("single_tok_s")
    for r in rows:
        r["x_peer_single"] = round(r["single_tok_s"] / peer, 2) if peer and r["single_tok_s"] else None
        r["bulk_x_peer_single"] = round(r["bulk_tok_s"] / peer, 2) if peer and r["bulk_tok_s"] else None
    _print_table(rows)
    stream, bulk_row = by_key.get("ours-stream"), by_key.get("ours-bulk")
    result = {
        "shipped": "ours: ecomops.ml.llm (llama.cpp), stream_chat + chat_batch",
        "single_tok_s": stream and stream["single_tok_s"], "peer_single_tok_s": peer,
        "bulk_tok_s": bulk_row and bulk_row["bulk_tok_s"], "ttft_s": stream and stream["ttft_s"],
        "quality_gate": ("pass" if stream and bulk_row and stream["quality_gate"]["passed"]
                         and bulk_row["quality_gate"]["passed"] else "fail") if stream or bulk_row else None,
        "peak_rss_mb": (stream or bulk_row or {}).get("peak_rss_mb"),
        "single_x_peer": stream and stream["x_peer_single"], "bulk_x_peer_single": bulk_row and bulk_row["bulk_x_peer_single"],
        "gate_threshold": threshold, "gate_threshold_refs": n_refs,
        "gate_products": [p["title"] for p in (gate_products or [])],
        "products_csv": str(args.products_csv or "inline fallback list"),
        "rows": rows, "threads": args.threads, "bulk_threads": args.bulk_threads, "max_tokens": args.max_tokens,
        "bulk_products": args.bulk_products, "seconds": round(time.perf_counter() - t_start, 1),
        "loadavg_start": [round(x, 2) for x in load_start], "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    print(f"gate: MiniLM similarity threshold {threshold} (5th percentile of {n_refs} human descriptions), "
          f"{len(gate_products or [])} products from {result['products_csv']}")
    print(f"shipped: single {result['single_tok_s']} tok/s ({result['single_x_peer']}x peer {peer}), ttft "
          f"{result['ttft_s']} s, bulk {result['bulk_tok_s']} tok/s ({result['bulk_x_peer_single']}x peer), "
          f"peak RSS {result['peak_rss_mb']} MB, gate {result['quality_gate']}")
    print(f"{result['seconds']} s · threads {args.threads} (bulk {args.bulk_threads}) · load average "
          f"{result['loadavg_start']} -> {result['loadavg_end']} on {result['cpus']} CPUs")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(result, indent=1))
        print(f"wrote {args.json_path}")


def _passthrough(args) -> list[str]:
    out = ["--threads", str(args.threads), "--bulk-threads", str(args.bulk_threads), "--bulk-products",
           str(args.bulk_products), "--max-tokens", str(args.max_tokens), "--gate-products", str(args.gate_products),
           "--gate-tokens", str(args.gate_tokens)]
    if args.products_csv:
        out += ["--products-csv", str(args.products_csv)]
    return out


def _print_table(rows: list[dict]) -> None:
    cols = [("system", "system"), ("single_tok_s", "single tok/s"), ("x_peer_single", "x peer"),
            ("ttft_s", "ttft s"), ("bulk_tok_s", "bulk tok/s"), ("bulk_x_peer_single", "bulk x peer"),
            ("single_cpu_tok_s", "single tok/cpu-s"), ("bulk_cpu_tok_s", "bulk tok/cpu-s"),
            ("peak_rss_mb", "peak RSS MB"), ("gate", "quality gate")]
    cells = [[gate_label(r["quality_gate"]) if k == "gate" else ("—" if r.get(k) is None else str(r[k]))
              for k, _ in cols] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, (_, h) in enumerate(cols)]
    print("  ".join(h.ljust(w) for (_, h), w in zip(cols, widths, strict=True)))
    for c in cells:
        print("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)))


if __name__ == "__main__":
    main()
