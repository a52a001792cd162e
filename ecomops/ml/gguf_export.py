"""Writing GGUF files for the llama.cpp runtime with the ``gguf`` package (no Django, no llama.cpp needed).

* :func:`repack` rewrites a GGUF with other weight types (the shipped Q4_1 file as BF16/F16 for the batch
  context, whose many-token matrix products run 2.5-3.5x faster per core on 16-bit weights than on Q4_1);
* :func:`export_llama` writes a transformers Llama-architecture state dict (a fine-tuned SmolLM2, LoRA already
  merged) as a GGUF, taking every metadata key (tokenizer, chat template, hyper-parameters) from the shipped
  base GGUF so llama.cpp tokenises and prompts it exactly like the base model.

Tensor names and the Q/K row permutation follow llama.cpp's ``convert_hf_to_gguf.py`` (``LlamaModel.permute``):
transformers' GGUF loader undoes that permutation when it reads a GGUF, so writing one back must redo it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

WEIGHT_TYPES = ("f32", "f16", "bf16", "q8_0")
# formats llama.cpp's own quantiser writes (llama_model_quantize, from an F32 repack of the source): the name
# -> llama_ftype. Q4_0, IQ4_NL and Q4_K are the formats llama.cpp repacks at load time for AVX2/AVX-512 GEMM.
LLAMA_QUANT_TYPES = {"q4_0": 2, "q4_1": 3, "q5_0": 8, "q5_1": 9, "q4_k": 15, "q5_k": 17, "q6_k": 18,
                     "iq4_nl": 25}

# transformers LlamaForCausalLM name -> GGUF name ({bid} = block index), as in gguf.tensor_mapping
HF_TO_GGUF = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
    "model.layers.{bid}.input_layernorm.weight": "blk.{bid}.attn_norm.weight",
    "model.layers.{bid}.self_attn.q_proj.weight": "blk.{bid}.attn_q.weight",
    "model.layers.{bid}.self_attn.k_proj.weight": "blk.{bid}.attn_k.weight",
    "model.layers.{bid}.self_attn.v_proj.weight": "blk.{bid}.attn_v.weight",
    "model.layers.{bid}.self_attn.o_proj.weight": "blk.{bid}.attn_output.weight",
    "model.layers.{bid}.post_attention_layernorm.weight": "blk.{bid}.ffn_norm.weight",
    "model.layers.{bid}.mlp.gate_proj.weight": "blk.{bid}.ffn_gate.weight",
    "model.layers.{bid}.mlp.up_proj.weight": "blk.{bid}.ffn_up.weight",
    "model.layers.{bid}.mlp.down_proj.weight": "blk.{bid}.ffn_down.weight",
}


def _qtype(weights: str):
    from gguf import GGMLQuantizationType as Q

    try:
        return {"f32": Q.F32, "f16": Q.F16, "bf16": Q.BF16, "q8_0": Q.Q8_0}[weights]
    except KeyError:
        raise ValueError(f"weights must be one of {', '.join(WEIGHT_TYPES)}, got {weights!r}") from None


def _file_type(weights: str) -> int:
    from gguf import LlamaFileType as F

    return int({"f32": F.ALL_F32, "f16": F.MOSTLY_F16, "bf16": F.MOSTLY_BF16, "q8_0": F.MOSTLY_Q8_0}[weights])


def _copy_metadata(reader: Any, writer: Any, overrides: Mapping[str, Any]) -> None:
    import gguf

    for field in reader.fields.values():
        # the architecture and the GGUF.* header fields are written by GGUFWriter itself
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        value = overrides.get(field.name, field.contents())
        writer.add_key_value(field.name, value, vtype, sub_type=sub)


def _add(writer: Any, name: str, data: np.ndarray, weights: str) -> None:
    import gguf

    data = np.ascontiguousarray(data, dtype=np.float32)
    if data.ndim == 1 or weights == "f32":  # norms stay f32, as llama.cpp's converter keeps them
        writer.add_tensor(name, data)
    elif weights == "f16":
        writer.add_tensor(name, data.astype(np.float16))
    else:
        qt = _qtype(weights)
        writer.add_tensor(name, gguf.quants.quantize(data, qt), raw_dtype=qt)


def _write(template: Path, dst: Path, tensor_data: Callable[[Any], np.ndarray], weights: str,
           extra_metadata: Mapping[str, Any] | None = None) -> Path:
    """Every tensor of ``template`` (same names, same order) with data from ``tensor_data``; atomic rename."""
    import gguf

    reader = gguf.GGUFReader(str(template))
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    writer = gguf.GGUFWriter(str(tmp), arch)
    try:
        overrides = {gguf.Keys.General.FILE_TYPE: _file_type(weights), **(extra_metadata or {})}
        _copy_metadata(reader, writer, overrides)
        for key, value in (extra_metadata or {}).items():
            if key not in reader.fields:
                writer.add_string(key, str(value))
        for tensor in reader.tensors:
            _add(writer, tensor.name, tensor_data(tensor), weights)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()
    tmp.replace(dst)
    return dst


def repack(src: str | os.PathLike, dst: str | os.PathLike, *, weights: str = "bf16") -> Path:
    """``src`` de-quantised and rewritten with ``weights`` as the matrix type (norms f32)."""
    import gguf

    _qtype(weights)
    return _write(Path(src), Path(dst), lambda t: gguf.quants.dequantize(t.data, t.tensor_type), weights)


def quantize(src: str | os.PathLike, dst: str | os.PathLike, *, weights: str, threads: int = 1) -> Path:
    """``src`` rewritten by llama.cpp's own quantiser (``llama_model_quantize``) as ``weights`` (a key of
    :data:`LLAMA_QUANT_TYPES`), from an F32 repack of ``src`` (so a quantised source is never requantised in its
    own format); llama.cpp picks the types of the embedding and norms as its converter does. Atomic rename."""
    import llama_cpp

    try:
        ftype = LLAMA_QUANT_TYPES[weights]
    except KeyError:
        raise ValueError(f"weights must be one of {', '.join(LLAMA_QUANT_TYPES)}, got {weights!r}") from None
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    f32 = dst.with_name(f".{dst.name}.{os.getpid()}.f32.tmp")
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    try:
        repack(src, f32, weights="f32")
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = ftype
        params.nthread = threads
        rc = llama_cpp.llama_model_quantize(str(f32).encode(), str(tmp).encode(), params)
        if rc != 0:
            raise RuntimeError(f"llama_model_quantize({weights}) returned {rc}")
        tmp.replace(dst)
    finally:
        for p in (f32, tmp):
            p.unlink(missing_ok=True)
    return dst


def permute_qk(w: np.ndarray, n_head: int, n_head_kv: int | None = None) -> np.ndarray:
    """llama.cpp's row order for Q and K (``LlamaModel.permute`` in convert_hf_to_gguf.py)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def hf_to_gguf_names(state_dict_keys, n_layers: int) -> dict[str, str]:
    """GGUF name -> HF name for a Llama state dict."""
    out = {}
    for hf_pattern, gguf_pattern in HF_TO_GGUF.items():
        if "{bid}" in hf_pattern:
            for bid in range(n_layers):
                out[gguf_pattern.format(bid=bid)] = hf_pattern.format(bid=bid)
        else:
            out[gguf_pattern] = hf_pattern
    keys = set(state_dict_keys)
    return {g: h for g, h in out.items() if h in keys}


def export_llama(state_dict: Mapping[str, Any], *, n_head: int, n_head_kv: int, dst: str | os.PathLike,
                 template: str | os.PathLike, weights: str = "f16", label: str = "") -> Path:
    """Write a Llama-architecture state dict (float tensors or arrays) as a GGUF shaped like ``template``.

    Every tensor ``template`` holds must be in the state dict (a tied output head is simply absent from both).
    """
    _qtype(weights)
    n_layers = 1 + max((int(m.group(1)) for k in state_dict if (m := re.match(r"model\.layers\.(\d+)\.", k))),
                       default=-1)
    names = hf_to_gguf_names(state_dict.keys(), n_layers)

    def data(tensor) -> np.ndarray:
        hf = names.get(tensor.name)
        if hf is None:
            raise ValueError(f"The state dict has no tensor for {tensor.name}")
        value = state_dict[hf]
        arr = value.detach().float().cpu().numpy() if hasattr(value, "detach") else np.asarray(value, np.float32)
        if tensor.name.endswith("attn_q.weight"):
            arr = permute_qk(arr, n_head, n_head)
        elif tensor.name.endswith("attn_k.weight"):
            arr = permute_qk(arr, n_head, n_head_kv)
        expected = tuple(int(x) for x in reversed(tensor.shape))  # GGUF lists ne0 first
        if arr.shape != expected:
            raise ValueError(f"{hf}: shape {arr.shape}, the template's {tensor.name} is {expected}")
        return arr

    extra = {"general.name": label} if label else None
    return _write(Path(template), Path(dst), data, weights, extra)
