"""Admin for ops staff: every shared-domain model, with search, filters, computed columns and job actions.

The admin is the one place that reads across stores (staff only); the job actions go through the same services
as the dashboard (job_retry / job_cancel), so the live socket and the Job rows stay the source of truth.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Count, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.functional import cached_property
from django.utils.html import format_html

from ecomops.models import (
    Customer,
    DailyStoreStats,
    Event,
    Job,
    JobStatus,
    Membership,
    Order,
    OrderLine,
    Product,
    Store,
)
from ecomops.services.jobs import job_cancel, job_retry
from ecomops.services.members import membership_remove, membership_role_change


class EstimatedCountPaginator(Paginator):
    """For tables with millions of rows: an unfiltered changelist shows PostgreSQL's row estimate instead of
    running COUNT(*) over the whole table; filtered lists (a store, a type) still count exactly."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        connection = connections[queryset.db]
        if connection.vendor == "postgresql" and not queryset.query.where:
            with connection.cursor() as cursor:
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [queryset.model._meta.db_table])
                row = cursor.fetchone()
            if row and row[0] > 100_000:
                return int(row[0])
        return super().count


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "currency", "timezone", "is_demo", "member_count", "product_count", "created_at"]
    list_filter = ["is_demo", "currency", "timezone"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at", "member_count", "product_count"]
    inlines = [MembershipInline]

    def get_queryset(self, request):
        # Subqueries, not joins: two Counts over joined tables would multiply each other.
        def counted(model):
            return Coalesce(
                Subquery(
                    model.objects.filter(store=OuterRef("pk")).order_by().values("store")
                    .annotate(n=Count("pk")).values("n")[:1],
                    output_field=IntegerField(),
                ),
                0,
            )

        return super().get_queryset(request).annotate(_members=counted(Membership), _products=counted(Product))

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        # Role changes go through the service, which closes the member's open sockets (deletes: post_delete).
        for inline_form in formset.forms:
            instance = inline_form.instance
            if instance.pk and "role" in inline_form.changed_data and inline_form not in formset.deleted_forms:
                membership_role_change(membership=Membership.objects.get(pk=instance.pk), role=instance.role)
        return super().save_formset(request, form, formset, change)

    @admin.display(description="Members", ordering="_members")
    def member_count(self, obj) -> int:
        return obj._members if hasattr(obj, "_members") else obj.memberships.count()

    @admin.display(description="Products", ordering="_products")
    def product_count(self, obj) -> int:
        return obj._products if hasattr(obj, "_products") else Product.objects.for_store(obj).count()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "store", "role", "created_at"]
    list_filter = ["role", "store"]
    search_fields = ["user__username", "user__email", "store__name", "store__slug"]
    autocomplete_fields = ["user", "store"]
    list_select_related = ["user", "store"]
    readonly_fields = ["created_at"]

    def save_model(self, request, obj, form, change):
        if change and "role" in form.changed_data:
            membership_role_change(membership=obj, role=obj.role)  # closes the member's open sockets
            if set(form.changed_data) == {"role"}:
                return
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        membership_remove(membership=obj)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "title", "store", "brand", "category", "price", "currency", "status", "stock", "updated_at"]
    list_filter = ["status", "store", "category"]
    search_fields = ["sku", "title", "brand", "category"]
    autocomplete_fields = ["store"]
    list_select_related = ["store"]
    readonly_fields = ["created_at", "updated_at", "ordered_units", "has_description"]
    list_per_page = 50

    @admin.display(description="Units ordered")
    def ordered_units(self, obj) -> int:
        return OrderLine.objects.for_store(obj.store_id).filter(product=obj).aggregate(n=Sum("quantity"))["n"] or 0

    @admin.display(description="Has description", boolean=True)
    def has_description(self, obj) -> bool:
        return bool(obj.description.strip())


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["external_id", "name", "email", "country", "store", "order_count", "created_at"]
    list_filter = ["country", "store"]
    search_fields = ["external_id", "email", "name"]
    autocomplete_fields = ["store"]
    list_select_related = ["store"]
    readonly_fields = ["order_count"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_orders=Count("orders"))

    @admin.display(description="Orders", ordering="_orders")
    def order_count(self, obj) -> int:
        return obj._orders if hasattr(obj, "_orders") else obj.orders.count()


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ["product", "quantity", "unit_price", "line_total"]
    autocomplete_fields = ["product"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "store", "customer", "status", "placed_at", "total", "currency", "line_count"]
    list_filter = ["status", "store", "currency"]
    search_fields = ["number", "customer__external_id", "customer__email", "customer__name"]
    autocomplete_fields = ["store", "customer"]
    list_select_related = ["store", "customer"]
    readonly_fields = ["created_at", "line_count"]
    date_hierarchy = "placed_at"
    inlines = [OrderLineInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_lines=Count("lines"))

    @admin.display(description="Lines", ordering="_lines")
    def line_count(self, obj) -> int:
        return obj._lines if hasattr(obj, "_lines") else obj.lines.count()

    def save_formset(self, request, form, formset, change):
        # Inline lines belong to the order's store (the form has no store field).
        for line in formset.save(commit=False):
            line.store_id = form.instance.store_id
            line.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    list_display = ["order", "product", "quantity", "unit_price", "line_total", "store"]
    list_filter = ["store"]
    search_fields = ["order__number", "product__sku", "product__title"]
    autocomplete_fields = ["store", "order", "product"]
    list_select_related = ["order", "product", "store"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "type", "store", "customer", "session_id", "product", "device"]
    list_filter = ["type", "store"]
    search_fields = ["session_id", "customer__external_id", "product__sku"]
    autocomplete_fields = ["store", "customer", "product"]
    list_select_related = ["store", "customer", "product"]
    # Millions of rows: no full COUNT(*) for the "x total" link, an estimate when unfiltered.
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50

    @admin.display(description="Device")
    def device(self, obj) -> str:
        return (obj.properties or {}).get("device", "")


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["kind", "store", "status_badge", "progress", "attempts", "created_by", "created_at", "finished_at"]
    list_filter = ["status", "kind", "store"]
    search_fields = ["kind", "id", "message", "error"]
    autocomplete_fields = ["store"]
    list_select_related = ["store", "created_by"]
    readonly_fields = [
        "id", "status", "progress", "message", "result", "error", "cancel_requested", "attempts",
        "created_by", "created_at", "started_at", "finished_at", "heartbeat_at", "duration",
    ]
    actions = ["retry_jobs", "cancel_jobs"]

    def has_add_permission(self, request) -> bool:
        return False  # jobs are started from the dashboard, the API or demo_job, never hand-made

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj) -> str:
        colours = {JobStatus.SUCCEEDED: "#065f46", JobStatus.FAILED: "#991b1b", JobStatus.CANCELLED: "#374151"}
        return format_html('<strong style="color:{}">{}</strong>', colours.get(obj.status, "#1e3a8a"),
                           obj.get_status_display())

    @admin.display(description="Duration")
    def duration(self, obj) -> str:
        if not obj.started_at:
            return "—"
        end = obj.finished_at or obj.heartbeat_at or obj.started_at
        return f"{(end - obj.started_at).total_seconds():.1f} s"

    @admin.action(description="Retry selected jobs (start a new job with the same parameters)")
    def retry_jobs(self, request, queryset):
        retried = 0
        for job in queryset.select_related("store"):
            if not job.is_finished:
                continue
            job_retry(job=job, created_by=request.user)
            retried += 1
        skipped = queryset.count() - retried
        self.message_user(request, f"Started {retried} new job(s).", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"Skipped {skipped} job(s) that have not finished yet.", messages.WARNING)

    @admin.action(description="Cancel selected jobs")
    def cancel_jobs(self, request, queryset):
        cancelled = 0
        for job in queryset:
            if job.is_finished:
                continue
            job_cancel(job=job)
            cancelled += 1
        self.message_user(request, f"Cancellation requested for {cancelled} job(s).", messages.SUCCESS)


@admin.register(DailyStoreStats)
class DailyStoreStatsAdmin(admin.ModelAdmin):
    list_display = ["date", "store", "revenue", "orders", "sessions", "converted_sessions", "conversion", "events",
                    "computed_at"]
    list_filter = ["store"]
    search_fields = ["store__name", "store__slug"]
    date_hierarchy = "date"
    list_select_related = ["store"]
    readonly_fields = ["computed_at", "conversion"]

    @admin.display(description="Conversion")
    def conversion(self, obj) -> str:
        return f"{obj.converted_sessions / obj.sessions:.2%}" if obj.sessions else "—"
