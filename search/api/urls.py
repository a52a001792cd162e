"""The storefront search, mounted at /api/v1/stores/<store_slug>/search (with or without a trailing slash)."""

from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_view

from search.api import views

# The slash variant is the same operation: documented once (the schema would otherwise list it twice).
_SlashView = extend_schema_view(get=extend_schema(exclude=True))(
    type("StorefrontSearchSlashView", (views.StorefrontSearchView,), {}))

urlpatterns = [
    path("search", views.StorefrontSearchView.as_view(), name="storefront-search"),
    path("search/", _SlashView.as_view(), name="storefront-search-slash"),
]
