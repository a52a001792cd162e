"""REST API of inventory, mounted under /api/v1/stores/<store_slug>/inventory/."""

from django.urls import path

from inventory.api import views

urlpatterns = [
    path("stock-levels/", views.StockLevelsAPIView.as_view(), name="inventory-stock-levels"),
    path("forecasts/", views.ForecastListAPIView.as_view(), name="inventory-forecasts"),
    path("forecasts/<str:sku>/", views.ProductForecastAPIView.as_view(), name="inventory-product-forecast"),
    path("forecast-versions/", views.ForecastVersionsAPIView.as_view(), name="inventory-forecast-versions"),
    path("reorder/", views.ReorderAPIView.as_view(), name="inventory-reorder"),
    path("settings/", views.SettingsAPIView.as_view(), name="inventory-settings"),
    path("suppliers/", views.SuppliersAPIView.as_view(), name="inventory-suppliers"),
    path("supplies/<str:sku>/", views.SupplyAPIView.as_view(), name="inventory-supply"),
    path("purchase-orders/", views.PurchaseOrdersAPIView.as_view(), name="inventory-purchase-orders"),
    path("purchase-orders/suggest/", views.SuggestAPIView.as_view(), name="inventory-purchase-orders-suggest"),
    path("purchase-orders/<int:pk>/", views.PurchaseOrderAPIView.as_view(), name="inventory-purchase-order"),
    path("purchase-orders/<int:pk>/approve/", views.PurchaseOrderApproveAPIView.as_view(), name="inventory-po-approve"),
    path("purchase-orders/<int:pk>/cancel/", views.PurchaseOrderCancelAPIView.as_view(), name="inventory-po-cancel"),
    path("purchase-orders/<int:pk>/receive/", views.PurchaseOrderReceiveAPIView.as_view(), name="inventory-po-receive"),
    path("purchase-orders/<int:pk>/csv/", views.PurchaseOrderCsvAPIView.as_view(), name="inventory-po-csv"),
    path("anomalies/", views.AnomaliesAPIView.as_view(), name="inventory-anomalies"),
]
