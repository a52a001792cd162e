"""factory_boy factories for the shared domain. Apps add their own factories in tests/<app>/factories.py."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from ecomops.models import Customer, Event, EventType, Job, Membership, Order, OrderLine, Product, Role, Store


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("pass-word-123")


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    name = factory.Sequence(lambda n: f"Store {n}")
    slug = factory.Sequence(lambda n: f"store-{n}")
    currency = "EUR"
    timezone = "UTC"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    store = factory.SubFactory(StoreFactory)
    role = Role.OWNER


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    store = factory.SubFactory(StoreFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    title = factory.Sequence(lambda n: f"Cotton T-shirt {n}")
    brand = "Acme"
    category = "Apparel > Tops"
    price = Decimal("19.99")
    currency = "EUR"
    attributes = factory.LazyFunction(lambda: {"material": "cotton", "colour": "blue", "size": "M"})
    stock = 10


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    store = factory.SubFactory(StoreFactory)
    external_id = factory.Sequence(lambda n: f"C{n:05d}")
    email = factory.LazyAttribute(lambda o: f"{o.external_id.lower()}@example.com")
    name = factory.Sequence(lambda n: f"Customer {n}")
    country = "DE"
    created_at = factory.LazyFunction(lambda: datetime(2026, 1, 1, tzinfo=UTC))


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    store = factory.SubFactory(StoreFactory)
    customer = factory.SubFactory(CustomerFactory, store=factory.SelfAttribute("..store"))
    number = factory.Sequence(lambda n: f"100{n:04d}")
    placed_at = factory.LazyFunction(lambda: datetime(2026, 3, 1, 12, tzinfo=UTC))
    currency = "EUR"
    subtotal = Decimal("19.99")
    total = Decimal("19.99")


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    store = factory.SelfAttribute("order.store")
    product = factory.SubFactory(ProductFactory, store=factory.SelfAttribute("..store"))
    quantity = 1
    unit_price = Decimal("19.99")
    line_total = Decimal("19.99")


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    store = factory.SubFactory(StoreFactory)
    customer = factory.SubFactory(CustomerFactory, store=factory.SelfAttribute("..store"))
    session_id = factory.Sequence(lambda n: f"s{n}")
    type = EventType.VIEW
    product = factory.SubFactory(ProductFactory, store=factory.SelfAttribute("..store"))
    occurred_at = factory.LazyFunction(lambda: datetime(2026, 3, 1, 12, tzinfo=UTC))


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    store = factory.SubFactory(StoreFactory)
    kind = "kpi_rollup"
