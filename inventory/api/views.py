"""Inventory REST API: one view per operation, resolved through StoreScopedAPIView (another store's object is a
404 exactly like a missing one)."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from ecomops.api.base import StoreScopedAPIView, validated_data
from ecomops.api.serializers import JobSerializer
from ecomops.job_params import params_to_json, params_validate
from ecomops.models import Product
from inventory import selectors
from inventory.api import serializers as s
from inventory.models import DemandForecast, ForecastVersion, KpiAnomaly, PurchaseOrder, StockLevel, Supplier
from inventory.services import purchasing, stock
from inventory.services.forecasting import forecast_start
from inventory.tasks import ForecastParams


class StockLevelsAPIView(StoreScopedAPIView):
    queryset_model = StockLevel
    serializer_class = s.StockLevelOut

    @extend_schema(parameters=[s.StockLevelQuery], responses=s.StockLevelOut(many=True),
                   summary="Stock snapshots (newest first), optionally of one sku")
    def get(self, request, store_slug):
        query = validated_data(s.StockLevelQuery, request.query_params)
        qs = StockLevel.objects.for_store(self.store).select_related("product").order_by("-date", "product_id")
        if query.get("sku"):
            qs = qs.filter(product__sku=query["sku"])
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(s.StockLevelOut(page, many=True).data)

    @extend_schema(request=s.StockLevelBatchIn, responses={201: OpenApiResponse(description="{written: n}")},
                   summary="Record stock snapshots (all or nothing; unknown sku / negative stock are field errors)")
    def post(self, request, store_slug):
        data = validated_data(s.StockLevelBatchIn, request.data)
        rows = [(n, dict(level)) for n, level in enumerate(data["levels"])]
        try:
            written = stock.stock_levels_record(store=self.store, rows=rows, source="api")
        except stock.StockImportRejected as exc:
            errors: dict = {}
            for e in exc.errors:
                errors.setdefault(str(e.line), {})[e.field] = [e.message]
            raise ValidationError({"levels": errors}) from None
        return Response({"written": written}, status=status.HTTP_201_CREATED)


class ForecastListAPIView(StoreScopedAPIView):
    queryset_model = DemandForecast
    serializer_class = s.ForecastOut

    @extend_schema(parameters=[s.ForecastQuery], responses=s.ForecastOut(many=True),
                   summary="Forecasts of the latest ready version (products, bottom-up categories/store, KPIs)")
    def get(self, request, store_slug):
        query = validated_data(s.ForecastQuery, request.query_params)
        version = selectors.latest_version(self.store)
        qs = selectors.forecasts_of(self.store, version, query["scope"]).select_related("version").order_by("key") \
            if version else DemandForecast.objects.none()
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(s.ForecastOut(page, many=True).data)


class ProductForecastAPIView(StoreScopedAPIView):
    queryset_model = Product
    serializer_class = s.ProductForecastOut
    pagination_class = None

    @extend_schema(responses=s.ProductForecastOut, summary="The latest forecast of one product (null before any)")
    def get(self, request, store_slug, sku):
        product = Product.objects.for_store(self.store).filter(sku=sku).first()
        if product is None:
            raise NotFound("No such product.")
        fc = selectors.product_forecast(self.store, product)
        return Response(s.ProductForecastOut({"sku": product.sku, "on_hand": product.stock, "forecast": fc}).data)


class ForecastVersionsAPIView(StoreScopedAPIView):
    queryset_model = ForecastVersion
    serializer_class = s.ForecastVersionOut

    @extend_schema(responses=s.ForecastVersionOut(many=True), summary="Forecast versions, newest first")
    def get(self, request, store_slug):
        page = self.paginate_queryset(selectors.forecast_versions(self.store))
        return self.get_paginated_response(s.ForecastVersionOut(page, many=True).data)

    @extend_schema(request=ForecastParams, responses={202: JobSerializer},
                   summary="Train a new forecast version (a job on the training queue)")
    def post(self, request, store_slug):
        serializer, params = params_validate(ForecastParams, request.data if request.data else {}, store=self.store)
        job = forecast_start(store=self.store, created_by=request.user, params=params_to_json(serializer, params))
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ReorderAPIView(StoreScopedAPIView):
    queryset_model = DemandForecast
    serializer_class = s.ReorderListsOut
    pagination_class = None

    @extend_schema(responses=s.ReorderListsOut, summary="Order now / stock-out soon / overstocked")
    def get(self, request, store_slug):
        lists = selectors.reorder_lists(self.store)
        return Response(s.ReorderListsOut({k: lists[k] for k in ("order_now", "stockout_soon", "overstocked")}).data)


class SettingsAPIView(StoreScopedAPIView):
    queryset_model = DemandForecast
    serializer_class = s.SettingsIO
    pagination_class = None

    @extend_schema(responses=s.SettingsIO, summary="Planning settings (service level, lead time, review period)")
    def get(self, request, store_slug):
        return Response(s.SettingsIO(selectors.settings_for(self.store)).data)

    @extend_schema(request=s.SettingsIO, responses=s.SettingsIO, summary="Change planning settings")
    def patch(self, request, store_slug):
        data = validated_data(s.SettingsIO, request.data)
        config = purchasing.settings_update(store=self.store, **data)
        return Response(s.SettingsIO(config).data)


class SuppliersAPIView(StoreScopedAPIView):
    queryset_model = Supplier
    serializer_class = s.SupplierOut

    @extend_schema(responses=s.SupplierOut(many=True), summary="Suppliers")
    def get(self, request, store_slug):
        page = self.paginate_queryset(selectors.suppliers(self.store))
        return self.get_paginated_response(s.SupplierOut(page, many=True).data)

    @extend_schema(request=s.SupplierIn, responses={201: s.SupplierOut}, summary="Add a supplier (lead time >= 1)")
    def post(self, request, store_slug):
        data = validated_data(s.SupplierIn, request.data)
        supplier = purchasing.supplier_create(store=self.store, **data)
        return Response(s.SupplierOut(supplier).data, status=status.HTTP_201_CREATED)


class SupplyAPIView(StoreScopedAPIView):
    queryset_model = Product
    serializer_class = s.SupplyIn
    pagination_class = None

    @extend_schema(request=s.SupplyIn, responses=s.SupplyIn, summary="Set how a product is bought")
    def put(self, request, store_slug, sku):
        if not Product.objects.for_store(self.store).filter(sku=sku).exists():
            raise NotFound("No such product.")
        data = dict(validated_data(s.SupplyIn, request.data))
        supplier_id = data.pop("supplier_id", None)
        supplier = None
        if supplier_id is not None:
            supplier = selectors.supplier_get(self.store, supplier_id)
            if supplier is None:
                raise ValidationError({"supplier_id": ["No such supplier in this store."]})
        supply = purchasing.supply_set(store=self.store, sku=sku, supplier=supplier, **data)
        return Response({**s.SupplyIn(supply).data, "supplier_id": supply.supplier_id})


class PurchaseOrdersAPIView(StoreScopedAPIView):
    queryset_model = PurchaseOrder
    serializer_class = s.POOut

    @extend_schema(responses=s.POOut(many=True), summary="Purchase orders, newest first")
    def get(self, request, store_slug):
        page = self.paginate_queryset(selectors.purchase_orders(self.store))
        return self.get_paginated_response(s.POOut(page, many=True).data)

    @extend_schema(request=s.POCreateIn, responses={201: s.POOut}, summary="Create a draft purchase order")
    def post(self, request, store_slug):
        data = validated_data(s.POCreateIn, request.data)
        supplier = selectors.supplier_get(self.store, data["supplier_id"])
        if supplier is None:
            raise ValidationError({"supplier_id": ["No such supplier in this store."]})
        po = purchasing.purchase_order_create(store=self.store, supplier=supplier, lines=[dict(x) for x in data["lines"]],
                                              note=data.get("note", ""))
        return Response(s.POOut(selectors.purchase_order_get(self.store, po.pk)).data, status=status.HTTP_201_CREATED)


class SuggestAPIView(StoreScopedAPIView):
    queryset_model = PurchaseOrder
    serializer_class = s.SuggestOut
    pagination_class = None

    @extend_schema(request=None, responses=s.SuggestOut,
                   summary="Draft a purchase order per supplier from the 'order now' list")
    def post(self, request, store_slug):
        result = purchasing.purchase_orders_suggest(store=self.store)
        orders = [selectors.purchase_order_get(self.store, po.pk) for po in result.orders]
        return Response(s.SuggestOut({"orders": orders, "without_supplier": result.without_supplier}).data)


class _OnePO(StoreScopedAPIView):
    queryset_model = PurchaseOrder
    serializer_class = s.POOut
    pagination_class = None

    def po(self, pk) -> PurchaseOrder:
        po = selectors.purchase_order_get(self.store, pk)
        if po is None:
            raise NotFound("No such purchase order.")
        return po

    def out(self, po) -> Response:
        return Response(s.POOut(selectors.purchase_order_get(self.store, po.pk)).data)


class PurchaseOrderAPIView(_OnePO):
    @extend_schema(responses=s.POOut, summary="One purchase order")
    def get(self, request, store_slug, pk):
        return self.out(self.po(pk))

    @extend_schema(request=s.POLinesIn, responses=s.POOut, summary="Replace a draft's lines (quantity 0 drops one)")
    def put(self, request, store_slug, pk):
        po = self.po(pk)
        data = validated_data(s.POLinesIn, request.data)
        purchasing.purchase_order_lines_set(purchase_order=po, lines=[dict(x) for x in data["lines"]])
        return self.out(po)


class PurchaseOrderApproveAPIView(_OnePO):
    @extend_schema(request=None, responses=s.POOut, summary="Approve a draft purchase order")
    def post(self, request, store_slug, pk):
        return self.out(purchasing.purchase_order_approve(purchase_order=self.po(pk), user=request.user))


class PurchaseOrderCancelAPIView(_OnePO):
    @extend_schema(request=None, responses=s.POOut, summary="Cancel a draft or approved purchase order")
    def post(self, request, store_slug, pk):
        return self.out(purchasing.purchase_order_cancel(purchase_order=self.po(pk)))


class PurchaseOrderReceiveAPIView(_OnePO):
    @extend_schema(request=s.POReceiveIn, responses=s.POOut,
                   summary="Receive an approved order into stock (all lines, or the counted quantities)")
    def post(self, request, store_slug, pk):
        po = self.po(pk)
        data = validated_data(s.POReceiveIn, request.data)
        return self.out(purchasing.purchase_order_receive(purchase_order=po, quantities=data.get("quantities")))


class PurchaseOrderCsvAPIView(_OnePO):
    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(description="The order as CSV")},
                   summary="Export a purchase order as CSV")
    def get(self, request, store_slug, pk):
        po = self.po(pk)
        response = HttpResponse(purchasing.purchase_order_csv(purchase_order=po), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{po.number}.csv"'
        return response


class AnomaliesAPIView(StoreScopedAPIView):
    queryset_model = KpiAnomaly
    serializer_class = s.AnomalyOut

    @extend_schema(responses=s.AnomalyOut(many=True), summary="KPI anomalies (revenue, orders, conversion), newest first")
    def get(self, request, store_slug):
        page = self.paginate_queryset(KpiAnomaly.objects.for_store(self.store).order_by("-date", "metric"))
        return self.get_paginated_response(s.AnomalyOut(page, many=True).data)
