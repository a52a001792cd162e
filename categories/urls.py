"""Dashboard pages of categories, mounted under /stores/<store_slug>/categories/."""

from django.urls import path

from categories import views

app_name = "categories"

urlpatterns = [
    path("", views.ReviewQueueView.as_view(), name="queue"),
    path("decide/", views.DecideView.as_view(), name="decide"),
    path("rescore/", views.RescoreView.as_view(), name="rescore"),
]
