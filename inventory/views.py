"""Inventory dashboard pages: forecasts with intervals, reorder lists, purchase orders (edit, approve, export,
receive), planning settings. Thin doors into the selectors and services."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from ecomops.models import Product
from ecomops.scoping import StoreViewMixin
from ecomops.services.jobs import JobLimitReached
from inventory import selectors
from inventory.models import ForecastScope, PurchaseOrder
from inventory.services import purchasing
from inventory.services.forecasting import FORECAST_KIND, forecast_start


def forecast_chart(fc) -> dict | None:
    """The chart's data: the last days of history and the forecast with its interval, by date."""
    if fc is None:
        return None
    start = fc.start_date
    hist_start = start - timedelta(days=len(fc.history)) if fc.scope != ForecastScope.KPI else start - timedelta(
        days=len(fc.history) - len(fc.mean))
    return {
        "key": fc.key, "model": fc.model_name, "level": fc.version.level if fc.version_id else 80,
        "history_dates": [(hist_start + timedelta(days=i)).isoformat() for i in range(len(fc.history))],
        "history": fc.history,
        "dates": [(start + timedelta(days=i)).isoformat() for i in range(len(fc.mean))],
        "mean": fc.mean, "lo": fc.lo, "hi": fc.hi,
    }


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


LIST_ROWS = 25  # rows per reorder list on the page; the API has them all


class IndexView(StoreViewMixin, TemplateView):
    template_name = "inventory/index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        store = self.store
        version = selectors.latest_version(store)
        lists = selectors.reorder_lists(store)
        # "stock-out soon" is what still has stock and runs out; what has none already is its own list
        lists["out_of_stock"] = [r for r in lists["stockout_soon"] if r.plan.stockout_in_days == 0]
        lists["stockout_soon"] = [r for r in lists["stockout_soon"] if r.plan.stockout_in_days != 0]
        sku = (self.request.GET.get("sku") or "")[:100]
        chart_fc = None
        if version is not None:
            qs = selectors.forecasts_of(store, version, ForecastScope.PRODUCT).select_related("version")
            chart_fc = qs.filter(key=sku).first() if sku else None
            if chart_fc is None:
                chart_fc = selectors.forecasts_of(store, version, ForecastScope.STORE).select_related("version").first()
        from ecomops.models import Job, JobStatus

        chart_product = chart_fc.product if chart_fc is not None and chart_fc.scope == ForecastScope.PRODUCT else None
        context.update(
            version=version, versions=list(selectors.forecast_versions(store)[:10]),
            order_now=lists["order_now"][:LIST_ROWS], stockout_soon=lists["stockout_soon"][:LIST_ROWS],
            out_of_stock=lists["out_of_stock"][:LIST_ROWS], overstocked=lists["overstocked"][:LIST_ROWS],
            settings=selectors.settings_for(store),
            counts={name: len(lists[name]) for name in ("order_now", "stockout_soon", "out_of_stock", "overstocked")},
            sku_not_found=bool(sku) and version is not None and chart_product is None,
            chart_title=f"{chart_product.title} ({chart_product.sku})" if chart_product else "All products (store total)",
            horizon=version.horizon_days if version else 28,
            purchase_orders=list(selectors.purchase_orders(store)[:30]), suppliers=list(selectors.suppliers(store)),
            open_purchase_orders=selectors.purchase_orders(store).filter(status__in=["draft", "approved"]).count(),
            chart_json=forecast_chart(chart_fc), chart_key=chart_fc.key if chart_fc else "",
            products=list(Product.objects.for_store(store).order_by("sku").values_list("sku", "title")[:2000]),
            selected_sku=sku, anomalies=list(selectors.recent_anomalies(store, days=30)[:20]),
            running_job=Job.objects.for_store(store).filter(kind=FORECAST_KIND, status__in=[
                JobStatus.QUEUED, JobStatus.RUNNING]).order_by("-created_at").first(),
        )
        return context


class ActionView(StoreViewMixin, View):
    """POST actions of the page: train a forecast, suggest purchase orders, save settings (writers only)."""

    def post(self, request, store_slug):
        action = request.POST.get("action")
        try:
            if action == "train":
                job = forecast_start(store=self.store, created_by=request.user,
                                     params={"models": request.POST.get("models") if request.POST.get("models") in (
                                         "full", "fast") else "auto"})
                messages.success(request, f"Forecast started (job {job.pk}).")
            elif action == "suggest":
                result = purchasing.purchase_orders_suggest(store=self.store)
                text = f"{len(result.orders)} draft purchase order(s) suggested."
                if result.without_supplier:
                    text += f" {len(result.without_supplier)} product(s) to order have no supplier yet."
                messages.success(request, text)
            elif action == "settings":
                def number(name, cast=int):
                    raw = request.POST.get(name, "").strip()
                    if raw == "":
                        return None
                    try:
                        return cast(raw)
                    except ValueError:
                        raise ValidationError({name: "Not a number."}) from None

                purchasing.settings_update(
                    store=self.store, service_level=number("service_level", float),
                    default_lead_time_days=number("default_lead_time_days"),
                    review_period_days=number("review_period_days"), overstock_days=number("overstock_days"),
                )
                messages.success(request, "Settings saved.")
            else:
                raise ValidationError("Unknown action.")
        except ValidationError as exc:
            messages.error(request, _errors(exc))
        except JobLimitReached as exc:
            messages.error(request, str(exc))
        return redirect("inventory:index", store_slug=store_slug)


class _POMixin(StoreViewMixin):
    model = PurchaseOrder

    def purchase_order(self, pk) -> PurchaseOrder:
        po = selectors.purchase_order_get(self.store, pk)
        if po is None:
            raise Http404("No such purchase order.")
        return po


class PurchaseOrderView(_POMixin, TemplateView):
    template_name = "inventory/purchase_order.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["po"] = self.purchase_order(self.kwargs["pk"])
        return context


class PurchaseOrderActionView(_POMixin, View):
    def post(self, request, store_slug, pk):
        po = self.purchase_order(pk)
        action = request.POST.get("action")
        try:
            if action == "save":
                lines = []
                for sku in request.POST.getlist("sku")[:2000]:
                    raw = request.POST.get(f"qty-{sku}", "").strip()
                    try:
                        qty = int(raw)
                    except ValueError:
                        raise ValidationError({"quantity": f"{sku}: not a whole number."}) from None
                    line = next((x for x in po.lines.all() if x.product.sku == sku), None)
                    lines.append({"sku": sku, "quantity": qty, "unit_cost": line.unit_cost if line else None})
                purchasing.purchase_order_lines_set(purchase_order=po, lines=lines)
                messages.success(request, "Quantities saved.")
            elif action == "approve":
                purchasing.purchase_order_approve(purchase_order=po, user=request.user)
                messages.success(request, f"{po.number} approved.")
            elif action == "receive":
                purchasing.purchase_order_receive(purchase_order=po)
                messages.success(request, f"{po.number} received into stock.")
            elif action == "cancel":
                purchasing.purchase_order_cancel(purchase_order=po)
                messages.success(request, f"{po.number} cancelled.")
            else:
                raise ValidationError("Unknown action.")
        except ValidationError as exc:
            messages.error(request, _errors(exc))
        return redirect("inventory:purchase-order", store_slug=store_slug, pk=pk)


class PurchaseOrderCsvView(_POMixin, View):
    def get(self, request, store_slug, pk):
        po = self.purchase_order(pk)
        response = HttpResponse(purchasing.purchase_order_csv(purchase_order=po), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{po.number}.csv"'
        return response
