"""The per-process model cache seen from Django: resolves the store's active version and settings paths.

Models are loaded once per worker process (copywriter.ml.lm keeps the module-level cache); this only
passes the right directories in.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from copywriter.ml import lm
from copywriter.models import CopywriterModel

BASE_LABEL = lm.BASE_MODEL_NAME


def model_dir():
    return settings.ECOMOPS_MODEL_DIR


def versions_dir():
    return settings.ECOMOPS_MODEL_DIR / "copywriter"


def active_version(store) -> CopywriterModel | None:
    return CopywriterModel.objects.for_store(store).filter(is_active=True).first()


def lm_for(version: CopywriterModel | None) -> tuple[Any, Any, str]:
    """(model, tokenizer, label) for a version, or the base model when version is None."""
    if version is None:
        model, tok = lm.load_lm(model_dir())
        return model, tok, BASE_LABEL
    model, tok = lm.load_lm(model_dir(), version.path)
    return model, tok, version.label
