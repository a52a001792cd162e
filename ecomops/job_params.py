"""The declared inputs of a job kind (Baserow's `JobType.request_serializer_field_names`, as a serializer).

Every kind names a `JobParamsSerializer` subclass when it is registered (`job_task(params=...)`). The generic
jobs API validates a request's `params` against it before anything is written or queued: unknown keys, keys
with control characters and values outside the declared bounds are 400 field errors. Nothing in a job's
parameters is ever a file path: server-side datasets come from settings, uploads are referenced by id.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

MAX_PARAM_KEYS = 50


def _printable_key(key: Any) -> str:
    """A key as it can be echoed in an error: control characters escaped, length bounded."""
    text = str(key)
    text = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
    return text[:60]


class JobParamsSerializer(serializers.Serializer):
    """Base of every kind's parameters: a JSON object whose keys are exactly the declared fields (or fewer)."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object of parameters."]})
        if len(data) > MAX_PARAM_KEYS:
            raise serializers.ValidationError({"non_field_errors": [f"At most {MAX_PARAM_KEYS} parameters."]})
        unknown = {}
        for key in data:
            if not isinstance(key, str) or not key.isidentifier():
                unknown[_printable_key(key)] = ["Not a parameter name (letters, digits and _ only)."]
            elif key not in self.fields or self.fields[key].read_only:
                unknown[key] = [
                    f"Unknown parameter for this job kind. Accepted: {', '.join(self.accepted()) or 'none'}."
                ]
        if unknown:
            raise serializers.ValidationError(unknown)
        return super().to_internal_value(data)

    def accepted(self) -> list[str]:
        return sorted(name for name, field in self.fields.items() if not field.read_only)


class NoParams(JobParamsSerializer):
    """The default: the kind takes no parameters."""


def params_to_json(serializer: JobParamsSerializer, validated: dict[str, Any]) -> dict[str, Any]:
    """The validated parameters as JSON-safe values (dates as ISO strings), only the keys that were given."""
    return {key: serializer.fields[key].to_representation(value) if value is not None else None
            for key, value in validated.items()}


def params_validate(serializer_class: type, params: Any, *, store) -> tuple[JobParamsSerializer, dict[str, Any]]:
    """Validate `params` for a kind; raises serializers.ValidationError with field errors."""
    serializer = serializer_class(data=params, context={"store": store})
    serializer.is_valid(raise_exception=True)
    return serializer, dict(serializer.validated_data)


def errors_text(detail: Any) -> str:
    """DRF error detail as one line: 'field: message; other: message'."""
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {errors_text(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return " ".join(errors_text(item) for item in detail)
    return str(detail)
