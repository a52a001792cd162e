"""API views of the shared domain, under /api/v1/. Thin doors: parse with a serializer, call a service, render.

Every view under /api/v1/stores/<store_slug>/ inherits the store resolution of ecomops.api.base (foreign store
or object = 404, analysts read-only = 403 on writes).
"""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, status
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ecomops import fastpath, hotcache
from ecomops.api.base import StoreScopedAPIView, StoreScopedModelViewSet, StoreScopedViewSet
from ecomops.api.filters import CustomerFilter, EventFilter, JobFilter, OrderFilter, ProductFilter
from ecomops.api.ingest import CappedJSONParser
from ecomops.api.serializers import (
    BatchErrorSerializer,
    CustomerSerializer,
    EventCreateInputSerializer,
    EventSerializer,
    JobCreateInputSerializer,
    JobKindSerializer,
    JobSerializer,
    OrderCreateInputSerializer,
    OrderSerializer,
    ProductBulkUpsertInputSerializer,
    ProductBulkUpsertOutputSerializer,
    ProductSerializer,
    StoreSerializer,
    TokenObtainInputSerializer,
    TokenOutputSerializer,
)
from ecomops.api.throttling import AnonRateThrottle
from ecomops.lockout import LOCKOUT_CODE, login_lockout_message
from ecomops.models import Customer, Event, Job, Membership, Order, OrderLine, Product, Store
from ecomops.services.catalog import (
    BatchValidationError,
    RowError,
    product_create,
    product_delete,
    product_update,
    products_bulk_upsert,
)
from ecomops.services.customers import customer_create, customer_delete, customer_update
from ecomops.services.events import event_create
from ecomops.services.jobs import JobNotRetryable, job_cancel, job_create, job_kinds, job_retry
from ecomops.services.orders import OrderLineInput, order_create

PRODUCT_LIST_CACHE_SECONDS = 300

# Natural keys in URLs may contain dots (SKUs such as "TS-1.2"), never slashes.
NATURAL_KEY_REGEX = r"[^/]+"


# --- auth and stores -------------------------------------------------------------------------------------


class TokenObtainThrottle(AnonRateThrottle):
    """Password guessing costs time: a few attempts per minute per client address."""

    scope = "token_obtain"
    rate = "20/min"


class TokenObtainApi(APIView):
    """Exchange a username and password for the user's API token (created on first use).

    Failed attempts count towards the login lockout shared with /login/ (django-axes, per username and per client
    address as resolved with NUM_PROXIES); a locked-out caller gets 429 with the reason."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenObtainThrottle]

    @extend_schema(
        request=TokenObtainInputSerializer,
        responses={
            200: TokenOutputSerializer,
            400: OpenApiResponse(description="Wrong username or password."),
            429: OpenApiResponse(description="Too many failed attempts for this username or client: locked out."),
        },
        auth=[],
        tags=["auth"],
    )
    def post(self, request):
        data = TokenObtainInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, username=data.validated_data["username"], password=data.validated_data["password"])
        if getattr(request, "axes_locked_out", False):  # django-axes flags the DRF request it was handed
            return Response({"detail": login_lockout_message(), "code": LOCKOUT_CODE},
                            status=status.HTTP_429_TOO_MANY_REQUESTS)
        if user is None or not user.is_active:
            raise ValidationError({"non_field_errors": ["Unable to log in with the provided credentials."]})
        token, _ = Token.objects.get_or_create(user=user)
        return Response(TokenOutputSerializer({"token": token.key}).data)


@extend_schema(tags=["stores"])
class StoreListApi(generics.ListAPIView):
    """The stores you are a member of, with your role in each."""

    serializer_class = StoreSerializer
    filter_backends: list = []

    def get_queryset(self):
        return Membership.objects.filter(user=self.request.user).select_related("store").order_by("store__name", "pk")


@extend_schema(tags=["stores"])
class StoreDetailApi(StoreScopedAPIView):
    """One store you are a member of, with your role in it."""

    queryset_model = Store
    serializer_class = StoreSerializer

    def scoped_queryset(self):
        return Store.objects.filter(pk=self.store.pk)

    def get(self, request, store_slug: str):
        return Response(StoreSerializer(self.access.membership).data)


# --- products --------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List products (search: sku, title, brand)"),
    create=extend_schema(summary="Create a product"),
    retrieve=extend_schema(summary="Get a product by SKU"),
    update=extend_schema(summary="Replace a product's fields"),
    partial_update=extend_schema(summary="Change some of a product's fields"),
    destroy=extend_schema(summary="Delete a product that was never ordered"),
)
@extend_schema(tags=["products"])
class ProductViewSet(StoreScopedModelViewSet):
    queryset_model = Product
    serializer_class = ProductSerializer
    lookup_field = "sku"
    lookup_value_regex = NATURAL_KEY_REGEX
    filterset_class = ProductFilter
    search_fields = ["sku", "title", "brand"]
    ordering_fields = ["title", "sku", "price", "stock", "created_at", "updated_at"]
    ordering = ["title", "sku"]

    def list(self, request, *args, **kwargs):
        # The hot read of integrations: the page is kept in this process under the store's catalog stamp, which
        # every product write bumps (ecomops.hotcache), so a write shows on the next request. Store and membership
        # were resolved in initial(); the key holds the store, the host (the page links are absolute) and the query.
        if not hotcache.enabled():
            return super().list(request, *args, **kwargs)
        (catalog,) = hotcache.store_stamps(self.store.pk, hotcache.CATALOG)
        key = ("products", self.store.pk, request.get_host(), request.is_secure(), request.get_full_path(), catalog)
        data = hotcache.cached(key, PRODUCT_LIST_CACHE_SECONDS, lambda: super(ProductViewSet, self).list(
            request, *args, **kwargs).data)
        # The rendered answer is kept by the ASGI fast path too, under the same stamp (ecomops/fastpath.py).
        fastpath.note(request, store_id=self.store.pk, stamps=(catalog,), ttl=PRODUCT_LIST_CACHE_SECONDS)
        return Response(data)

    def perform_create(self, serializer):
        serializer.instance = product_create(store=self.store, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = product_update(product=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        product_delete(product=instance)


def batch_error_response(errors: list[RowError]) -> Response:
    exc = BatchValidationError(errors)
    return Response(
        {"detail": str(exc), "errors": [e.as_dict() for e in exc.errors[:1000]]}, status=status.HTTP_400_BAD_REQUEST
    )


def row_errors_from(serializer_errors: dict) -> list[RowError]:
    """Flatten DRF's per-row errors into row/field/message.

    DRF reports the rows of a `many=True` field either as a list aligned with the input
    ({"products": [{}, {"price": [...]}]}) or, in recent versions, sparsely ({"products": {1: {"price": [...]}}}).
    """
    errors: list[RowError] = []
    for envelope_field, detail in serializer_errors.items():
        if isinstance(detail, list) and detail and all(isinstance(d, dict) for d in detail):
            detail = dict(enumerate(detail))
        if not isinstance(detail, dict):  # the envelope itself: missing, not a list, empty
            detail = {"non_field_errors": detail}
        for key, row_errors in detail.items():
            if isinstance(key, int) or str(key).isdigit():
                for field, messages in (
                    row_errors if isinstance(row_errors, dict) else {"non_field_errors": row_errors}
                ).items():
                    for message in messages if isinstance(messages, list) else [messages]:
                        errors.append(RowError(row=int(key), field=field, message=str(message)))
            else:  # e.g. too many rows
                for message in row_errors if isinstance(row_errors, list) else [row_errors]:
                    errors.append(RowError(row=None, field=envelope_field, message=str(message)))
    return sorted(errors, key=lambda e: -1 if e.row is None else e.row)


@extend_schema(tags=["products"])
class ProductBulkUpsertApi(StoreScopedAPIView):
    """Create or update up to 5,000 products by SKU in one all-or-nothing batch.

    Rows for existing SKUs change only the fields they give; new SKUs need a title. One bad row (a field error,
    a repeated SKU, a new SKU without a title) answers 400 naming the row index and field, and nothing is written.
    """

    queryset_model = Product
    serializer_class = ProductBulkUpsertInputSerializer
    parser_classes = [CappedJSONParser]  # at most UPLOAD_MAX_BYTES read; more is a 413

    @extend_schema(
        summary="Bulk upsert products by SKU",
        request=ProductBulkUpsertInputSerializer,
        responses={200: ProductBulkUpsertOutputSerializer, 400: BatchErrorSerializer},
    )
    def post(self, request, store_slug: str):
        data = ProductBulkUpsertInputSerializer(data=request.data, context=self.get_serializer_context())
        if not data.is_valid():
            return batch_error_response(row_errors_from(data.errors))
        try:
            result = products_bulk_upsert(store=self.store, rows=data.validated_data["products"])
        except BatchValidationError as exc:
            return batch_error_response(exc.errors)
        return Response(
            ProductBulkUpsertOutputSerializer(
                {"created": result.created, "updated": result.updated, "count": result.count}
            ).data
        )


# --- customers -------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List customers (search: external_id, email, name)"),
    retrieve=extend_schema(summary="Get a customer by external id"),
    destroy=extend_schema(summary="Delete a customer without orders"),
)
@extend_schema(tags=["customers"])
class CustomerViewSet(StoreScopedModelViewSet):
    queryset_model = Customer
    serializer_class = CustomerSerializer
    lookup_field = "external_id"
    lookup_value_regex = NATURAL_KEY_REGEX
    filterset_class = CustomerFilter
    search_fields = ["external_id", "email", "name"]
    ordering_fields = ["external_id", "created_at", "name"]
    ordering = ["external_id"]

    def perform_create(self, serializer):
        serializer.instance = customer_create(store=self.store, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = customer_update(customer=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        customer_delete(customer=instance)


# --- orders ----------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List orders with their lines"),
    retrieve=extend_schema(summary="Get an order by number"),
)
@extend_schema(tags=["orders"])
class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StoreScopedViewSet):
    queryset_model = Order
    serializer_class = OrderSerializer
    lookup_field = "number"
    lookup_value_regex = NATURAL_KEY_REGEX
    filterset_class = OrderFilter
    search_fields = ["number", "customer__external_id", "customer__email"]
    ordering_fields = ["placed_at", "total", "number"]
    ordering = ["-placed_at", "-pk"]

    def scoped_queryset(self):
        lines = OrderLine.objects.for_store(self.store).select_related("product").order_by("pk")
        return (
            Order.objects.for_store(self.store)
            .select_related("customer")
            .prefetch_related(Prefetch("lines", queryset=lines))
        )

    @extend_schema(
        summary="Create an order with its lines",
        request=OrderCreateInputSerializer,
        responses={201: OrderSerializer},
        description=(
            "Products and the customer are named by SKU and external id. line_total defaults to "
            "quantity x unit_price, subtotal to the sum of the lines, total to subtotal + shipping + tax; "
            "amounts that are given must add up to the cent, or the answer is 400."
        ),
    )
    def create(self, request, store_slug: str):
        data = OrderCreateInputSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        lines = [OrderLineInput(**line) for line in fields.pop("lines")]
        order = order_create(store=self.store, lines=lines, **fields)
        return Response(OrderSerializer(self.get_queryset().get(pk=order.pk)).data, status=status.HTTP_201_CREATED)


# --- events ----------------------------------------------------------------------------------------------


class EventPagination(CursorPagination):
    """Cursor pagination: constant time per page on millions of events (no COUNT, no OFFSET)."""

    ordering = ("-occurred_at", "-id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


@extend_schema_view(list=extend_schema(summary="List events, newest first (cursor pagination)"))
@extend_schema(tags=["events"])
class EventViewSet(mixins.ListModelMixin, StoreScopedViewSet):
    queryset_model = Event
    serializer_class = EventSerializer
    filterset_class = EventFilter
    pagination_class = EventPagination
    search_fields: list[str] = []
    ordering_fields: list[str] = []  # the cursor fixes the order

    def scoped_queryset(self):
        return Event.objects.for_store(self.store).select_related("customer", "product")

    @extend_schema(summary="Record one event", request=EventCreateInputSerializer, responses={201: EventSerializer})
    def create(self, request, store_slug: str):
        data = EventCreateInputSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        event = event_create(store=self.store, **data.validated_data)
        return Response(EventSerializer(event).data, status=status.HTTP_201_CREATED)


# --- jobs ------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List jobs, newest first"),
    retrieve=extend_schema(summary="Get a job's status, progress, result or error"),
)
@extend_schema(tags=["jobs"])
class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StoreScopedViewSet):
    queryset_model = Job
    serializer_class = JobSerializer
    lookup_url_kwarg = "job_id"
    lookup_value_regex = r"[0-9a-fA-F-]{36}"
    filterset_class = JobFilter
    search_fields: list[str] = []
    ordering_fields = ["created_at"]
    ordering = ["-created_at"]

    def scoped_queryset(self):
        return Job.objects.for_store(self.store).select_related("created_by")

    @extend_schema(
        summary="Start a job of a registered kind",
        request=JobCreateInputSerializer,
        responses={
            201: JobSerializer,
            400: OpenApiResponse(description="Unknown kind, or `params` outside the kind's declaration."),
            429: OpenApiResponse(description="The store already runs as many jobs of this kind as it may."),
        },
        description=(
            "The job is queued and runs on a Celery worker; follow it here or on the store's websocket. "
            "`params` must match the kind's declared parameters (GET jobs/kinds/)."
        ),
    )
    def create(self, request, store_slug: str):
        data = JobCreateInputSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        job = job_create(store=self.store, created_by=request.user, **data.validated_data)
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["jobs"])
class JobKindListApi(StoreScopedAPIView):
    """The job kinds this deployment can run (what `POST jobs/` accepts as `kind`)."""

    queryset_model = Job
    serializer_class = JobKindSerializer
    pagination_class = None

    @extend_schema(summary="List the job kinds that can be started", responses={200: JobKindSerializer(many=True)})
    def get(self, request, store_slug: str):
        kinds = sorted(job_kinds().values(), key=lambda kind: kind.name)
        return Response(JobKindSerializer(kinds, many=True).data)


@extend_schema(tags=["jobs"])
class JobCancelApi(StoreScopedAPIView):
    """Cancel a job: a queued one at once, a running one at its next progress report."""

    queryset_model = Job
    serializer_class = JobSerializer
    lookup_url_kwarg = "job_id"

    @extend_schema(summary="Cancel a job", request=None, responses={200: JobSerializer})
    def post(self, request, store_slug: str, job_id):
        job = job_cancel(job=self.get_object())
        return Response(JobSerializer(job).data)


@extend_schema(tags=["jobs"])
class JobRetryApi(StoreScopedAPIView):
    """Start a failed or cancelled job again: a new job with the same kind and parameters."""

    queryset_model = Job
    serializer_class = JobSerializer
    lookup_url_kwarg = "job_id"

    @extend_schema(
        summary="Retry a failed or cancelled job",
        request=None,
        responses={
            201: JobSerializer,
            400: OpenApiResponse(description="The job is not failed or cancelled."),
            429: OpenApiResponse(description="The store already runs as many jobs of this kind as it may."),
        },
    )
    def post(self, request, store_slug: str, job_id):
        try:
            job = job_retry(job=self.get_object(), created_by=request.user)
        except JobNotRetryable as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from None
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)
