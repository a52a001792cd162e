"""Writes and actions of the copywriter (STYLE.md §1). Split by concern: generation, review, training."""

from .generation import (  # noqa: F401
    BadProductInput,
    copywriter_settings,
    copywriter_settings_update,
    generation_start,
    product_facts,
    run_generation_job,
)
from .review import (  # noqa: F401
    ReviewError,
    description_restore,
    draft_approve,
    draft_edit,
    draft_publish,
    draft_reject,
    drafts_bulk_approve,
    revision_record_human,
)
from .training import TrainingRefused, model_activate, run_training_job, training_start  # noqa: F401
