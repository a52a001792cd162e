"""Serializers of the shared-domain API. They parse and render; the rules live in ecomops.services.

Related rows are named by their natural keys (product `sku`, customer `external_id`) and looked up inside the
request's store only, so a key from another store is the same 400 field error as an unknown one.
Plain CRUD (products, customers) uses one model serializer; other operations have explicit input and output
serializers (STYLE.md §9).
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ecomops.job_params import params_to_json, params_validate
from ecomops.models import Customer, Event, EventType, Job, Membership, Order, OrderLine, Product, Role
from ecomops.services.catalog import BULK_UPSERT_MAX_ROWS
from ecomops.services.jobs import job_kinds

sku_validator = RegexValidator(r"^[^/\s](?:[^/]*[^/\s])?$", "A SKU cannot contain '/' or start or end with a space.")
external_id_validator = RegexValidator(
    r"^[^/\s](?:[^/]*[^/\s])?$", "An external id cannot contain '/' or start or end with a space."
)
currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use an ISO 4217 code in capitals, e.g. EUR.")
country_validator = RegexValidator(r"^[A-Z]{2}$", "Use an ISO 3166-1 alpha-2 code in capitals, e.g. DE.")


class StoreScopedSlugRelatedField(serializers.SlugRelatedField):
    """A related row named by its natural key, looked up in the request's store only."""

    default_error_messages = {
        "does_not_exist": "Unknown {slug_name} {value!r} in this store.",
        "invalid": "Invalid value.",
    }

    def get_queryset(self):
        return self.queryset.model.objects.for_store(self.context.get("store"))

    def to_internal_value(self, data):
        try:
            return self.get_queryset().get(**{self.slug_field: data})
        except self.queryset.model.DoesNotExist:
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data))
        except (TypeError, ValueError):
            self.fail("invalid")


def product_by_sku(**kwargs) -> StoreScopedSlugRelatedField:
    return StoreScopedSlugRelatedField(slug_field="sku", queryset=Product.objects.none(), **kwargs)


def customer_by_external_id(**kwargs) -> StoreScopedSlugRelatedField:
    return StoreScopedSlugRelatedField(slug_field="external_id", queryset=Customer.objects.none(), **kwargs)


# --- auth and stores -------------------------------------------------------------------------------------


class TokenObtainInputSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as the header `Authorization: Token <token>`.")


class StoreSerializer(serializers.ModelSerializer):
    """A store as one of its members sees it (rendered from the Membership)."""

    slug = serializers.SlugField(source="store.slug", read_only=True)
    name = serializers.CharField(source="store.name", read_only=True)
    currency = serializers.CharField(source="store.currency", read_only=True)
    timezone = serializers.CharField(source="store.timezone", read_only=True)
    is_demo = serializers.BooleanField(source="store.is_demo", read_only=True)
    role = serializers.ChoiceField(choices=Role.choices, read_only=True, help_text="Your role in this store.")
    can_write = serializers.BooleanField(read_only=True)

    class Meta:
        model = Membership
        fields = ["slug", "name", "currency", "timezone", "is_demo", "role", "can_write"]


# --- products --------------------------------------------------------------------------------------------


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = [
            "sku",
            "title",
            "brand",
            "category",
            "price",
            "currency",
            "attributes",
            "description",
            "status",
            "stock",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {
            "sku": {"validators": [sku_validator]},
            "currency": {"validators": [currency_validator], "help_text": "ISO 4217; defaults to the store's."},
            "attributes": {"help_text": "Attribute name -> string, number or boolean."},
        }


class ProductBulkRowSerializer(ProductSerializer):
    """One row of a bulk upsert: `sku` plus the fields to set. `title` is required only for new SKUs."""

    class Meta(ProductSerializer.Meta):
        fields = [f for f in ProductSerializer.Meta.fields if f not in ("created_at", "updated_at")]
        read_only_fields: list[str] = []
        extra_kwargs = {**ProductSerializer.Meta.extra_kwargs, "title": {"required": False}}


class ProductBulkUpsertInputSerializer(serializers.Serializer):
    products = ProductBulkRowSerializer(
        many=True,
        allow_empty=False,
        max_length=BULK_UPSERT_MAX_ROWS,
        help_text=f"1 to {BULK_UPSERT_MAX_ROWS:,} rows, each with a distinct SKU.",
    )


class ProductBulkUpsertOutputSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    count = serializers.IntegerField()


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(
        allow_null=True, help_text="0-based index of the row in the submitted list; null when the whole batch is wrong."
    )
    field = serializers.CharField()
    message = serializers.CharField()


class BatchErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="The first problem, in words. Nothing was written.")
    errors = RowErrorSerializer(many=True)


# --- customers -------------------------------------------------------------------------------------------


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["external_id", "email", "name", "country", "created_at"]
        extra_kwargs = {
            "external_id": {"validators": [external_id_validator]},
            "country": {"validators": [country_validator]},
            "created_at": {"required": False, "help_text": "When the customer signed up; defaults to now."},
        }


# --- orders ----------------------------------------------------------------------------------------------


class OrderLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    title = serializers.CharField(source="product.title", read_only=True)

    class Meta:
        model = OrderLine
        fields = ["sku", "title", "quantity", "unit_price", "line_total"]
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer):
    customer = serializers.CharField(source="customer.external_id", read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "number",
            "customer",
            "status",
            "placed_at",
            "currency",
            "subtotal",
            "shipping",
            "tax",
            "total",
            "shipping_address",
            "lines",
            "created_at",
        ]
        read_only_fields = fields


class OrderLineInputSerializer(serializers.Serializer):
    sku = product_by_sku(source="product")
    quantity = serializers.IntegerField(min_value=1)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    line_total = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, help_text="Defaults to quantity x unit_price."
    )


class OrderCreateInputSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=64, validators=[external_id_validator])
    customer = customer_by_external_id(help_text="The customer's external id.")
    placed_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=Order._meta.get_field("status").choices, required=False)
    currency = serializers.CharField(
        validators=[currency_validator], required=False, help_text="Defaults to the store's."
    )
    shipping = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    tax = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    subtotal = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="If given, must equal the sum of the lines.",
    )
    total = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="If given, must equal subtotal + shipping + tax.",
    )
    shipping_address = serializers.CharField(required=False, allow_blank=True)
    lines = OrderLineInputSerializer(many=True, allow_empty=False)


# --- events ----------------------------------------------------------------------------------------------


class EventSerializer(serializers.ModelSerializer):
    customer = serializers.CharField(source="customer.external_id", read_only=True, allow_null=True, default=None)
    product = serializers.CharField(source="product.sku", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Event
        fields = ["id", "type", "customer", "session_id", "product", "occurred_at", "properties"]
        read_only_fields = fields


class EventCreateInputSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=EventType.choices)
    occurred_at = serializers.DateTimeField(help_text="ISO 8601 with a time zone; stored in UTC.")
    customer = customer_by_external_id(
        required=False, allow_null=True, help_text="External id; omit for anonymous events."
    )
    session_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    product = product_by_sku(required=False, allow_null=True, help_text="The product's SKU.")
    properties = serializers.DictField(required=False, default=dict)


# --- jobs ------------------------------------------------------------------------------------------------


class JobSerializer(serializers.ModelSerializer):
    label = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "label",
            "params",
            "status",
            "progress",
            "message",
            "error",
            "result",
            "cancel_requested",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_label(self, job: Job) -> str:
        kind = job_kinds().get(job.kind)
        return kind.label if kind else job.kind


class JobKindSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The value to send as `kind` when starting a job.")
    label = serializers.CharField()
    queue = serializers.CharField(help_text="The Celery queue its worker consumes.")
    params = serializers.SerializerMethodField(help_text="The parameters this kind accepts (anything else is a 400).")
    max_concurrent = serializers.IntegerField(help_text="Queued + running jobs of this kind a store may have at once.")

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_params(self, kind) -> list[str]:
        return kind.params_serializer().accepted()


class JobCreateInputSerializer(serializers.Serializer):
    kind = serializers.CharField(max_length=64, help_text="A registered job kind, e.g. kpi_rollup.")
    params = serializers.DictField(
        required=False, default=dict,
        help_text="The kind's parameters (GET jobs/kinds/ lists them); unknown keys and out-of-range values are 400.",
    )

    def validate_kind(self, value: str) -> str:
        known = job_kinds()
        if value not in known:
            raise serializers.ValidationError(f"Unknown job kind. Known: {', '.join(sorted(known))}.")
        return value

    def validate(self, attrs):
        # Each kind declares its inputs (ecomops.job_params); nothing else reaches the row or the worker.
        kind = job_kinds()[attrs["kind"]]
        try:
            params_serializer, validated = params_validate(
                kind.params_serializer, attrs.get("params", {}), store=self.context.get("store")
            )
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"params": exc.detail}) from None
        attrs["params"] = params_to_json(params_serializer, validated)
        return attrs
