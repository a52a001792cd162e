"""REST API of categories, mounted under /api/v1/stores/<store_slug>/categories/."""

from django.urls import path

from categories.api import views

urlpatterns = [
    path("suggestions/", views.CategorySuggestionsAPIView.as_view(), name="categories-suggestions"),
    path("attribute-suggestions/", views.AttributeSuggestionsAPIView.as_view(), name="categories-attribute-suggestions"),
    path("suggestions/decide/", views.DecideAPIView.as_view(), name="categories-decide"),
    path("rescore/", views.RescoreAPIView.as_view(), name="categories-rescore"),
]
