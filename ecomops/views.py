"""Dashboard pages of the shared domain: Overview, Catalog, Jobs. Thin doors into selectors and services."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View
from django.views.generic import DetailView, ListView, TemplateView
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ecomops.models import Event, Job, Order, Product, ProductStatus
from ecomops.scoping import StoreViewMixin, stores_for_user
from ecomops.selectors.overview import change_ratio, overview
from ecomops.services.jobs import JobLimitReached, job_cancel, job_create, job_kinds

PERIOD_CHOICES = (7, 30, 90, 365)


class HomeView(LoginRequiredMixin, View):
    """Sends the user to their first store's Overview."""

    def get(self, request):
        store = stores_for_user(request.user).first()
        if store is None:
            return TemplateView.as_view(template_name="ecomops/no_store.html")(request)
        return redirect("overview", store_slug=store.slug)


class OverviewView(StoreViewMixin, TemplateView):
    template_name = "ecomops/overview.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            days = int(self.request.GET.get("days", 30))
        except ValueError:
            days = 30
        days = days if days in PERIOD_CHOICES else 30
        data = overview(self.store, days=days)
        current, previous = data["current"], data["previous"]
        context.update(
            days=days,
            period_choices=PERIOD_CHOICES,
            current=current,
            previous=previous,
            cards=[
                ("Revenue", f"{current.revenue:,.2f} {self.store.currency}", change_ratio(current.revenue, previous.revenue)),
                ("Orders", f"{current.orders:,}", change_ratio(current.orders, previous.orders)),
                (
                    "Average order value",
                    f"{current.average_order_value:,.2f} {self.store.currency}",
                    change_ratio(current.average_order_value, previous.average_order_value),
                ),
                (
                    "Conversion rate",
                    f"{current.conversion_rate:.2%}",
                    change_ratio(current.conversion_rate, previous.conversion_rate),
                ),
                ("Active customers", f"{current.active_customers:,}", change_ratio(current.active_customers, previous.active_customers)),
            ],
            series_json=json.dumps(data["series"]),
        )
        return context


class CatalogListView(StoreViewMixin, ListView):
    """The catalogue; a search goes through the search app's hybrid ranking (full text, typos, meaning) with the
    status and category filters inside it, best match first. Before the store's first index is built, the plain
    substring match answers and the page offers to build the index."""

    template_name = "ecomops/catalog_list.html"
    paginate_by = 50
    context_object_name = "products"
    search_limit = 500

    def get_queryset(self):
        from search.models import SearchSource
        from search.selectors import SearchFilters, index_version, products_in_order, search_products
        from search.services import search_event_record

        qs = Product.objects.for_store(self.store)
        q = self.request.GET.get("q", "").strip()[:200]
        status = self.request.GET.get("status", "")
        category = self.request.GET.get("category", "").strip()
        self.search_result = None
        self.search_index_built = True
        if q:
            self.search_index_built = index_version(self.store) > 0
            if self.search_index_built:
                filters = SearchFilters(category=category,
                                        statuses=(status,) if status in ProductStatus.values else ())
                self.search_result = search_products(self.store, q, filters=filters, limit=self.search_limit)
                if self.request.GET.get("page", "1") == "1":  # a search, not a click to its next page
                    search_event_record(store=self.store, query=q, results=self.search_result.count,
                                        source=SearchSource.DASHBOARD)
                return products_in_order(self.store, self.search_result.product_ids)
            qs = qs.filter(Q(title__icontains=q) | Q(sku__icontains=q) | Q(brand__icontains=q))
        if status in ProductStatus.values:
            qs = qs.filter(status=status)
        if category:
            qs = qs.filter(category__startswith=category)
        return qs.order_by("title", "sku")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET.copy()
        params.pop("page", None)
        result = self.search_result
        suggestion = params.copy()
        if result is not None and result.did_you_mean:
            suggestion["q"] = result.did_you_mean
        context.update(
            q=self.request.GET.get("q", ""),
            status=self.request.GET.get("status", ""),
            category=self.request.GET.get("category", ""),
            statuses=ProductStatus.choices,
            categories=list(
                Product.objects.for_store(self.store).order_by("category").values_list("category", flat=True).distinct()[:200]
            ),
            querystring=params.urlencode(),
            search_terms=result.terms if result is not None else [],
            did_you_mean=result.did_you_mean if result is not None else "",
            did_you_mean_querystring=suggestion.urlencode(),
            search_index_built=self.search_index_built,
        )
        return context


class ProductDetailView(StoreViewMixin, DetailView):
    template_name = "ecomops/product_detail.html"
    context_object_name = "product"

    def get_object(self, queryset=None):
        return get_object_or_404(Product.objects.for_store(self.store), sku=self.kwargs["sku"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        product = self.object
        context["order_lines"] = (
            product.order_lines.filter(store=self.store).select_related("order", "order__customer").order_by("-order__placed_at")[:20]
        )
        context["events"] = Event.objects.for_store(self.store).filter(product=product).select_related("customer").order_by("-occurred_at")[:20]
        context["orders_count"] = Order.objects.for_store(self.store).filter(lines__product=product).distinct().count()
        return context


class JobListView(StoreViewMixin, ListView):
    template_name = "ecomops/job_list.html"
    paginate_by = 30
    context_object_name = "jobs"

    def get_queryset(self):
        return Job.objects.for_store(self.store).select_related("created_by")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["job_labels"] = {name: kind.label for name, kind in job_kinds().items()}
        return context


class JobDetailView(StoreViewMixin, DetailView):
    template_name = "ecomops/job_detail.html"
    context_object_name = "job"

    def get_object(self, queryset=None):
        return get_object_or_404(Job.objects.for_store(self.store), pk=self.kwargs["job_id"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["result_json"] = json.dumps(self.object.result, indent=2) if self.object.result is not None else ""
        return context


class DemoJobStartView(StoreViewMixin, View):
    """Starts the KPI rollup job: a real multi-step job that makes the pipeline visible end to end."""

    def post(self, request, store_slug):
        try:
            job = job_create(store=self.store, kind="kpi_rollup", created_by=request.user)
        except JobLimitReached as exc:
            messages.error(request, str(exc))
            return redirect("jobs", store_slug=store_slug)
        messages.success(request, "Started recomputing the daily KPI rollups.")
        return HttpResponseRedirect(reverse("jobs", kwargs={"store_slug": store_slug}) + f"#job-{job.pk}")


class JobCancelView(StoreViewMixin, View):
    def post(self, request, store_slug, job_id):
        job = get_object_or_404(Job.objects.for_store(self.store), pk=job_id)
        job_cancel(job=job)
        messages.info(request, "Cancellation requested.")
        return redirect("jobs", store_slug=store_slug)


class ApiRootView(APIView):
    """GET /api/v1/: where to start (docs, schema, token, stores) instead of a 404. Public: it holds only links."""

    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request):
        def url(name: str) -> str:
            return request.build_absolute_uri(reverse(name))

        return Response({
            "docs": url("api-docs"),
            "schema": url("schema"),
            "token": url("api:token-obtain"),
            "stores": url("api:store-list"),
            "store": url("api:store-list") + "<store_slug>/",
            "authentication": "session, or 'Authorization: Token <key>' from POST token with username and password",
        })


class AppNotBuiltView(StoreViewMixin, TemplateView):
    """A plain notice for an app whose pages are not built yet."""

    template_name = "ecomops/app_not_built.html"
    app_label = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["app_label"] = self.app_label
        return context


