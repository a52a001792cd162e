"""Tenancy, checked on every route there is (issue 2 §3).

The table is the URL configuration itself: `store_routes()` walks `get_resolver()` through every include and
yields each page and API route that takes a `store_slug`. For each one a member (owner) of store A asks

  (a) for store B's slug, with B's objects in the other URL kwargs, and
  (b) for A's own slug, with B's objects in the other URL kwargs (routes that have object kwargs),

and must get 404 for GET and 404/403 for POST/PUT/PATCH/DELETE, with B's objects unchanged afterwards. A
control request (A's slug, A's objects) must not be a 404, so a mis-built URL cannot pass by accident.
An analyst of A gets 403 for every write method of every route (analysts are read-only).

New routes are covered without editing this file, as long as their URL kwargs are in OBJECT_KWARGS. A kwarg
that is not makes the test fail and says so: add it there (model label and attribute). Models without a
factory are built by `auto_build`; one it cannot build fails with a message to add a builder to BUILDERS.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connections, models, transaction
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from django.utils.regex_helper import normalize
from rest_framework.test import APIClient

from ecomops.models import Product, Role, Store
from tests.factories import (
    CustomerFactory,
    EventFactory,
    JobFactory,
    MembershipFactory,
    OrderLineFactory,
    ProductFactory,
    StoreFactory,
    UserFactory,
)

VIEW_MODEL = None  # "the model of the view that serves the route" (its queryset_model / model / queryset)

# URL kwarg -> (model label, attribute). The value put in the URL is that attribute of one of the store's
# objects. With VIEW_MODEL the model is the view's own (for generic names such as pk). Add new kwargs here.
OBJECT_KWARGS: dict[str, tuple[str | None, str]] = {
    "sku": ("ecomops.Product", "sku"),
    "external_id": ("ecomops.Customer", "external_id"),
    "number": ("ecomops.Order", "number"),
    "job_id": ("ecomops.Job", "pk"),
    "pk": (VIEW_MODEL, "pk"),
    "id": (VIEW_MODEL, "pk"),
    "public_id": (VIEW_MODEL, "public_id"),  # support conversations
    "version": (VIEW_MODEL, "version"),  # support classifier versions
}

# Kwargs that pick a variant of a route rather than an object: URL name -> the variants to test.
ROUTE_LITERALS: dict[str, list[dict[str, str]]] = {
    "network:topology-edit": [{"kind": "cell"}, {"kind": "site"}],
}

# Routes whose view does not say which model a VIEW_MODEL kwarg refers to: URL name (with the variant in
# brackets where ROUTE_LITERALS gives several) -> model label.
ROUTE_MODELS: dict[str, str] = {
    "network:incident-ack": "network.Incident",
    "network:scenario-stop": "network.ScenarioInjection",
    "network:topology-edit[kind=cell]": "network.Cell",
    "network:topology-edit[kind=site]": "network.Site",
    "support:knowledge-edit": "support.KnowledgeEntry",
    "support:knowledge-delete": "support.KnowledgeEntry",
    "support:policy-edit": "support.PolicyPage",
    "support:policy-delete": "support.PolicyPage",
    "support:conversation": "support.Conversation",
    "support:conversation-reply": "support.Conversation",
    "support:conversation-note": "support.Conversation",
    "support:conversation-resolve": "support.Conversation",
}

# Routes with a store slug that serve no store-owned data by id and are public on purpose. Keep this short and
# say why for each entry.
PUBLIC_ROUTES: dict[str, str] = {
    "support-public:widget-js": "the embeddable chat widget script: public by design, no store data by id",
    "support-public:widget-try": "the public try-the-widget page: public by design, no store data by id",
    "storefront-search": "the shop's public search: the store's active catalogue only (tests/search isolation tests)",
    "storefront-search-slash": "the same storefront search with a trailing slash",
}

# Routes whose object kwarg names an identifier the *caller's own* store may simply not know, where the spec
# asks for a fallback instead of a 404. With store A's slug and store B's identifier they answer 200 from store
# A's own data with `"fallback": true`; the test checks that nothing of store B's appears in the answer.
FALLBACK_ROUTES: dict[str, str] = {
    "recommendations-customer": "an unknown customer gets the store's own trending list (issue 5)",
}

WRITE_METHODS = ("post", "put", "patch", "delete")


# --- walking the URL configuration ----------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    path_format: str  # e.g. "api/v1/stores/%(store_slug)s/products/%(sku)s/"
    kwargs: tuple[str, ...]
    name: str  # "namespace:name", or "" for unnamed routes
    callback: Callable
    literals: tuple[tuple[str, str], ...] = ()  # fixed kwargs of this variant (ROUTE_LITERALS)

    @property
    def object_kwargs(self) -> tuple[str, ...]:
        fixed = dict(self.literals)
        return tuple(k for k in self.kwargs if k != "store_slug" and k not in fixed)

    @property
    def variant(self) -> str:
        return self.name + ("[" + ",".join(f"{k}={v}" for k, v in self.literals) + "]" if self.literals else "")

    @property
    def view_class(self):
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)

    def methods(self) -> list[str]:
        actions = getattr(self.callback, "actions", None)  # a DRF viewset route: {"get": "list", ...}
        if actions:
            return [m for m in ("get", *WRITE_METHODS) if m in actions]
        view_class = self.view_class
        if view_class is None:  # a function view: try what a browser or client would
            return ["get", "post"]
        allowed = [m for m in ("get", *WRITE_METHODS) if hasattr(view_class, m)]
        names = getattr(view_class, "http_method_names", None)
        return [m for m in allowed if names is None or m in names]

    def url(self, values: dict[str, Any]) -> str:
        return "/" + self.path_format % {k: str(v) for k, v in {**values, **dict(self.literals)}.items()}

    def __str__(self) -> str:
        text = "/" + self.path_format
        for k, v in self.literals:
            text = text.replace(f"%({k})s", v)
        return text.replace("%(", "<").replace(")s", ">")


def walk(patterns, prefix: str = "", kwargs: tuple = (), namespace: str = "") -> Iterator[Route]:
    for entry in patterns:
        fmt, params = normalize(entry.pattern.regex.pattern)[0]
        if isinstance(entry, URLResolver):
            ns = ":".join(filter(None, [namespace, entry.namespace]))
            yield from walk(entry.url_patterns, prefix + fmt, kwargs + tuple(params), ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name or ""
            yield Route(prefix + fmt, kwargs + tuple(params), name, entry.callback)


def store_routes() -> list[Route]:
    routes = []
    for route in walk(get_resolver().url_patterns):
        if "store_slug" not in route.kwargs:
            continue
        for literals in ROUTE_LITERALS.get(route.name, [{}]):
            routes.append(dataclasses.replace(route, literals=tuple(sorted(literals.items()))))
    return routes


ROUTES = store_routes()


# --- the two stores' objects -----------------------------------------------------------------------------

_seq = itertools.count(1)


def auto_build(model: type[models.Model], store: Store, world: World) -> models.Model:
    """A minimal valid row of `model` in `store`: required fields get plain values, foreign keys to other
    store-owned models get the store's own rows. Raises with a clear message when a field type is unknown."""
    values: dict[str, Any] = {}
    n = next(_seq)
    for f in model._meta.concrete_fields:
        if f.primary_key and (f.has_default() or isinstance(f, models.AutoField)):
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            continue
        if f.is_relation:
            target = f.related_model
            if target is Store:
                values[f.name] = store
            elif f.null:
                continue
            elif target is get_user_model():
                values[f.name] = world.user
            else:
                values[f.name] = world.instance(target._meta.label)
            continue
        if f.has_default() or f.null:
            continue
        if f.choices:
            values[f.name] = f.choices[0][0]
        elif isinstance(f, models.EmailField):
            values[f.name] = f"x{n}@example.com"
        elif isinstance(f, models.URLField):
            values[f.name] = f"https://example.com/{n}"
        elif isinstance(f, models.UUIDField):
            values[f.name] = uuid.uuid4()
        elif isinstance(f, models.CharField | models.TextField):
            values[f.name] = f"t{n}"[: f.max_length or 100]
        elif isinstance(f, models.BooleanField):
            values[f.name] = False
        elif isinstance(f, models.IntegerField):
            values[f.name] = n
        elif isinstance(f, models.FloatField):
            values[f.name] = 1.0
        elif isinstance(f, models.DecimalField):
            values[f.name] = Decimal("1")
        elif isinstance(f, models.DateTimeField):
            values[f.name] = timezone.now()
        elif isinstance(f, models.DateField):
            values[f.name] = date.today()
        elif isinstance(f, models.DurationField):
            values[f.name] = timedelta(0)
        elif isinstance(f, models.JSONField):
            values[f.name] = {}
        elif isinstance(f, models.BinaryField):
            values[f.name] = b""
        else:
            raise LookupError(
                f"auto_build cannot fill {model._meta.label}.{f.name} ({type(f).__name__}); "
                f"add a builder for {model._meta.label!r} to BUILDERS in tests/ecomops/test_tenancy.py"
            )
    return model.objects.create(**values)


# Model label -> builder(store, world). Models not listed here are built by auto_build.
BUILDERS: dict[str, Callable[[Store, World], models.Model]] = {
    "ecomops.Product": lambda store, world: ProductFactory(store=store),
    "ecomops.Customer": lambda store, world: CustomerFactory(store=store),
    "ecomops.Order": lambda store, world: (
        OrderLineFactory(
            order__store=store,
            order__customer=world.instance("ecomops.Customer"),
            product=world.instance("ecomops.Product"),
        ).order
    ),
    "ecomops.Event": lambda store, world: EventFactory(
        store=store, customer=world.instance("ecomops.Customer"), product=world.instance("ecomops.Product")
    ),
    "ecomops.Job": lambda store, world: JobFactory(store=store),
}


@dataclass
class World:
    """One store, its owner, and one object of each model a route asks for (made on first use)."""

    store: Store
    user: Any
    objects: dict[str, models.Model] = field(default_factory=dict)

    def instance(self, label: str) -> models.Model:
        if label not in self.objects:
            build = BUILDERS.get(label) or (lambda store, world: auto_build(apps.get_model(label), store, world))
            with transaction.atomic():
                self.objects[label] = build(self.store, self)
        return self.objects[label]


def model_label_for(route: Route, kwarg: str) -> str:
    label, _ = OBJECT_KWARGS[kwarg]
    if label is not None:
        return label
    for key in (route.variant, route.name):
        if key in ROUTE_MODELS:
            return ROUTE_MODELS[key]
    view_class = route.view_class
    model = getattr(view_class, "queryset_model", None) or getattr(view_class, "model", None)
    if model is None and getattr(view_class, "queryset", None) is not None:
        model = view_class.queryset.model
    if model is None:
        pytest.fail(
            f"{route} ({route.name or 'unnamed'}): cannot tell which model the URL kwarg '{kwarg}' refers to. "
            f"Give the view a `queryset_model`/`model`, or add {route.name or str(route)!r} to ROUTE_MODELS "
            "in tests/ecomops/test_tenancy.py."
        )
    return model._meta.label


def url_values(route: Route, slug_world: World, object_world: World) -> tuple[dict[str, Any], list[models.Model]]:
    values: dict[str, Any] = {"store_slug": slug_world.store.slug}
    used = []
    for kwarg in route.object_kwargs:
        if kwarg not in OBJECT_KWARGS:
            pytest.fail(
                f"{route}: URL kwarg '{kwarg}' is not in OBJECT_KWARGS (tests/ecomops/test_tenancy.py). Add it "
                "with the model label and attribute it names, so this route's tenancy is tested."
            )
        obj = object_world.instance(model_label_for(route, kwarg))
        values[kwarg] = getattr(obj, OBJECT_KWARGS[kwarg][1])
        used.append(obj)
    return values, used


def snapshot(obj: models.Model) -> dict[str, Any]:
    fresh = type(obj)._base_manager.filter(pk=obj.pk).values().first()
    return fresh or {}


# --- the tests -----------------------------------------------------------------------------------------


@pytest.fixture
def worlds(db):
    user_a = UserFactory(username="tenant-a")
    a = World(StoreFactory(slug="store-a"), user_a)
    b = World(StoreFactory(slug="store-b"), UserFactory(username="tenant-b"))
    MembershipFactory(store=a.store, user=user_a, role=Role.OWNER)
    MembershipFactory(store=b.store, user=b.user, role=Role.OWNER)
    return a, b


def test_the_walk_finds_pages_and_api_routes():
    formats = {str(r) for r in ROUTES}
    assert "/stores/<store_slug>/catalog/<sku>/" in formats
    assert "/api/v1/stores/<store_slug>/products/<sku>/" in formats
    assert "/api/v1/stores/<store_slug>/jobs/<job_id>/cancel/" in formats
    assert len(ROUTES) >= 20


def test_every_store_route_kwarg_is_mapped():
    unknown = sorted(
        {(k, str(r)) for r in ROUTES if r.name not in PUBLIC_ROUTES for k in r.object_kwargs if k not in OBJECT_KWARGS}
    )
    assert not unknown, (
        "These URL kwargs are not in OBJECT_KWARGS in tests/ecomops/test_tenancy.py, so their routes' tenancy "
        f"cannot be tested; add each with the model label and attribute it names: {unknown}"
    )


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_member_of_store_a_cannot_reach_store_b(route: Route, worlds):
    if route.name in PUBLIC_ROUTES:
        pytest.skip(f"public route: {PUBLIC_ROUTES[route.name]}")
    a, b = worlds
    client = APIClient()  # a Django test client that also speaks DRF; no CSRF checks, so a 403 means a real 403
    client.force_login(a.user)

    cases = [("B's slug, B's objects", *url_values(route, b, b))]
    if route.object_kwargs:
        cases.append(("A's slug, B's objects", *url_values(route, a, b)))
    own_values, _ = url_values(route, a, a)

    for label, values, used in cases:
        url = route.url(values)
        match = resolve(url)
        assert match.func is route.callback, f"{url} resolves to {match.view_name}, not to {route.name or route}"
        before = [snapshot(obj) for obj in used]
        for method in route.methods():
            response = client.generic(method.upper(), url, data=json.dumps({}), content_type="application/json")
            if method == "get" and route.name in FALLBACK_ROUTES and values["store_slug"] == a.store.slug:
                assert response.status_code == 200 and response.json().get("fallback") is True, (
                    f"GET {url} ({label}): {FALLBACK_ROUTES[route.name]}, but it answered {response.status_code}"
                )
                own_skus = set(Product.objects.filter(store=a.store).values_list("sku", flat=True))
                served = {item["sku"] for item in response.json()["results"]}
                assert served <= own_skus, f"GET {url}: products of another store in the answer: {served - own_skus}"
                continue
            allowed = (404,) if method == "get" else (403, 404)
            assert response.status_code in allowed, (
                f"{method.upper()} {url} ({label}) as a member of store A answered {response.status_code}, "
                f"expected {' or '.join(map(str, allowed))}"
            )
        after = [snapshot(obj) for obj in used]
        assert before == after, f"{url} ({label}): store B's objects changed"

    if "get" in route.methods():
        own = client.get(route.url(own_values))
        assert own.status_code != 404, (
            f"GET {route.url(own_values)} (store A's own slug and objects) answered 404, so the checks above "
            "prove nothing; fix the route's entry in OBJECT_KWARGS / ROUTE_MODELS / BUILDERS"
        )


WRITE_ROUTES = [r for r in ROUTES if r.name not in PUBLIC_ROUTES and set(r.methods()) & set(WRITE_METHODS)]


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=str)
def test_analyst_cannot_write_anywhere(route: Route, worlds):
    """Analysts are read-only on every page and API route: each write method answers 403, nothing changes."""
    a, _ = worlds
    analyst = UserFactory(username="analyst-a")
    MembershipFactory(store=a.store, user=analyst, role=Role.ANALYST)
    client = APIClient()
    client.force_login(analyst)
    values, used = url_values(route, a, a)
    url = route.url(values)
    before = [snapshot(obj) for obj in used]
    for method in route.methods():
        if method in WRITE_METHODS:
            response = client.generic(method.upper(), url, data=json.dumps({}), content_type="application/json")
            assert response.status_code == 403, f"{method.upper()} {url} as an analyst answered {response.status_code}"
    assert [snapshot(obj) for obj in used] == before, f"{url}: an analyst's request changed data"


# --- the live websocket ------------------------------------------------------------------------------------


@pytest.fixture
async def close_thread_connections():
    """The ORM calls run in asgiref's worker thread; close its connection so the test database can be dropped."""
    yield
    await sync_to_async(connections.close_all, thread_sensitive=True)()


async def live_socket(slug: str, *, user=None) -> tuple[WebsocketCommunicator, bool, Any]:
    """Connect through the real ASGI stack: allowed-origin check, session cookie, AuthMiddlewareStack."""
    from ecomops.asgi import application

    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if user is not None:

        def session_cookie():
            client = APIClient()
            client.force_login(user)
            return client.cookies["sessionid"].value

        headers.append((b"cookie", f"sessionid={await database_sync_to_async(session_cookie)()}".encode()))
    communicator = WebsocketCommunicator(application, f"/ws/stores/{slug}/live/", headers=headers)
    connected, detail = await communicator.connect()
    return communicator, connected, detail


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_live_socket_admits_members_only(close_thread_connections):
    store = await database_sync_to_async(StoreFactory)(slug="socket-a")
    other = await database_sync_to_async(StoreFactory)(slug="socket-b")
    member = await database_sync_to_async(lambda: MembershipFactory(store=store, role=Role.ANALYST).user)()
    await database_sync_to_async(MembershipFactory)(store=other)

    communicator, connected, _ = await live_socket(store.slug, user=member)
    assert connected, "a member (even a read-only analyst) is let in"
    assert await communicator.receive_json_from(timeout=5) == {"type": "hello", "store": store.slug}
    await communicator.disconnect()

    for slug, user, who in (
        (other.slug, member, "a member of another store"),
        ("no-such-store", member, "anyone, for a store that does not exist"),
        (store.slug, None, "an anonymous visitor"),
    ):
        communicator, connected, code = await live_socket(slug, user=user)
        assert not connected and code == 4403, f"{who}: connected={connected}, close code {code}"
        await communicator.disconnect()  # let the refused consumer's task finish before the loop closes
