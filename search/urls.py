"""Dashboard pages of search, mounted under /stores/<store_slug>/search/."""

from django.urls import path

from search import views

app_name = "search"

urlpatterns = [
    path("", views.SearchIndexView.as_view(), name="index"),
    path("actions/", views.SearchActionView.as_view(), name="actions"),
]
