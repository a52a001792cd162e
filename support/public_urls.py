"""Public (no login) routes of the support app, mounted at /support/widget/: the embeddable widget script and a
standalone page for trying it."""

from django.urls import path

from . import views

app_name = "support-public"

urlpatterns = [
    path("<slug:store_slug>.js", views.WidgetScriptView.as_view(), name="widget-js"),
    path("<slug:store_slug>/try/", views.WidgetTryView.as_view(), name="widget-try"),
]
