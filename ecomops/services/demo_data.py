"""Deterministic demo data: a plausible store with a catalog, customers, a year of sessions and orders.

`demo_store_seed(...)` (called by `manage.py seed_demo`) builds everything from one integer seed: the same seed
and the same size knobs give the same rows (see `demo_fingerprint`). The generator walks sessions through
view -> add_to_cart -> checkout -> purchase with realistic drop-off (plus searches and remove_from_cart),
with weekly, seasonal (Black Friday, December, January sales) and growth patterns in the store's local time.
Every purchase session becomes an Order with OrderLines; the purchase events carry the order number.

Extension point for the feature apps
------------------------------------
An app that wants demo rows of its own (support tickets, network links, generated copy, ...) registers a
seeder once, typically in its AppConfig.ready()::

    from ecomops.services.demo_data import register_demo_seeder

    def seed_support_demo(store, rng):      # store: the demo Store; rng: a random.Random of its own
        ...                                 # read the store's products/customers via .objects.for_store(store)

    register_demo_seeder(seed_support_demo)

`seed_demo` calls every registered seeder after the core data is committed and before the KPI rollups, each
in its own transaction with its own `random.Random` derived from the seed and the seeder's name (so adding one
app's seeder never changes another app's data). Seeders must be quick (no model training, no LM generation)
and deterministic given `rng`. A seeder that raises is reported; `seed_demo --strict` turns that into a failure.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import random
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from ecomops.models import (
    Customer,
    DailyStoreStats,
    Event,
    EventType,
    Job,
    Membership,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    ProductStatus,
    Role,
    Store,
)

CENT = Decimal("0.01")
ProgressFactory = Callable[[Iterable, str, int], Iterable]

# --- extension registry ------------------------------------------------------------------------------------

DemoSeeder = Callable[[Store, random.Random], Any]
_DEMO_SEEDERS: dict[str, DemoSeeder] = {}


def register_demo_seeder(fn: DemoSeeder, *, name: str | None = None) -> DemoSeeder:
    """Register `fn(store, rng)` to run at the end of seed_demo. Idempotent per name (module.qualname)."""
    _DEMO_SEEDERS[name or f"{fn.__module__}.{fn.__qualname__}"] = fn
    return fn


def demo_seeders() -> dict[str, DemoSeeder]:
    return dict(_DEMO_SEEDERS)


def unregister_demo_seeder(name: str) -> None:
    _DEMO_SEEDERS.pop(name, None)


# --- the catalog vocabulary --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductKind:
    category: str
    nouns: tuple[str, ...]
    brands: tuple[str, ...]
    price_range: tuple[float, float]
    attributes: dict[str, tuple]
    uses: tuple[str, ...]
    weight: float = 1.0


COLOURS = ("black", "white", "navy", "charcoal", "sand", "olive", "terracotta", "sky blue", "forest green", "burgundy")

KINDS: tuple[ProductKind, ...] = (
    ProductKind(
        "Apparel > Tops", ("T-shirt", "Hoodie", "Oxford shirt", "Crewneck sweater", "Polo shirt", "Tank top"),
        ("Harbor & Pine", "Northline", "Kestrel"), (14, 89),
        {"material": ("organic cotton", "linen", "merino wool", "cotton-modal blend", "recycled polyester"),
         "colour": COLOURS, "size": ("XS", "S", "M", "L", "XL", "XXL"), "fit": ("regular", "relaxed", "slim")},
        ("everyday wear", "weekend trips", "layering on cool evenings"), 1.4,
    ),
    ProductKind(
        "Apparel > Shoes", ("Trail runner", "Leather sneaker", "Canvas slip-on", "Chelsea boot", "Sandal"),
        ("Kestrel", "Stride Co.", "Fjordwalk"), (39, 189),
        {"material": ("full-grain leather", "suede", "canvas", "recycled mesh"), "colour": COLOURS,
         "size": tuple(f"EU {n}" for n in range(36, 47)), "sole": ("rubber", "EVA foam", "Vibram")},
        ("city walks", "long days on your feet", "light trails"), 1.0,
    ),
    ProductKind(
        "Home > Kitchen", ("Kettle", "Cast-iron skillet", "Chef's knife", "Stoneware mug", "French press", "Saucepan"),
        ("Copperleaf", "Oakhearth", "Brightware"), (9, 149),
        {"material": ("stainless steel", "cast iron", "stoneware", "enamelled steel", "borosilicate glass"),
         "colour": ("matte black", "cream", "steel", "sage", "cobalt"),
         "capacity": ("0.35 l", "0.5 l", "1.0 l", "1.7 l", "2.5 l"), "warranty": ("2 years", "5 years", "lifetime"),
         "dishwasher_safe": ("yes", "no")},
        ("slow Sunday breakfasts", "weeknight cooking", "a small kitchen"), 1.2,
    ),
    ProductKind(
        "Home > Bedding", ("Duvet cover", "Pillow", "Fitted sheet", "Throw blanket", "Weighted blanket"),
        ("Loom & Linen", "Oakhearth"), (24, 179),
        {"material": ("percale cotton", "washed linen", "bamboo lyocell", "wool"), "colour": COLOURS,
         "size": ("single", "double", "queen", "king"), "thread_count": ("200", "300", "400")},
        ("warm nights", "guest rooms", "a calmer bedroom"), 0.8,
    ),
    ProductKind(
        "Electronics > Audio", ("Wireless headphones", "Bluetooth speaker", "Earbuds", "Turntable", "Soundbar"),
        ("Auralis", "Pulse Audio", "Brightware"), (29, 349),
        {"colour": ("black", "white", "graphite", "sand"), "battery_life": ("8 h", "20 h", "30 h", "40 h"),
         "connectivity": ("Bluetooth 5.3", "Bluetooth 5.3 + USB-C", "Wi-Fi + Bluetooth"),
         "warranty": ("1 year", "2 years", "3 years")},
        ("commuting", "home office calls", "parties on the balcony"), 1.0,
    ),
    ProductKind(
        "Electronics > Accessories", ("Power bank", "USB-C cable", "Wall charger", "Phone stand", "Laptop sleeve"),
        ("Voltik", "Pulse Audio"), (9, 79),
        {"capacity": ("5,000 mAh", "10,000 mAh", "20,000 mAh", "n/a"), "connector": ("USB-C", "USB-C + USB-A", "Lightning"),
         "colour": ("black", "white", "grey"), "warranty": ("1 year", "2 years")},
        ("travel days", "a tidy desk", "always-on phones"), 1.1,
    ),
    ProductKind(
        "Outdoor > Camping", ("Backpack", "Two-person tent", "Sleeping bag", "Camping stove", "Headlamp"),
        ("Fjordwalk", "Summit Supply"), (19, 399),
        {"capacity": ("20 l", "30 l", "45 l", "2 persons", "n/a"), "material": ("ripstop nylon", "recycled polyester", "aluminium"),
         "weight": ("350 g", "900 g", "1.4 kg", "2.1 kg"), "colour": ("olive", "orange", "slate", "black"),
         "warranty": ("2 years", "5 years")},
        ("weekend hikes", "festival camping", "long-distance treks"), 0.7,
    ),
    ProductKind(
        "Beauty > Skincare", ("Face cream", "Cleansing gel", "Serum", "Lip balm", "Sunscreen SPF 50"),
        ("Mira Botanics", "Clearwater"), (6, 59),
        {"volume": ("15 ml", "30 ml", "50 ml", "100 ml", "200 ml"), "skin_type": ("all", "dry", "oily", "sensitive"),
         "scent": ("unscented", "citrus", "lavender", "green tea")},
        ("morning routines", "sensitive skin", "sunny days"), 0.9,
    ),
    ProductKind(
        "Sports > Fitness", ("Yoga mat", "Kettlebell", "Resistance band set", "Foam roller", "Jump rope"),
        ("Summit Supply", "Stride Co."), (12, 119),
        {"material": ("natural rubber", "TPE", "cast iron", "EVA foam"), "weight": ("0.5 kg", "1.2 kg", "8 kg", "12 kg", "16 kg"),
         "colour": ("black", "teal", "coral", "grey")},
        ("home workouts", "stretching after a run", "small apartments"), 0.8,
    ),
)

ADJECTIVES = ("Classic", "Everyday", "Essential", "Pro", "Lightweight", "Heritage", "Compact", "Premium", "Soft", "Rugged")
OPENERS = (
    "Meet the {title}: made for {use}.",
    "The {title} is our answer to {use}.",
    "Built for {use}, the {title} keeps things simple.",
    "If you care about {use}, the {title} is worth a look.",
)
MIDDLES = (
    "It is made from {material} and comes in {colour}.",
    "The {material} finish ages well and is easy to care for.",
    "Available in {colour}, it pairs well with the rest of the {brand} range.",
    "Customers tell us it feels {feel} from the first day.",
)
CLOSERS = (
    "Backed by a {warranty} warranty.",
    "Ships within two working days; free returns for 30 days.",
    "Designed in Hamburg, tested by our team before it reaches the catalog.",
    "A small upgrade you will notice every day.",
)
FEELS = ("sturdy", "soft", "well balanced", "surprisingly light", "solid")
SEARCH_TERMS = (
    "linen shirt", "running shoes", "kettle", "headphones", "power bank", "tent", "face cream", "yoga mat",
    "duvet cover", "usb c cable", "gift ideas", "black friday", "merino", "cast iron", "sunscreen", "backpack",
    "bluetooth speaker", "chelsea boot", "weighted blanket", "kettlebell",
)

COUNTRIES = (  # (code, weight, first names, last names)
    ("DE", 34, ("Lena", "Jonas", "Mia", "Felix", "Hannah", "Lukas", "Sophie", "Paul"), ("Müller", "Schmidt", "Weber", "Wagner", "Becker", "Hoffmann")),
    ("AT", 6, ("Anna", "Tobias", "Laura", "David"), ("Gruber", "Huber", "Bauer", "Steiner")),
    ("NL", 9, ("Daan", "Emma", "Sem", "Julia", "Lotte"), ("de Jong", "Jansen", "de Vries", "Bakker", "Visser")),
    ("FR", 11, ("Louise", "Hugo", "Chloé", "Louis", "Camille"), ("Martin", "Bernard", "Dubois", "Moreau", "Laurent")),
    ("GB", 10, ("Olivia", "George", "Amelia", "Harry", "Isla"), ("Smith", "Jones", "Taylor", "Brown", "Evans")),
    ("ES", 7, ("Lucía", "Hugo", "Martina", "Mateo"), ("García", "Fernández", "López", "Martínez")),
    ("IT", 7, ("Giulia", "Leonardo", "Sofia", "Francesco"), ("Rossi", "Russo", "Ferrari", "Esposito")),
    ("PL", 5, ("Zuzanna", "Jakub", "Julia", "Antoni"), ("Nowak", "Kowalski", "Wiśniewski", "Wójcik")),
    ("SE", 4, ("Alice", "William", "Maja", "Elias"), ("Andersson", "Johansson", "Karlsson", "Nilsson")),
    ("US", 7, ("Emma", "Liam", "Ava", "Noah", "Mia"), ("Johnson", "Williams", "Miller", "Davis", "Garcia")),
)
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example")
DEVICES = (("mobile", 0.58), ("desktop", 0.35), ("tablet", 0.07))
CHANNELS = (("organic", 0.34), ("direct", 0.22), ("paid_search", 0.16), ("social", 0.14), ("email", 0.09), ("referral", 0.05))
WEEKDAY_FACTOR = (0.97, 0.95, 0.96, 1.0, 1.04, 0.92, 1.16)  # Monday .. Sunday
HOUR_WEIGHTS = (1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.2, 3.0, 3.2, 3.3, 3.4, 3.8, 3.6, 3.3, 3.3, 3.5, 3.9, 4.6, 5.6, 6.2, 5.8, 4.2, 2.2)


@dataclass(frozen=True)
class DemoSize:
    products: int = 300
    customers: int = 3000
    days: int = 365
    sessions_per_day: float = 110.0


@dataclass
class DemoResult:
    store: Store
    products: int = 0
    customers: int = 0
    orders: int = 0
    order_lines: int = 0
    events: int = 0
    sessions: int = 0
    extras: dict[str, str] = field(default_factory=dict)
    rollup: dict = field(default_factory=dict)


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _price(rng: random.Random, lo: float, hi: float) -> Decimal:
    """Log-uniform in [lo, hi], ending in .99, .95, .49 or .00 like real price tags."""
    raw = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    ending = rng.choice((0.99, 0.99, 0.95, 0.49, 0.0))
    return _money(max(1, math.floor(raw)) + ending)


def _weighted(rng: random.Random, pairs) -> str:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


# --- products ---------------------------------------------------------------------------------------------


def _description(rng: random.Random, title: str, brand: str, kind: ProductKind, attrs: dict) -> str:
    context = {
        "title": title, "brand": brand, "use": rng.choice(kind.uses), "feel": rng.choice(FEELS),
        "material": attrs.get("material", "carefully chosen materials"), "colour": attrs.get("colour", "several colours"),
        "warranty": attrs.get("warranty", "2-year"),
    }
    # Only sentences whose facts the product has: no "made from carefully chosen materials" filler.
    middles = [m for m in MIDDLES if all(f"{{{key}}}" not in m or key in attrs for key in ("material", "colour"))]
    sentences = [rng.choice(OPENERS), rng.choice(middles)]
    if rng.random() < 0.6 and len(middles) > 1:
        sentences.append(rng.choice([m for m in middles if m not in sentences]))
    closers = [c for c in CLOSERS if "{warranty}" not in c or "warranty" in attrs]
    sentences.append(rng.choice(closers))
    text = " ".join(s.format(**context) for s in sentences)
    extras = [f"{k.replace('_', ' ').capitalize()}: {v}" for k, v in attrs.items() if k in ("capacity", "volume", "battery_life", "weight")]
    if extras:
        text += "\n\n" + "\n".join(extras)
    return text


def build_products(store: Store, rng: random.Random, count: int) -> list[Product]:
    products = []
    kind_weights = [k.weight for k in KINDS]
    seen_titles: set[str] = set()
    for index in range(count):
        kind = KINDS[index % len(KINDS)] if index < len(KINDS) else rng.choices(KINDS, weights=kind_weights)[0]
        brand = rng.choice(kind.brands)
        noun = rng.choice(kind.nouns)
        attrs = {name: rng.choice(values) for name, values in kind.attributes.items() if rng.random() < 0.9}
        variant = attrs.get("colour") or attrs.get("capacity") or attrs.get("volume") or attrs.get("size") or ""
        title = f"{brand} {rng.choice(ADJECTIVES)} {noun}"
        if variant:
            title += f", {variant}"
        if title in seen_titles:
            title += f" ({index})"
        seen_titles.add(title)
        prefix = "".join(word[0] for word in kind.category.replace(">", " ").split())[:3].upper()
        status = _weighted(rng, ((ProductStatus.ACTIVE, 0.9), (ProductStatus.DRAFT, 0.06), (ProductStatus.ARCHIVED, 0.04)))
        products.append(
            Product(
                store=store,
                sku=f"{prefix}-{index + 1:05d}",
                title=title,
                brand=brand,
                category=kind.category,
                price=_price(rng, *kind.price_range),
                currency=store.currency,
                attributes=attrs,
                description=_description(rng, title, brand, kind, attrs) if rng.random() < 0.85 else "",
                status=status,
                stock=0 if status == ProductStatus.ARCHIVED else int(rng.paretovariate(1.3) * 8),
            )
        )
    return products


# --- customers --------------------------------------------------------------------------------------------


def build_customers(store: Store, rng: random.Random, count: int, first_day: datetime, last_day: datetime) -> list[Customer]:
    customers = []
    country_weights = [c[1] for c in COUNTRIES]
    # A third signed up before the simulated year; the rest join over it (a growing store).
    before = first_day - timedelta(days=730)
    span_before = (first_day - before).total_seconds()
    span_during = (last_day - first_day).total_seconds()
    for index in range(count):
        code, _w, firsts, lasts = rng.choices(COUNTRIES, weights=country_weights)[0]
        first, last = rng.choice(firsts), rng.choice(lasts)
        if rng.random() < 0.35:
            created = before + timedelta(seconds=rng.random() * span_before)
        else:
            created = first_day + timedelta(seconds=(rng.random() ** 0.8) * span_during)
        local = first.lower().replace("é", "e").replace("í", "i") + "." + last.lower().replace(" ", "").replace("ü", "ue")
        local = local.encode("ascii", "ignore").decode()
        customers.append(
            Customer(
                store=store,
                external_id=f"CUST-{index + 1:06d}",
                email=f"{local}{rng.randint(1, 99)}@{rng.choice(EMAIL_DOMAINS)}",
                name=f"{first} {last}",
                country=code,
                created_at=created.replace(microsecond=0),
            )
        )
    customers.sort(key=lambda c: c.created_at)
    return customers


# --- sessions, events, orders -----------------------------------------------------------------------------


def day_traffic_factor(day: date, index: int, days: int) -> float:
    """Relative traffic of a local day: weekday shape x season x growth."""
    factor = WEEKDAY_FACTOR[day.weekday()]
    doy = day.timetuple().tm_yday
    factor *= 1 + 0.12 * math.cos(2 * math.pi * (doy - 20) / 365.25)  # winter high, summer low
    if day.month == 11 and 20 <= day.day <= 30:
        factor *= 1.5 if day.weekday() != 4 or day.day < 23 else 2.6  # Black Friday week
    elif day.month == 12 and day.day <= 21:
        factor *= 1.35
    elif day.month == 12 and day.day >= 24:
        factor *= 0.7
    elif day.month == 1 and day.day <= 14:
        factor *= 1.15  # January sales
    factor *= 0.8 + 0.4 * (index / max(1, days - 1))  # a store that grows over the year
    return factor


@dataclass
class _Session:
    session_id: str
    start: datetime
    device: str
    channel: str
    customer_index: int | None


def _session_events(
    rng: random.Random, s: _Session, store: Store, products: list[Product], by_category: dict[str, list[int]],
    popularity: list[float], customers: list[Customer], order_counter: list[int],
) -> tuple[list[Event], Order | None, list[OrderLine]]:
    events: list[Event] = []
    now = s.start
    props = {"device": s.device, "channel": s.channel}
    customer = customers[s.customer_index] if s.customer_index is not None else None
    returning = customer is not None

    def add(etype: str, product: Product | None, cust: Customer | None, extra: dict | None = None) -> None:
        nonlocal now
        events.append(
            Event(
                store=store, customer=cust, session_id=s.session_id, type=etype, product=product,
                occurred_at=now, properties={**props, **(extra or {})},
            )
        )
        now += timedelta(seconds=int(rng.expovariate(1 / 55)) + 5)

    categories = list(by_category)
    focus = rng.choice(categories)
    if rng.random() < 0.28:
        term = rng.choice(SEARCH_TERMS)
        add(EventType.SEARCH, None, customer, {"query": term, "results": rng.randint(0, 40)})
    views = min(12, 1 + int(rng.expovariate(1 / 2.2)))
    cart: dict[int, int] = {}
    viewed: list[int] = []
    for _ in range(views):
        pool = by_category[focus] if rng.random() < 0.75 else by_category[rng.choice(categories)]
        weights = [popularity[i] for i in pool]
        index = rng.choices(pool, weights=weights)[0]
        viewed.append(index)
        add(EventType.VIEW, products[index], customer)
        p_cart = 0.09 if returning else 0.06
        if rng.random() < p_cart * (1.4 if products[index].price < 40 else 1.0):
            qty = 1 if rng.random() < 0.85 else 2
            cart[index] = cart.get(index, 0) + qty
            add(EventType.ADD_TO_CART, products[index], customer, {"quantity": qty})
            if rng.random() < 0.13:
                add(EventType.REMOVE_FROM_CART, products[index], customer, {"quantity": cart.pop(index)})
    if not cart or rng.random() > (0.44 if returning else 0.3):
        return events, None, []
    if customer is None:
        # Guests sign in (or sign up) at checkout: from here on the session belongs to a customer.
        customer = customers[rng.randrange(len(customers))]
        while customer.created_at > s.start and rng.random() < 0.9:
            customer = customers[rng.randrange(len(customers))]
    add(EventType.CHECKOUT, None, customer, {"items": sum(cart.values())})
    if rng.random() > 0.62:
        return events, None, []
    order_counter[0] += 1
    number = f"HP{100000 + order_counter[0]}"
    lines = []
    subtotal = Decimal("0")
    for index, qty in cart.items():
        product = products[index]
        unit = product.price
        if rng.random() < 0.12:  # a voucher or sale price
            unit = (unit * Decimal("0.85")).quantize(CENT, rounding=ROUND_HALF_UP)
        line_total = unit * qty
        subtotal += line_total
        lines.append(OrderLine(store=store, product=product, quantity=qty, unit_price=unit, line_total=line_total))
    shipping = Decimal("0.00") if subtotal >= Decimal("50") else Decimal("4.95")
    order = Order(
        store=store, customer=customer, number=number, status=OrderStatus.PAID, placed_at=now,
        currency=store.currency, subtotal=subtotal, shipping=shipping,
        # Prices are gross (VAT included, as EU shops show them): tax is the VAT share of the total.
        tax=((subtotal + shipping) * Decimal("19") / Decimal("119")).quantize(CENT, rounding=ROUND_HALF_UP),
        total=subtotal + shipping,
        shipping_address=f"{customer.name}\n{rng.randint(1, 180)} Demo Street\n{customer.country}",
    )
    for index, qty in cart.items():
        add(EventType.PURCHASE, products[index], customer, {"order": number, "quantity": qty})
    return events, order, lines


def _order_status(rng: random.Random, placed_at: datetime, end: datetime) -> str:
    age = (end - placed_at).days
    roll = rng.random()
    if roll < 0.03:
        return OrderStatus.CANCELLED
    if roll < 0.05 and age > 7:
        return OrderStatus.REFUNDED
    if age < 2:
        return OrderStatus.PAID
    if age < 6:
        return OrderStatus.SHIPPED if rng.random() < 0.7 else OrderStatus.PAID
    return OrderStatus.DELIVERED


def _no_progress(iterable: Iterable, _desc: str, _total: int) -> Iterable:
    return iterable


def _bulk(model, rows: list, progress: ProgressFactory, desc: str, batch: int = 5000) -> None:
    chunks = [rows[i : i + batch] for i in range(0, len(rows), batch)]
    for chunk in progress(chunks, desc, len(chunks)):
        model.objects.bulk_create(chunk, batch_size=batch)


def demo_store_delete(store: Store) -> None:
    """Remove a demo store and its rows, children first (order lines protect products and customers)."""
    if not store.is_demo:
        raise ValueError(f"The store {store.slug!r} is not a demo store; refusing to delete it.")
    with transaction.atomic():
        for model in (Event, OrderLine, Order, DailyStoreStats, Job, Customer, Product):
            model.objects.for_store(store).delete()
        store.delete()


def demo_store_seed(
    *,
    slug: str = "demo",
    seed: int = 42,
    size: DemoSize | None = None,
    name: str = "Harbor & Pine",
    currency: str = "EUR",
    tz_name: str = "Europe/Berlin",
    end_date: date | None = None,
    progress: ProgressFactory | None = None,
    run_extras: bool = True,
    strict_extras: bool = False,
    rollups: bool = True,
) -> DemoResult:
    """Create the demo store `slug` with deterministic data. The store must not exist yet.

    end_date: the last local day of history (default: today in the store's time zone; sessions that would start
    after now are left out so the dashboard never shows the future).
    """
    size = size or DemoSize()
    progress = progress or _no_progress
    rng = random.Random(seed)
    tz = zoneinfo.ZoneInfo(tz_name)
    cutoff = None
    if end_date is None:
        now = timezone.now()
        end_date = now.astimezone(tz).date()
        cutoff = now
    start_date = end_date - timedelta(days=size.days - 1)
    first_instant = datetime.combine(start_date, time.min, tzinfo=tz).astimezone(UTC)
    last_instant = datetime.combine(end_date, time.max, tzinfo=tz).astimezone(UTC)

    if Store.objects.filter(slug=slug).exists():
        raise ValueError(f"A store with the slug {slug!r} already exists.")

    with transaction.atomic():
        store = Store.objects.create(name=name, slug=slug, currency=currency, timezone=tz_name, is_demo=True)
        result = DemoResult(store=store)

        products = build_products(store, rng, size.products)
        _bulk(Product, products, progress, "products")
        result.products = len(products)

        customers = build_customers(store, rng, size.customers, first_instant, last_instant)
        _bulk(Customer, customers, progress, "customers")
        result.customers = len(customers)
        signup_times = [c.created_at for c in customers]

        sellable = [i for i, p in enumerate(products) if p.status == ProductStatus.ACTIVE] or list(range(len(products)))
        by_category: dict[str, list[int]] = {}
        for i in sellable:
            by_category.setdefault(products[i].category, []).append(i)
        # Long-tail popularity: a few bestsellers, many slow movers.
        popularity = [1.0 / (1 + rank) ** 0.9 for rank in range(len(products))]
        rng.shuffle(popularity)

        events: list[Event] = []
        orders: list[Order] = []
        lines_per_order: list[list[OrderLine]] = []
        order_counter = [0]
        hours = list(range(24))
        for day_index in progress(range(size.days), "sessions", size.days):
            day = start_date + timedelta(days=day_index)
            expected = size.sessions_per_day * day_traffic_factor(day, day_index, size.days)
            count = max(0, int(round(expected * rng.lognormvariate(0, 0.12))))
            starts = sorted(
                datetime.combine(day, time(rng.choices(hours, weights=HOUR_WEIGHTS)[0], rng.randrange(60), rng.randrange(60)), tzinfo=tz).astimezone(UTC)
                for _ in range(count)
            )
            for start in starts:
                if cutoff is not None and start > cutoff:
                    break
                known = bisect.bisect_right(signup_times, start)
                signed_in = known > 0 and rng.random() < 0.42
                session = _Session(
                    session_id=f"{rng.getrandbits(64):016x}",
                    start=start,
                    device=_weighted(rng, DEVICES),
                    channel=_weighted(rng, CHANNELS),
                    # Loyal (older) customers come back more often.
                    customer_index=int((rng.random() ** 1.6) * known) if signed_in else None,
                )
                session_events, order, lines = _session_events(
                    rng, session, store, products, by_category, popularity, customers, order_counter
                )
                events.extend(session_events)
                result.sessions += 1
                if order is not None:
                    order.status = _order_status(rng, order.placed_at, cutoff or last_instant)
                    orders.append(order)
                    lines_per_order.append(lines)

        _bulk(Order, orders, progress, "orders")
        all_lines = []
        for order, lines in zip(orders, lines_per_order, strict=True):
            for line in lines:
                line.order = order
                all_lines.append(line)
        _bulk(OrderLine, all_lines, progress, "order lines")
        _bulk(Event, events, progress, "events")
        result.orders, result.order_lines, result.events = len(orders), len(all_lines), len(events)
    # Fresh planner statistics before anything reads the new rows (the extras, the rollup, the dashboard).
    from ecomops.services.ingest import tables_analyse

    tables_analyse([Product, Customer, Order, OrderLine, Event])

    if run_extras:
        for seeder_name, seeder in demo_seeders().items():
            seeder_rng = random.Random(f"{seed}:{seeder_name}")
            try:
                with transaction.atomic():
                    seeder(store, seeder_rng)
                result.extras[seeder_name] = "ok"
            except Exception as exc:
                if strict_extras:
                    raise
                result.extras[seeder_name] = f"failed: {exc.__class__.__name__}: {exc}"

    if rollups:
        from ecomops.services.rollups import rollups_refresh

        result.rollup = rollups_refresh(store=store)
    return result


def demo_user_ensure(*, store: Store, username: str, password: str | None) -> Any:
    """The demo login: created if missing, given the password when one is passed, owner of the store."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
    if password:
        user.set_password(password)
        user.save(update_fields=["password"])
    elif created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    Membership.objects.update_or_create(user=user, store=store, defaults={"role": Role.OWNER})
    return user


DEMO_OPS_USER, DEMO_OPS_PASSWORD = "ops", "ops-pass-2026"


def demo_ops_user_ensure(*, username: str = DEMO_OPS_USER, password: str | None = DEMO_OPS_PASSWORD) -> Any:
    """The demo's ops (staff) login for /admin/: the admin reads across stores, so it is a staff superuser and
    a member of no store. Created if missing; given the password when one is passed."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
    user.is_staff = user.is_superuser = True
    if password:
        user.set_password(password)
    elif created:
        user.set_unusable_password()
    user.save(update_fields=["is_staff", "is_superuser", "password"])
    return user


def demo_fingerprint(store: Store) -> str:
    """A hash over the generated rows (natural keys and values, not database ids or wall-clock timestamps)."""
    digest = hashlib.sha256()

    def feed(rows: Iterable) -> None:
        for row in rows:
            digest.update(json.dumps(row, default=str, sort_keys=True).encode())

    feed([store.name, store.currency, store.timezone])
    feed(Product.objects.for_store(store).order_by("sku").values_list(
        "sku", "title", "brand", "category", "price", "attributes", "description", "status", "stock"))
    feed(Customer.objects.for_store(store).order_by("external_id").values_list(
        "external_id", "email", "name", "country", "created_at"))
    feed(Order.objects.for_store(store).order_by("number").values_list(
        "number", "customer__external_id", "status", "placed_at", "subtotal", "shipping", "tax", "total"))
    feed(OrderLine.objects.for_store(store).order_by("order__number", "product__sku").values_list(
        "order__number", "product__sku", "quantity", "unit_price", "line_total"))
    feed(Event.objects.for_store(store).order_by("occurred_at", "session_id", "type", "product__sku").values_list(
        "session_id", "type", "occurred_at", "product__sku", "customer__external_id", "properties"))
    return digest.hexdigest()
