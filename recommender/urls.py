"""Dashboard pages of the recommender app, mounted under /stores/<store_slug>/recommendations/."""

from django.urls import path

from recommender import analytics_views, views

app_name = "recommender"

urlpatterns = [
    path("", views.IndexView.as_view(), name="index"),
    path("actions/", views.ActionView.as_view(), name="actions"),
    path("analytics/", analytics_views.AnalyticsView.as_view(), name="analytics"),
    path("analytics/rfm.csv", analytics_views.RfmCsvView.as_view(), name="analytics-rfm-csv"),
]
