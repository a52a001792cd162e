"""The storefront search, mounted at /api/v1/stores/<store_slug>/search (with or without a trailing slash)."""

from django.urls import path

from search.api import views

urlpatterns = [
    path("search", views.StorefrontSearchView.as_view(), name="storefront-search"),
    path("search/", views.StorefrontSearchView.as_view(), name="storefront-search-slash"),
]
