"""Benchmark: support answering latency, side by side with loading the models per request.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/support.py [--json out.json]
        [--queries 200] [--generate 5] [--concurrent 20] [--lm-concurrent] [--skip-server]

Sets up (once; reused later) a store "bench-support" with the e-commerce FAQ (../shared/datasets, else the test
fixture) embedded and an intent classifier trained on Bitext (else the small fixture). Then measures:
  1. intent + retrieval (embed the question once, classify, hybrid search): p50/p95 over --queries questions,
     vs. the same call after dropping every model (loading per request). Goal p95 < 50 ms.
  2. a generated answer (SmolLM2-135M through the shared runtime ecomops.ml.llm, one sentence per evidence
     sentence): time to first token and total, vs. loading the LM per request. Goal first token < 1 s.
  3. --concurrent widget conversations over websockets against a running Daphne server (started here), each
     sending one question and waiting for the stored reply, with models kept per process vs. loaded per request
     (SUPPORT_LOAD_MODELS_PER_REQUEST=1). Replies quote the best passage unless --lm-concurrent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
# Not bench/ itself on the path: bench/http.py would shadow the standard library's http (torch, Django import it).
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomops.settings.local")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from ecomops.models import Store  # noqa: E402
from support.ml import embedder  # noqa: E402
from support.ml.answering import generate_answer  # noqa: E402
from support.models import ClassifierVersion, KnowledgeEntry  # noqa: E402
from support.services import retrieval  # noqa: E402
from support.services.answering import models_unload  # noqa: E402
from support.services.classifier import classifier_train  # noqa: E402
from support.services.knowledge import faq_import, knowledge_embed_pending  # noqa: E402

SLUG = "bench-support"
FIXTURES = REPO / "tests" / "fixtures" / "support"
FAQ = Path(settings.BASE_DIR).parent / "shared" / "datasets" / "ecommerce-faq" / "Ecommerce_FAQ_Chatbot_dataset.json"


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def setup_store() -> Store:
    store, _ = Store.objects.get_or_create(slug=SLUG, defaults={"name": "Bench Support"})
    if not KnowledgeEntry.objects.for_store(store).exists():
        path = FAQ if FAQ.exists() else FIXTURES / "faq_small.json"
        faq_import(store=store, raw=path.read_bytes(), filename=path.name)
    knowledge_embed_pending(store=store)
    if not ClassifierVersion.objects.for_store(store).filter(is_active=True).exists():
        print("Training the intent classifier (Bitext if present + the team's examples; embeddings cached under "
              "var/cache)…", flush=True)
        classifier_train(store=store)
    return store


def questions() -> list[str]:
    paraphrases = json.loads((FIXTURES / "faq_paraphrases.json").read_text(encoding="utf-8"))
    qs = [v for k, vs in paraphrases.items() if not k.startswith("_") for v in vs]
    qs += [ln for ln in (FIXTURES / "out_of_scope_eval.txt").read_text().splitlines() if ln and not ln.startswith("#")]
    return qs


def understand_and_retrieve(store: Store, q: str) -> None:
    u = retrieval.understand(store, q)
    retrieval.knowledge_search(store, q, k=3, vector=u.vector)


def bench_understanding(store: Store, n: int, baseline_n: int) -> dict:
    qs = questions()
    for q in qs[:5]:
        understand_and_retrieve(store, q)  # warm-up: load once
    embedder._cache.clear()  # measure real embedding work, not the LRU
    times = []
    for i in range(n):
        q = qs[i % len(qs)] + ("" if i < len(qs) else f" #{i}")  # distinct texts: no cache hits
        t = time.perf_counter()
        understand_and_retrieve(store, q)
        times.append((time.perf_counter() - t) * 1000)
    base = []
    for i in range(baseline_n):
        models_unload()
        t = time.perf_counter()
        understand_and_retrieve(store, qs[i])
        base.append((time.perf_counter() - t) * 1000)
    return {"n": n, "p50_ms": pct(times, 50), "p95_ms": pct(times, 95), "mean_ms": statistics.fmean(times),
            "baseline_n": baseline_n, "baseline_p50_ms": pct(base, 50), "baseline_p95_ms": pct(base, 95)}


def bench_generation(store: Store, n: int, baseline_n: int, candidates: int | None = None) -> dict:
    from ecomops.ml.llm import clear_cache
    from support.services.answering import language_model, lm_candidates

    candidates = lm_candidates() if candidates is None else candidates  # what the widget uses, unless told

    qs = ["How long does shipping take?", "What payment methods do you accept?", "Can I return a product if I changed my mind?",
          "Do you offer gift wrapping services?", "Do you have a loyalty program?", "How can I create an account?"]

    def one(q: str) -> tuple[float, float | None, float, int, bool]:
        passages = retrieval.knowledge_search(store, q, k=3)
        t = time.perf_counter()
        lm = language_model()  # the shared runtime (llama.cpp on the shipped GGUF), loaded once per process
        d = generate_answer(q, passages, lm=lm, max_new_tokens=64, on_token=lambda _piece: None, deadline_s=600,
                            candidates=candidates)
        load_s = (time.perf_counter() - t) - d.total_s  # zero when the model is already loaded in this process
        visible = load_s + d.first_visible_s if d.first_visible_s is not None else None
        return (load_s + (d.first_token_s or float("nan")), visible, load_s + d.total_s, len(d.text),
                d.mode != "generated")

    language_model()  # warm
    warm = [one(qs[i % len(qs)]) for i in range(n)]
    cold = []
    for i in range(baseline_n):
        clear_cache()
        cold.append(one(qs[i % len(qs)]))
    visible = [w[1] for w in warm if w[1] is not None]
    return {
        "n": n, "candidates": candidates, "ttft_p50_s": pct([w[0] for w in warm], 50), "ttft_p95_s": pct([w[0] for w in warm], 95),
        "first_vetted_sentence_p50_s": pct(visible, 50) if visible else None, "vetted_sentences_shown": len(visible),
        "not_all_own_words": sum(w[4] for w in warm),
        "total_p50_s": pct([w[2] for w in warm], 50), "answer_chars_mean": statistics.fmean(w[3] for w in warm),
        "baseline_n": baseline_n, "baseline_ttft_p50_s": pct([c[0] for c in cold], 50),
        "baseline_total_p50_s": pct([c[2] for c in cold], 50),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(per_request: bool, use_lm: bool) -> dict[str, str]:
    return dict(os.environ, SUPPORT_LOAD_MODELS_PER_REQUEST="1" if per_request else "0",
                SUPPORT_USE_LM="1" if use_lm else "0", PYTHONUNBUFFERED="1", DATABASE_CONN_MAX_AGE="0",
                # every simulated customer connects from this machine: lift the per-client widget limits
                SUPPORT_WIDGET_MESSAGES_PER_CLIENT_PER_MIN="100000",
                SUPPORT_WIDGET_NEW_CONVERSATIONS_PER_CLIENT_PER_10_MIN="100000")


def start_answer_worker(per_request: bool, use_lm: bool) -> subprocess.Popen:
    """The widget's answers are made by Celery workers on the `inference` queue (support.tasks)."""
    log = open(REPO / "var" / f"bench-support-worker-{os.getpid()}.log", "w")  # noqa: SIM115
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "ecomops", "worker", "-Q", "inference", "-l", "info",
                             "-n", f"bench-support-{os.getpid()}@%h", "--without-gossip", "--without-mingle"],
                            cwd=REPO, env=_server_env(per_request, use_lm), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def start_server(per_request: bool, use_lm: bool) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = _server_env(per_request, use_lm)
    log = open(REPO / "var" / f"bench-support-daphne-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "ecomops.asgi:application"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("daphne did not start")


async def conversation(port: int, text: str) -> dict:
    import websockets

    t0 = time.perf_counter()
    first = None
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/support/{SLUG}/chat/",
                                  origin=f"http://127.0.0.1:{port}", open_timeout=60) as ws:
        json.loads(await ws.recv())  # session
        sent = time.perf_counter()
        await ws.send(json.dumps({"type": "message", "text": text}))
        got_reply = done = False
        while not (got_reply and done):
            m = json.loads(await asyncio.wait_for(ws.recv(), timeout=600))
            if m["type"] == "token" and first is None:
                first = time.perf_counter() - sent
            elif m["type"] == "message" and m["message"]["role"] == "bot":
                got_reply = True
            elif m["type"] == "done":
                done = True
                got_reply = got_reply or bool(m.get("message"))
            elif m["type"] == "error":
                raise RuntimeError(m["message"])
    return {"reply_s": time.perf_counter() - sent, "first_token_s": first, "connect_s": sent - t0}


async def many(port: int, n: int) -> tuple[list[dict], float]:
    qs = questions()
    t = time.perf_counter()
    results = await asyncio.gather(*(conversation(port, qs[i % len(qs)]) for i in range(n)))
    return list(results), time.perf_counter() - t


def bench_concurrent(n: int, per_request: bool, use_lm: bool) -> dict:
    proc, port = start_server(per_request, use_lm)
    worker = start_answer_worker(per_request, use_lm)
    try:
        asyncio.run(conversation(port, "How long does shipping take?"))  # warm-up (process start, first load)
        results, wall = asyncio.run(many(port, n))
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # busy answer threads keep daphne alive: stop it hard
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
    replies = [r["reply_s"] for r in results]
    firsts = [r["first_token_s"] for r in results if r["first_token_s"] is not None]
    return {"conversations": n, "per_request_loading": per_request, "lm": use_lm, "wall_s": wall,
            "reply_p50_s": pct(replies, 50), "reply_p95_s": pct(replies, 95),
            "first_token_p50_s": pct(firsts, 50) if firsts else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--baseline-queries", type=int, default=5)
    parser.add_argument("--generate", type=int, default=5)
    parser.add_argument("--baseline-generate", type=int, default=2)
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--lm-concurrent", action="store_true", help="generate with SmolLM2 in the socket test too")
    parser.add_argument("--candidates", type=int, default=None,
                        help="best-of-N sampled candidates per failed sentence (default: the widget's SUPPORT_LM_CANDIDATES)")
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    import torch

    threads = torch.get_num_threads()
    store = setup_store()
    report = {"store": SLUG, "entries": KnowledgeEntry.objects.for_store(store).count(), "torch_threads": threads}
    print("1/3 intent + retrieval…", flush=True)
    report["understand_retrieve"] = u = bench_understanding(store, args.queries, args.baseline_queries) if args.queries else None
    print("2/3 generation…", flush=True)
    report["generation"] = g = bench_generation(store, args.generate, args.baseline_generate, args.candidates) if args.generate else None
    rows = []
    if not args.skip_server:
        print(f"3/3 {args.concurrent} concurrent widget conversations…", flush=True)
        report["concurrent"] = rows = [bench_concurrent(args.concurrent, False, args.lm_concurrent),
                                       bench_concurrent(args.concurrent, True, args.lm_concurrent)]

    print(f"\nSupport benchmark — store {SLUG}, {report['entries']} knowledge entries, torch threads {threads} "
          f"(queries embed on 1 thread; the LM: ecomops.ml.llm, llama.cpp)")
    print(f"{'':44}{'models per process':>20}{'loaded per request':>20}")
    if u:
        print(f"{'intent + retrieval p50 (ms)':44}{u['p50_ms']:>20.1f}{u['baseline_p50_ms']:>20.1f}")
        print(f"{'intent + retrieval p95 (ms)  [goal < 50]':44}{u['p95_ms']:>20.1f}{u['baseline_p95_ms']:>20.1f}")
    if g:
        print(f"{'answer: first token p50 (s)  [goal < 1]':44}{g['ttft_p50_s']:>20.2f}{g['baseline_ttft_p50_s']:>20.2f}")
        print(f"{'answer: total p50 (s), <= 64 tokens':44}{g['total_p50_s']:>20.2f}{g['baseline_total_p50_s']:>20.2f}")
        shown = f"{g['first_vetted_sentence_p50_s']:.2f}" if g["first_vetted_sentence_p50_s"] is not None else "none"
        print(f"{'answer: first vetted sentence shown p50 (s)':44}{shown:>20}{'':>20}"
              f"   ({g['vetted_sentences_shown']}/{g['n']} answers showed a sentence; {g['not_all_own_words']} quoted a "
              "source sentence)")
    if rows:
        warm, cold = rows
        mode = "generated" if args.lm_concurrent else "quoted"
        print(f"{f'{args.concurrent} concurrent chats ({mode}): wall (s)':44}{warm['wall_s']:>20.2f}{cold['wall_s']:>20.2f}")
        print(f"{'  reply p50 (s)':44}{warm['reply_p50_s']:>20.2f}{cold['reply_p50_s']:>20.2f}")
        print(f"{'  reply p95 (s)':44}{warm['reply_p95_s']:>20.2f}{cold['reply_p95_s']:>20.2f}")
        if warm["first_token_p50_s"] is not None and cold["first_token_p50_s"] is not None:
            print(f"{'  first token p50 (s)':44}{warm['first_token_p50_s']:>20.2f}{cold['first_token_p50_s']:>20.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
        print(f"Wrote {args.json}")


if __name__ == "__main__":
    main()
