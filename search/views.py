"""Dashboard page of search, under /stores/<store_slug>/search/: the index, synonyms, and what shoppers search for."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from ecomops.models import Job
from ecomops.scoping import StoreViewMixin
from ecomops.services.jobs import JobLimitReached
from search import selectors
from search.models import SearchSource, SearchSynonym
from search.services import REINDEX_KIND, search_reindex_start, synonym_create, synonym_delete

PERIODS = (7, 30, 90)


class SearchIndexView(StoreViewMixin, TemplateView):
    template_name = "search/index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            days = int(self.request.GET.get("days", 30))
        except ValueError:
            days = 30
        days = days if days in PERIODS else 30
        source = self.request.GET.get("source", SearchSource.STOREFRONT)
        source = source if source in SearchSource.values else SearchSource.STOREFRONT
        context.update(
            days=days, periods=PERIODS, source=source, sources=SearchSource.choices,
            status=selectors.index_status(self.store),
            synonyms=list(SearchSynonym.objects.for_store(self.store)),
            top_queries=selectors.top_queries(self.store, days=days, source=source),
            zero_result_queries=selectors.zero_result_queries(self.store, days=days, source=source),
            jobs=list(Job.objects.for_store(self.store).filter(kind=REINDEX_KIND).order_by("-created_at")[:5]),
        )
        return context


class SearchActionView(StoreViewMixin, View):
    """POST only (writers): reindex, add a synonym rule, delete one."""

    def post(self, request, store_slug):
        action = request.POST.get("action", "")
        if action == "reindex":
            try:
                search_reindex_start(store=self.store, created_by=request.user, full=request.POST.get("full") == "1")
                messages.success(request, "Updating the search index; progress shows below.")
            except JobLimitReached as exc:
                messages.error(request, str(exc))
        elif action == "synonym-add":
            try:
                rule = synonym_create(store=self.store, terms=request.POST.get("terms", "")[:500])
                messages.success(request, f"Added the synonym rule {rule.terms!r}.")
            except ValidationError as exc:
                messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
        elif action == "synonym-delete":
            try:
                synonym_id = int(request.POST.get("synonym_id", ""))
            except ValueError:
                synonym_id = 0
            if synonym_delete(store=self.store, synonym_id=synonym_id):
                messages.success(request, "Removed the synonym rule.")
            else:
                messages.error(request, "That synonym rule no longer exists.")
        else:
            messages.error(request, "Unknown action.")
        return redirect("search:index", store_slug=store_slug)
