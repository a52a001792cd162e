"""Dashboard pages of inventory, mounted under /stores/<store_slug>/inventory/."""

from django.urls import path

from inventory import views

app_name = "inventory"

urlpatterns = [
    path("", views.IndexView.as_view(), name="index"),
    path("actions/", views.ActionView.as_view(), name="actions"),
    path("purchase-orders/<int:pk>/", views.PurchaseOrderView.as_view(), name="purchase-order"),
    path("purchase-orders/<int:pk>/actions/", views.PurchaseOrderActionView.as_view(), name="purchase-order-action"),
    path("purchase-orders/<int:pk>/csv/", views.PurchaseOrderCsvView.as_view(), name="purchase-order-csv"),
]
