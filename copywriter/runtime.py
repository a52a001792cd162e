"""The per-process model cache seen from Django: resolves the store's active version and settings paths.

Models are loaded once per worker process (copywriter.ml.lm keeps the module-level cache); this only
passes the right directories in.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from copywriter.ml import lm
from copywriter.models import CopywriterModel
from ecomops.settings.env import env_bool

BASE_LABEL = lm.BASE_MODEL_NAME


def model_dir():
    return settings.ECOMOPS_MODEL_DIR


def versions_dir():
    return settings.ECOMOPS_MODEL_DIR / "copywriter"


def active_version(store) -> CopywriterModel | None:
    return CopywriterModel.objects.for_store(store).filter(is_active=True).first()


def use_int8() -> bool:
    """Dynamic int8 quantisation of the Linear layers for inference (bench/copywriter.py measures the gain).
    ECOMOPS_COPYWRITER_INT8=0 turns it off."""
    return bool(getattr(settings, "ECOMOPS_COPYWRITER_INT8", env_bool("ECOMOPS_COPYWRITER_INT8", True)))


def lm_for(version: CopywriterModel | None) -> tuple[Any, Any, str]:
    """(model, tokenizer, label) for a version, or the base model when version is None."""
    if version is None:
        model, tok = lm.load_lm(model_dir(), quantize=use_int8())
        return model, tok, BASE_LABEL
    model, tok = lm.load_lm(model_dir(), version.path, quantize=use_int8())
    return model, tok, version.label
