"""chat_batch with the shared prompt prefix on and off (ECOMOPS_LLM_SHARE_PREFIX), one model, alternated:

    .venv/bin/python bench/llm_share_prefix.py [THREADS] [ROUNDS]

On bench/copywriter.py's 32 bulk prompts (the multi-domain fixture, greedy, 64 new tokens). Prints tok/s and tokens
per CPU second of the process (robust to a shared machine with one thread), the load average around each run, and
whether the answers with and without sharing are identical.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from ecomops.ml import llm  # noqa: E402

spec = importlib.util.spec_from_file_location("bench_copywriter", ROOT / "bench" / "copywriter.py")
bc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bc)


def main() -> None:
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    products = bc.load_products(ROOT / "tests" / "fixtures" / "copywriter" / "multidomain.csv")
    bulk = [bc.messages_for(p) for p in products[:32]]
    model = llm.LlamaCppLanguageModel(llm.base_stream_gguf(), label=llm.BASE_LABEL,
                                      batch_model_path=llm.base_batch_gguf(), n_threads=threads)
    model.warm_up()
    texts: dict[str, list[str]] = {}
    for r in range(rounds):
        for flag in ("1", "0") if r % 2 == 0 else ("0", "1"):
            os.environ["ECOMOPS_LLM_SHARE_PREFIX"] = flag
            load0 = os.getloadavg()[0]
            t, c = time.perf_counter(), time.process_time()
            done = model.complete_batch(bulk, max_tokens=64, **bc.SAMPLING)
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            n = sum(x.n_tokens for x in done)
            texts.setdefault(flag, [x.text for x in done])
            print(f"threads {threads} share {flag} shared prefix {model.last_shared_prefix} tokens {n} "
                  f"wall {wall:.2f} s {n / wall:.1f} tok/s {n / cpu:.1f} tok/cpu-s "
                  f"load {load0:.2f} -> {os.getloadavg()[0]:.2f}", flush=True)
    same = sum(a == b for a, b in zip(texts["0"], texts["1"], strict=True))
    lens = [len(model.tokenize_prompt(c)) for c in bulk]
    print(f"identical answers on/off: {same} of {len(bulk)}; prompt tokens mean {sum(lens) / len(lens):.1f}")


if __name__ == "__main__":
    main()
