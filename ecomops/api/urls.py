"""REST API of the shared domain, under /api/v1/.

Store-scoped routes live in `store_urlpatterns` (mounted at stores/<store_slug>/): a router for the CRUD-style
resources plus a plain list for one-operation views. To add an endpoint, append a `path()` to the list or
register a viewset on the router; the tenancy test (tests/ecomops/test_tenancy.py) finds it automatically.
"""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from ecomops.api import ingest, views

app_name = "api"

router = SimpleRouter()
router.register("products", views.ProductViewSet, basename="product")
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("orders", views.OrderViewSet, basename="order")
router.register("events", views.EventViewSet, basename="event")
router.register("jobs", views.JobViewSet, basename="job")

store_urlpatterns = [
    path("events/bulk", ingest.EventBulkIngestApi.as_view(), name="event-bulk-ingest"),
    path("products/bulk", views.ProductBulkUpsertApi.as_view(), name="product-bulk-upsert"),
    path("jobs/kinds/", views.JobKindListApi.as_view(), name="job-kinds"),
    path("jobs/<uuid:job_id>/cancel/", views.JobCancelApi.as_view(), name="job-cancel"),
    path("jobs/<uuid:job_id>/retry/", views.JobRetryApi.as_view(), name="job-retry"),
    # The same without the trailing slash (as in the issue text); left out of the schema to avoid a duplicate.
    path("jobs/<uuid:job_id>/cancel", views.JobCancelApi.as_view(schema=None), name="job-cancel-noslash"),
    *router.urls,
]

urlpatterns = [
    path("auth/token/", views.TokenObtainApi.as_view(), name="token-obtain"),
    path("stores/", views.StoreListApi.as_view(), name="store-list"),
    path("stores/<slug:store_slug>/", views.StoreDetailApi.as_view(), name="store-detail"),
    path("stores/<slug:store_slug>/", include(store_urlpatterns)),
]
