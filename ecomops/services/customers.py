"""Customer writes for the API: create, update, delete. External ids are unique per store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from ecomops.models import Customer, Order, Store

CUSTOMER_FIELDS = ("email", "name", "country", "created_at")


def _external_id_taken(store_id: int, external_id: str) -> bool:
    return Customer.objects.for_store(store_id).filter(external_id=external_id).exists()


def customer_create(*, store: Store, external_id: str, created_at: datetime | None = None, **fields: Any) -> Customer:
    if _external_id_taken(store.pk, external_id):
        raise ValidationError(
            {"external_id": [f"A customer with external id {external_id!r} already exists in this store."]}
        )
    return Customer.objects.create(
        store=store, external_id=external_id, created_at=created_at or timezone.now(), **fields
    )


def customer_update(*, customer: Customer, external_id: str | None = None, **fields: Any) -> Customer:
    if external_id is not None and external_id != customer.external_id:
        if _external_id_taken(customer.store_id, external_id):
            raise ValidationError(
                {"external_id": [f"A customer with external id {external_id!r} already exists in this store."]}
            )
        fields["external_id"] = external_id
    for name, value in fields.items():
        setattr(customer, name, value)
    customer.save()
    return customer


def customer_delete(*, customer: Customer) -> None:
    """Customers with orders are kept: the orders reference them."""
    if Order.objects.for_store(customer.store_id).filter(customer=customer).exists():
        raise ValidationError({"external_id": [f"Customer {customer.external_id!r} has orders and cannot be deleted."]})
    customer.delete()
