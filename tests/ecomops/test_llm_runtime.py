"""The shared language-model runtime (ecomops.ml.llm) on the real SmolLM2 GGUF and real llama.cpp, and the
GGUF export of a fine-tuned (PEFT) model checked logit by logit against the PEFT model itself."""

from __future__ import annotations

import copy
import threading

import numpy as np
import pytest

from ecomops.ml import llm

pytestmark = pytest.mark.slow

SHIRT = [{"role": "system", "content": "You write product descriptions for an online shop."},
         {"role": "user", "content": "Facts:\nProduct: Oxford Shirt\ncolour: Navy blue\nmaterial: Cotton\n\n"
                                     "Write one sentence about this shirt."}]
BOTTLE = [{"role": "user", "content": "Name one use of a steel water bottle."}]
LAMP = [{"role": "user", "content": "Describe a brass desk lamp in one sentence."}]


@pytest.fixture(scope="module")
def model() -> llm.LlamaCppLanguageModel:
    return llm.get_language_model()


def test_one_instance_per_process_and_engine(model):
    assert llm.get_language_model() is model and llm.get_language_model(None, engine="llama.cpp") is model
    assert model.engine == "llama.cpp" and "Q4_1" in model.label
    assert model.batch_model_path != model.model_path or llm.batch_weights() == "same"


def test_chat_template_is_the_gguf_one(model):
    prompt = model.render(SHIRT)
    assert prompt.startswith("<|im_start|>system\nYou write product descriptions")
    assert prompt.endswith("<|im_start|>assistant\n")
    # the same tokens as the transformers tokenizer training uses
    from transformers import AutoTokenizer

    from ecomops.ml import llm_torch

    hf = AutoTokenizer.from_pretrained(str(llm_torch.ensure_base()))
    for text in ("Navy blue cotton", "EU 46, 750 ml — 40 h battery", ""):
        assert model.count_tokens(text) == len(hf(text, add_special_tokens=False)["input_ids"])
    assert model.tokenize_prompt(SHIRT) == hf.apply_chat_template(SHIRT, add_generation_prompt=True, tokenize=True,
                                                                   return_dict=True)["input_ids"]


def test_stream_yields_pieces_that_make_the_greedy_answer(model):
    pieces = list(model.stream_chat(SHIRT, max_tokens=24))
    assert len(pieces) >= 5
    text = "".join(pieces)
    assert text == model.chat(SHIRT, max_tokens=24)  # greedy: the same answer twice (prefix cache reused)
    assert "<|im_end|>" not in text and "<|im_start|>" not in text
    assert "shirt" in text.lower() or "oxford" in text.lower()


def test_stream_honours_should_stop_and_max_tokens(model, monkeypatch):
    monkeypatch.setattr(llm, "STOP_POLL_S", 0.0)  # ask at every token in this short run
    pieces: list[str] = []
    for piece in model.stream_chat(SHIRT, max_tokens=200, should_stop=lambda: len(pieces) >= 3):
        pieces.append(piece)
    assert 3 <= len(pieces) <= 5  # stopped right after the third piece (a held-back tail may follow)
    capped = model.complete_batch([LAMP], max_tokens=7, repeat_penalty=1.0)[0]
    assert capped.n_tokens <= 7 and capped.finish_reason in {"length", "stop"}
    assert model.count_tokens("".join(model.stream_chat(LAMP, max_tokens=7))) <= 8


def test_stop_strings_end_the_answer(model):
    full = model.chat(SHIRT, max_tokens=40)
    word = full.split()[3]
    cut = model.chat(SHIRT, max_tokens=40, stop=[word])
    assert word not in cut and full.startswith(cut)
    [batched] = model.chat_batch([SHIRT], max_tokens=40, stop=[word])
    assert word not in batched


def test_batch_keeps_order_and_sequences_do_not_mix(model):
    """Three different conversations decoded together give what each gives alone (greedy), in input order."""
    together = model.chat_batch([SHIRT, BOTTLE, LAMP], max_tokens=20, repeat_penalty=1.0)
    alone = [model.chat_batch([c], max_tokens=20, repeat_penalty=1.0)[0] for c in (SHIRT, BOTTLE, LAMP)]
    assert together == alone
    assert len(set(together)) == 3 and all(together)


def test_continuous_batching_refills_slots(model):
    """More conversations than parallel slots: finished sequences free their slot for the next conversation."""
    small = llm.LlamaCppLanguageModel(model.model_path, label="two slots", batch_model_path=model.batch_model_path,
                                      n_parallel=2)
    try:
        convs = [SHIRT, BOTTLE, LAMP, BOTTLE, SHIRT]
        out = small.complete_batch(convs, max_tokens=16, repeat_penalty=1.0)
        assert small._batch_shape[0] == 2
        assert [c.text for c in out] == model.chat_batch(convs, max_tokens=16, repeat_penalty=1.0)
        assert out[1].text == out[3].text and out[0].text == out[4].text
        assert all(0 < c.n_tokens <= 16 for c in out)
    finally:
        small.close()


COPY_SYSTEM = {"role": "system", "content": "You write product descriptions for an online shop. Use only the facts "
               "given. Never invent materials, sizes, numbers, certifications, warranties or brand names."}
COPY_FACTS = ("Product: Aurel Pro Wireless Earbuds\nCategory: Electronics > Audio\nbattery life: 40 h with case\n"
              "water resistance: IPX4",
              "Product: Copperline Saucepan 18 cm\nCategory: Home & Kitchen > Cookware\nmaterial: Tri-ply stainless steel",
              "Product: Rosehip Face Oil\nCategory: Beauty > Skincare\nvolume: 30 ml\nskin type: Dry skin",
              "Product: Orthopaedic Dog Bed\nCategory: Pet Supplies > Dogs\nfilling: Memory foam\ncover: Washable",
              "Product: Linen Two-Seater Sofa\nCategory: Furniture > Living Room\nupholstery: Linen blend\nwidth: 160 cm")
COPY = [[COPY_SYSTEM, {"role": "user", "content": f"Facts:\n{facts}\n\nWrite a clear and factual product description "
                                                 "of about 50 words using only these facts."}] for facts in COPY_FACTS]


def _batch(model, convs, share: bool, monkeypatch, **kw):
    monkeypatch.setenv("ECOMOPS_LLM_SHARE_PREFIX", "1" if share else "0")
    out = model.complete_batch(convs, **kw)
    return [(c.text, c.n_tokens, c.finish_reason) for c in out], model.last_shared_prefix


def test_common_prefix_leaves_every_prompt_a_token():
    cp = llm.LlamaCppLanguageModel._common_prefix
    assert cp([[1, 2, 3, 4, 6], [1, 2, 3, 5, 6], [1, 2, 9, 9]]) == 2
    assert cp([[1, 2, 3, 4], [1, 2, 3, 4]]) == 2  # a prompt shared whole: its last two tokens are still decoded
    assert cp([[1, 2, 3, 4], [1, 2, 3, 4, 5, 6]]) == 2
    assert cp([[7, 1], [8, 1]]) == 0 and cp([[1], [1]]) == 0


def test_shared_prefix_gives_the_same_answers(model, monkeypatch):
    """The prompts' common prefix (system prompt + "Facts:" turn head) decoded once into the spare sequence and
    copied to every sequence gives the same completions as every sequence decoding its whole prompt: greedy,
    sampled with seeds, a prompt shared whole (best of N), and with 2 slots for 7 conversations (sequences that
    start later get the prefix copied from the spare sequence again)."""
    convs = COPY + COPY[:2]
    kw = {"max_tokens": 48, "temperature": 0.0, "repeat_penalty": 1.1}
    off, n_off = _batch(model, convs, False, monkeypatch, **kw)
    on, n_on = _batch(model, convs, True, monkeypatch, **kw)
    assert n_off == 0 and n_on >= llm.SHARE_MIN_TOKENS
    assert n_on < min(len(model.tokenize_prompt(c)) for c in convs) - 1  # the facts differ: a real suffix
    assert on == off
    assert len({t for t, _, _ in on}) == len(COPY) and all(t for t, _, _ in on)

    sampled = {"max_tokens": 32, "temperature": 0.9, "seed": 11}
    assert _batch(model, COPY[:3], True, monkeypatch, **sampled)[0] == \
        _batch(model, COPY[:3], False, monkeypatch, **sampled)[0]

    whole_on, n_whole = _batch(model, [COPY[1]] * 3, True, monkeypatch, max_tokens=32, temperature=0.9, seed=3)
    assert n_whole == len(model.tokenize_prompt(COPY[1])) - 2
    assert whole_on == _batch(model, [COPY[1]] * 3, False, monkeypatch, max_tokens=32, temperature=0.9, seed=3)[0]

    # nothing worth sharing: SHIRT has a system turn, the others do not
    assert _batch(model, [SHIRT, BOTTLE, LAMP], True, monkeypatch, max_tokens=4)[1] == 0

    small = llm.LlamaCppLanguageModel(model.model_path, label="two slots", batch_model_path=model.batch_model_path,
                                      n_parallel=2)
    try:
        refill, n_refill = _batch(small, convs, True, monkeypatch, **kw)
        assert small._batch_shape[0] == 2 and n_refill == n_on
        assert refill == off
    finally:
        small.close()


def test_sampled_candidates_differ_and_repeat_with_the_seed(model):
    a = model.chat_batch([SHIRT] * 3, max_tokens=24, temperature=0.9, seed=7)
    b = model.chat_batch([SHIRT] * 3, max_tokens=24, temperature=0.9, seed=7)
    assert a == b and len(set(a)) > 1


def test_batch_stop_raises(model):
    with pytest.raises(llm.LMStopped):
        model.complete_batch([SHIRT, LAMP], max_tokens=64, should_stop=lambda: True)
    # the context is usable afterwards
    assert model.chat_batch([LAMP], max_tokens=4)[0]


def test_two_threads_share_one_model_safely(model):
    results: dict[str, str] = {}

    def run(name, fn):
        results[name] = fn()

    threads = [threading.Thread(target=run, args=("stream", lambda: model.chat(SHIRT, max_tokens=16))),
               threading.Thread(target=run, args=("batch", lambda: model.chat_batch([LAMP], max_tokens=16)[0]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert results["stream"] == model.chat(SHIRT, max_tokens=16)
    assert results["batch"] == model.chat_batch([LAMP], max_tokens=16)[0]


def test_bad_input_is_a_clear_error(model, tmp_path):
    with pytest.raises(ValueError, match="messages"):
        model.chat([{"role": "robot", "content": "hi"}])
    with pytest.raises(ValueError, match="max_tokens"):
        model.chat(SHIRT, max_tokens=0)
    with pytest.raises(llm.PromptTooLong):
        "".join(model.stream_chat([{"role": "user", "content": "word " * 3000}], max_tokens=8))
    with pytest.raises(llm.LMUnavailable, match="model.gguf"):
        llm.get_language_model(tmp_path)
    with pytest.raises(ValueError, match="engine"):
        llm.get_language_model(engine="onnx")


# --- export ------------------------------------------------------------------------------------------------

PROMPTS = [SHIRT, BOTTLE, [{"role": "user", "content": "Are the earbuds waterproof?"}]]


@pytest.fixture(scope="module")
def peft_model():
    """The base with a LoRA adapter whose B matrices are random (not zero), i.e. a fine-tuned model in all but
    the training loop, so the export has a real update to carry."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ecomops.ml import llm_torch

    base = llm_torch.ensure_base()
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    peft = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=[
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]))
    for name, p in peft.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.02)
    peft.eval()
    return peft, tokenizer


def _torch_logits(model, ids):
    import torch

    with torch.no_grad():
        return model(input_ids=torch.tensor([ids])).logits[0, -1].numpy()


def test_exported_gguf_logits_match_the_peft_model(peft_model, tmp_path):
    """Next-token logits of llama.cpp on the exported GGUF against the PEFT model on the same prompts.

    The export checked is the one versions ship with, F16. Tolerance: max |logit difference| <= 0.1 over the
    whole vocabulary (measured 0.026-0.029; an F32 export measured 0.007-0.013, so most of it is the F16
    rounding of the weights, the rest accumulation order and llama.cpp's own RoPE/RMSNorm/softmax kernels).
    The adapter's own effect on these logits is ~0.8, so a lost LoRA update or a wrong Q/K permutation fails
    by far; the shipped Q4_1 file against its own de-quantised weights differs by 0.6-0.9 (llama.cpp quantises
    the activations for Q4_1 products), which is why the check does not use a 4-bit export.
    """
    weights, tolerance = "f16", 0.1
    import llama_cpp

    from ecomops.ml import gguf_export

    peft, tokenizer = peft_model
    ids = [tokenizer.apply_chat_template(m, add_generation_prompt=True, tokenize=True) for m in PROMPTS]
    ids = [list(i["input_ids"]) if hasattr(i, "keys") else list(i) for i in ids]
    expected = [_torch_logits(peft, i) for i in ids]
    with peft.disable_adapter():
        base = [_torch_logits(peft, i) for i in ids]
    merged = copy.deepcopy(peft).merge_and_unload()
    merged_state = merged.state_dict()
    out = gguf_export.export_llama(merged_state, n_head=merged.config.num_attention_heads,
                                   n_head_kv=merged.config.num_key_value_heads, dst=tmp_path / "model.gguf",
                                   template=llm.gguf_path(), weights=weights, label="test version")
    runner = llama_cpp.Llama(model_path=str(out), n_ctx=256, logits_all=True, n_threads=1, verbose=False)
    try:
        for i, want, before in zip(ids, expected, base, strict=True):
            runner.reset()
            runner.eval(i)
            got = np.asarray(runner.scores[runner.n_tokens - 1])
            assert np.abs(want - before).max() > 5 * tolerance  # the update is real, and much larger than tol
            assert np.abs(got - want).max() <= tolerance
            assert got.argmax() == want.argmax()
            assert set(np.argsort(got)[-5:]) == set(np.argsort(want)[-5:])
    finally:
        runner.close()
    # the runtime serves the exported directory as a version
    served = llm.LlamaCppLanguageModel(out, label="test version")
    try:
        assert served.chat(BOTTLE, max_tokens=8)
    finally:
        served.close()
