"""django-filter filter sets of the shared-domain API (query parameters of the list endpoints).

They narrow a queryset that is already scoped to the request's store, so joins such as `customer__external_id`
only ever see that store's rows.
"""

from __future__ import annotations

from datetime import UTC

import django_filters as filters
from django import forms
from django_filters.fields import IsoDateTimeField

from ecomops.models import Customer, Event, EventType, Job, JobStatus, Order, OrderStatus, Product, ProductStatus


class BoundedIsoDateTimeField(IsoDateTimeField):
    """ISO 8601, handed to the database in UTC. PostgreSQL refuses offsets past ±15:59 ("time zone displacement
    out of range", a 500) and an instant that leaves years 1..9999 once converted overflows; both become a 400
    field error here, and any accepted offset reaches the query as plain UTC."""

    default_error_messages = {
        "out_of_range": "Enter an ISO 8601 date-time with a valid UTC offset whose instant lies between years "
        "1 and 9999 in UTC.",
    }

    def strptime(self, value, format):
        try:
            parsed = super().strptime(value, format)
        except (ValueError, OverflowError):  # e.g. "+25:00": datetime refuses the offset
            raise forms.ValidationError(self.error_messages["out_of_range"], code="out_of_range") from None
        return parsed

    def to_python(self, value):
        result = super().to_python(value)
        if result is not None and result.tzinfo is not None:
            try:
                result = result.astimezone(UTC)
            except (ValueError, OverflowError):
                raise forms.ValidationError(self.error_messages["out_of_range"], code="out_of_range") from None
        return result


class IsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField


class ProductFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=ProductStatus.choices)
    brand = filters.CharFilter(field_name="brand", lookup_expr="iexact")
    category = filters.CharFilter(
        field_name="category", lookup_expr="startswith", help_text="Category path prefix, e.g. 'Apparel > Shoes'."
    )
    min_price = filters.NumberFilter(field_name="price", lookup_expr="gte")
    max_price = filters.NumberFilter(field_name="price", lookup_expr="lte")
    in_stock = filters.BooleanFilter(field_name="stock", method="filter_in_stock", help_text="true: stock > 0.")
    updated_since = IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Product
        fields = ["status", "brand", "category", "min_price", "max_price", "in_stock", "updated_since"]

    def filter_in_stock(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(stock__gt=0) if value else queryset.filter(stock__lte=0)


class CustomerFilter(filters.FilterSet):
    country = filters.CharFilter(field_name="country", lookup_expr="iexact")
    email = filters.CharFilter(field_name="email", lookup_expr="iexact")
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Customer
        fields = ["country", "email", "created_after", "created_before"]


class OrderFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=OrderStatus.choices)
    customer = filters.CharFilter(field_name="customer__external_id", help_text="The customer's external id.")
    placed_after = IsoDateTimeFilter(field_name="placed_at", lookup_expr="gte")
    placed_before = IsoDateTimeFilter(field_name="placed_at", lookup_expr="lt")
    min_total = filters.NumberFilter(field_name="total", lookup_expr="gte")
    max_total = filters.NumberFilter(field_name="total", lookup_expr="lte")
    sku = filters.CharFilter(field_name="lines__product__sku", distinct=True, help_text="Orders containing this SKU.")

    class Meta:
        model = Order
        fields = ["status", "customer", "placed_after", "placed_before", "min_total", "max_total", "sku"]


class EventFilter(filters.FilterSet):
    type = filters.MultipleChoiceFilter(choices=EventType.choices, help_text="Repeat to match several types.")
    customer = filters.CharFilter(field_name="customer__external_id", help_text="The customer's external id.")
    product = filters.CharFilter(field_name="product__sku", help_text="The product's SKU.")
    session_id = filters.CharFilter(field_name="session_id")
    occurred_after = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte", help_text="Inclusive.")
    occurred_before = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt", help_text="Exclusive.")

    class Meta:
        model = Event
        fields = ["type", "customer", "product", "session_id", "occurred_after", "occurred_before"]


class JobFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=JobStatus.choices)
    kind = filters.CharFilter(field_name="kind")

    class Meta:
        model = Job
        fields = ["status", "kind"]
