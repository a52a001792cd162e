"""Input serializers of the recommender's jobs (what the page and the generic jobs API may pass)."""

from __future__ import annotations

from rest_framework import serializers

from recommender.ml.registry import MODEL_NAMES


class EvaluationStartSerializer(serializers.Serializer):
    """`recommender_evaluate`: which models to compare on the store's own events. No dataset or path: the data
    is always the job's store."""

    models = serializers.MultipleChoiceField(choices=MODEL_NAMES, allow_empty=False, default=lambda: list(MODEL_NAMES),
                                             help_text="Model names to compare side by side.")
    tune = serializers.BooleanField(default=False, help_text="Try each model's small validation grid first (slower).")

    def validate_models(self, value):
        return [name for name in MODEL_NAMES if name in value]  # a stable order, each once
