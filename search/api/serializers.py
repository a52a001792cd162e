from __future__ import annotations

from rest_framework import serializers

from search.ml.text import MAX_QUERY_CHARS

MAX_ATTRIBUTE_FILTERS = 10


class StorefrontSearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=MAX_QUERY_CHARS, trim_whitespace=True,
                              help_text="What the shopper typed (at most 200 characters)")
    category = serializers.CharField(required=False, max_length=300, default="",
                                     help_text="Category path prefix, e.g. 'Apparel' or 'Apparel > Tops'")
    price_min = serializers.DecimalField(required=False, max_digits=12, decimal_places=2, min_value=0)
    price_max = serializers.DecimalField(required=False, max_digits=12, decimal_places=2, min_value=0)
    in_stock = serializers.BooleanField(required=False, allow_null=True, default=None)
    attr = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list, max_length=MAX_ATTRIBUTE_FILTERS,
        help_text="Attribute filters as name:value, repeatable (attr=colour:black&attr=size:M)")
    limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=50)

    def validate_q(self, value: str) -> str:
        if not any(ch.isalnum() for ch in value):
            raise serializers.ValidationError("Enter a word to search for.")
        return value

    def validate_attr(self, values: list[str]) -> dict[str, str]:
        parsed: dict[str, str] = {}
        for item in values:
            name, sep, value = item.partition(":")
            if not sep or not name.strip() or not value.strip():
                raise serializers.ValidationError(f"{item[:60]!r} is not name:value (e.g. colour:black).")
            parsed[name.strip()] = value.strip()
        return parsed

    def validate(self, data):
        lo, hi = data.get("price_min"), data.get("price_max")
        if lo is not None and hi is not None and lo > hi:
            raise serializers.ValidationError({"price_min": ["price_min must not be above price_max."]})
        return data


class StorefrontProductSerializer(serializers.Serializer):
    """What a shop may show of a product: no stock counts, costs or internal status."""

    sku = serializers.CharField()
    title = serializers.CharField()
    brand = serializers.CharField()
    category = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    in_stock = serializers.BooleanField()
    attributes = serializers.DictField()


class StorefrontSearchResponseSerializer(serializers.Serializer):
    query = serializers.CharField()
    count = serializers.IntegerField()
    did_you_mean = serializers.CharField(allow_blank=True, help_text="A spelling the catalogue knows, or ''")
    results = StorefrontProductSerializer(many=True)
