"""Order writes for the API: create an order with its lines, checking that the money adds up.

Amounts are Decimal with two places. A line's `line_total` defaults to quantity x unit_price, the order's
`subtotal` to the sum of its lines and `total` to subtotal + shipping + tax; an amount the caller does give must
equal that sum to the cent, so a client's arithmetic error is a 400 rather than a wrong number in the reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from ecomops.models import Customer, Order, OrderLine, OrderStatus, Product, Store

CENT = Decimal("0.01")


@dataclass(frozen=True)
class OrderLineInput:
    product: Product
    quantity: int
    unit_price: Decimal
    line_total: Decimal | None = None


def order_create(
    *,
    store: Store,
    number: str,
    customer: Customer,
    placed_at: datetime,
    lines: Sequence[OrderLineInput],
    status: str = OrderStatus.PAID,
    currency: str | None = None,
    shipping: Decimal = Decimal("0.00"),
    tax: Decimal = Decimal("0.00"),
    subtotal: Decimal | None = None,
    total: Decimal | None = None,
    shipping_address: str = "",
) -> Order:
    errors: dict[str, list[str]] = {}
    if Order.objects.for_store(store).filter(number=number).exists():
        errors["number"] = [f"An order with number {number!r} already exists in this store."]
    if customer.store_id != store.pk:
        errors["customer"] = ["Unknown customer in this store."]
    if not lines:
        errors["lines"] = ["An order needs at least one line."]
    line_totals: list[Decimal] = []
    line_problems: list[str] = []
    for index, line in enumerate(lines):
        if line.product.store_id != store.pk:
            line_problems.append(f"Line {index}: unknown product in this store.")
        expected = (line.unit_price * line.quantity).quantize(CENT)
        if line.line_total is not None and line.line_total.quantize(CENT) != expected:
            line_problems.append(
                f"Line {index} (sku {line.product.sku}): line_total {line.line_total} is not "
                f"quantity x unit_price = {expected}."
            )
        line_totals.append(expected)
    if line_problems:
        errors["lines"] = line_problems
    lines_sum = sum(line_totals, Decimal("0.00"))
    if subtotal is not None and subtotal.quantize(CENT) != lines_sum:
        errors["subtotal"] = [f"subtotal {subtotal} is not the sum of the lines, {lines_sum}."]
    subtotal = lines_sum if subtotal is None else subtotal.quantize(CENT)
    expected_total = (subtotal + shipping + tax).quantize(CENT)
    if total is not None and total.quantize(CENT) != expected_total:
        errors["total"] = [f"total {total} is not subtotal + shipping + tax = {expected_total}."]
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        order = Order.objects.create(
            store=store,
            number=number,
            customer=customer,
            placed_at=placed_at,
            status=status,
            currency=currency or store.currency,
            subtotal=subtotal,
            shipping=shipping,
            tax=tax,
            total=expected_total,
            shipping_address=shipping_address,
        )
        OrderLine.objects.bulk_create(
            [
                OrderLine(
                    store=store,
                    order=order,
                    product=line.product,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    line_total=line_total,
                )
                for line, line_total in zip(lines, line_totals, strict=True)
            ]
        )
    return order
