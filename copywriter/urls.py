"""Dashboard pages of the copywriter app, mounted under /stores/<store_slug>/copywriter/."""

from django.urls import path

from copywriter import views

app_name = "copywriter"

urlpatterns = [
    path("", views.CopywriterIndexView.as_view(), name="index"),
    path("generate/", views.GenerateView.as_view(), name="generate"),
    path("drafts/<int:pk>/", views.DraftDetailView.as_view(), name="draft"),
    path("drafts/bulk-approve/", views.BulkApproveView.as_view(), name="bulk-approve"),
    path("models/", views.ModelActionView.as_view(), name="models"),
    path("history/<str:sku>/", views.HistoryView.as_view(), name="history"),
]
