"""Dashboard pages of categories, mounted under /stores/<store_slug>/categories/: the review queue (category and
attribute suggestions, filter, select, accept / reject in bulk) and the re-score button. Thin doors."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from categories import selectors
from categories.ml.attributes import ATTRIBUTE_NAMES
from categories.models import SuggestionReason, SuggestionStatus
from categories.services import RESCORE_KIND, rescore_start, suggestions_decide
from ecomops.models import Job, JobStatus
from ecomops.scoping import StoreViewMixin
from ecomops.services.jobs import JobLimitReached

PAGE_SIZE = 50


def _float(value: str | None) -> float | None:
    try:
        number = float(value) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number is None or 0.0 <= number <= 1.0 else None


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


class ReviewQueueView(StoreViewMixin, TemplateView):
    template_name = "categories/queue.html"

    def get(self, request, *args, **kwargs):
        self.kind = request.GET.get("kind") if request.GET.get("kind") in ("category", "attribute") else "category"
        self.status = request.GET.get("status") if request.GET.get("status") in SuggestionStatus.values else "pending"
        raw_min = request.GET.get("min_confidence")
        self.min_confidence = _float(raw_min)
        self.filter_error = "Minimum confidence must be a number between 0 and 1." if raw_min and \
            self.min_confidence is None else ""
        self.reason = request.GET.get("reason") if request.GET.get("reason") in SuggestionReason.values else ""
        self.name = request.GET.get("name") if request.GET.get("name") in ATTRIBUTE_NAMES else ""
        response = super().get(request, *args, **kwargs)
        if self.filter_error:
            response.status_code = 400
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        store = self.store
        if self.kind == "category":
            qs = selectors.category_suggestions(store, status=self.status, min_confidence=self.min_confidence,
                                                reason=self.reason or None)
        else:
            qs = selectors.attribute_suggestions(store, status=self.status, min_confidence=self.min_confidence,
                                                 name=self.name or None)
        page = Paginator(qs, PAGE_SIZE).get_page(self.request.GET.get("page"))
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            kind=self.kind, status=self.status, min_confidence=self.min_confidence, reason=self.reason,
            name=self.name, page=page, suggestions=page.object_list, filter_error=self.filter_error,
            query=query.urlencode(), attribute_names=ATTRIBUTE_NAMES, reasons=SuggestionReason.choices,
            statuses=SuggestionStatus.choices, model=selectors.current_model(store),
            counts={"category": selectors.category_suggestions(store).count(),
                    "attribute": selectors.attribute_suggestions(store).count()},
            running_job=Job.objects.for_store(store).filter(
                kind=RESCORE_KIND, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).order_by("-created_at").first(),
        )
        return context


def _ids(values: list[str]) -> list[int] | None:
    try:
        ids = [int(v) for v in values]
    except ValueError:
        return None
    return ids if all(0 < i < 2**63 for i in ids) else None


class DecideView(StoreViewMixin, View):
    """POST: accept or reject the selected suggestions (writers only), then back to the queue."""

    def post(self, request, store_slug):
        back = request.POST.get("next") or ""
        if not back.startswith(f"/stores/{self.store.slug}/"):
            back = f"/stores/{self.store.slug}/categories/"
        category_ids, attribute_ids = _ids(request.POST.getlist("category_ids")), _ids(request.POST.getlist("attribute_ids"))
        if category_ids is None or attribute_ids is None:
            messages.error(request, "Suggestion ids must be numbers.")
            return redirect(back)
        try:
            result = suggestions_decide(store=self.store, user=request.user, action=request.POST.get("action", ""),
                                        category_ids=category_ids, attribute_ids=attribute_ids,
                                        overwrite=request.POST.get("overwrite") == "1")
        except ValidationError as exc:
            messages.error(request, _errors(exc))
            return redirect(back)
        text = f"{result.accepted} accepted." if request.POST.get("action") == "accept" else f"{result.rejected} rejected."
        if result.conflicts:
            text += (f" {len(result.conflicts)} attribute suggestion(s) left pending: the product already has another "
                     "value (tick 'replace the merchant's value' to overwrite it).")
        messages.success(request, text)
        return redirect(back)


class RescoreView(StoreViewMixin, View):
    def post(self, request, store_slug):
        try:
            rescore_start(store=self.store, created_by=request.user, params={})
            messages.success(request, "Re-scoring the catalogue: progress below.")
        except JobLimitReached as exc:
            messages.error(request, str(exc))
        return redirect(f"/stores/{self.store.slug}/categories/")
