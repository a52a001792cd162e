"""The language model seen from Django: resolves the store's active version and settings paths.

Models are loaded once per process (``ecomops.ml.llm`` keeps the cache); this only passes the right version in.
Every engine choice is the runtime's (llama.cpp; ``ECOMOPS_LLM_ENGINE`` for a measured alternative). The old
``ECOMOPS_COPYWRITER_INT8`` default is gone: dynamic int8 failed bench/copywriter.py's quality gate ("You are an
AI assistant…" instead of the product), so it only runs where a command asks for it explicitly.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from copywriter.ml import lm
from copywriter.models import CopywriterModel
from ecomops.ml import llm
from ecomops.settings.env import env_bool

BASE_LABEL = lm.BASE_MODEL_NAME


def model_dir():
    return settings.ECOMOPS_MODEL_DIR


def versions_dir():
    return settings.ECOMOPS_MODEL_DIR / "copywriter"


def active_version(store) -> CopywriterModel | None:
    return CopywriterModel.objects.for_store(store).filter(is_active=True).first()


def use_int8() -> bool:
    """Only for evaluate_copywriter's torch rows (``--int8 auto``): off unless ECOMOPS_COPYWRITER_INT8=1."""
    return bool(getattr(settings, "ECOMOPS_COPYWRITER_INT8", env_bool("ECOMOPS_COPYWRITER_INT8", False)))


def language_model(version: CopywriterModel | None) -> llm.LanguageModel:
    """The runtime model for a version (exported to GGUF on first use if it predates the exporter) or the base."""
    if version is None:
        return lm.language_model(None, model_dir=model_dir())
    return lm.language_model(version.path, model_dir=model_dir(), label=version.label)


def label_for(version: CopywriterModel | None) -> str:
    return version.label if version is not None else BASE_LABEL


def lm_for(version: CopywriterModel | None) -> tuple[Any, Any, str]:
    """(model, tokenizer, label) in the call shape copywriter.ml.generate uses: the runtime model and a
    :class:`copywriter.ml.lm.ChatTokenizer` standing in for the tokenizer."""
    model = language_model(version)
    return model, lm.ChatTokenizer(model), label_for(version)
