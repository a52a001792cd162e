"""Copywriter pages: thin doors into copywriter.services / selectors (roles checked by StoreViewMixin too)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.views import View
from django.views.generic import TemplateView

from copywriter import selectors, services
from copywriter.ml.generate import TONES
from copywriter.models import DescriptionDraft
from copywriter.services.review import NotAllowed
from copywriter.services.store_policy import kept_policy_sentences
from ecomops.models import Product
from ecomops.scoping import StoreViewMixin


def _options_from(post) -> dict:
    return {
        "tone": post.get("tone") or "neutral", "length": post.get("length") or "medium",
        "keywords": post.get("keywords", ""), "avoid_words": post.get("avoid_words", ""),
        "audience": post.get("audience", ""), "brand_voice": post.get("brand_voice", ""),
    }


class CopywriterIndexView(StoreViewMixin, TemplateView):
    template_name = "copywriter/index.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        status = self.request.GET.get("status") or None
        ctx.update(
            drafts=selectors.drafts_for(self.store, status=status)[:100],
            status=status or "",
            versions=selectors.model_versions(self.store),
            reports=selectors.evaluation_reports(self.store)[:5],
            settings=services.copywriter_settings(self.store),
            tones=TONES,
            curves_json=json.dumps([{"version": v.version, "curve": v.loss_curve}
                                    for v in selectors.model_versions(self.store)[:5]]),
        )
        return ctx


class GenerateView(StoreViewMixin, View):
    """POST: start a generation job (one product streamed, or a bulk filter)."""

    def post(self, request, store_slug):
        skus = [s for s in request.POST.getlist("sku") if s]
        filters = {"category": request.POST.get("category", ""), "brand": request.POST.get("brand", ""),
                   "missing_description": request.POST.get("missing_description") == "on"}
        try:
            job = services.generation_start(store=self.store, user=request.user, skus=skus or None,
                                            filters=None if skus else filters, options=_options_from(request.POST),
                                            stream=len(skus) == 1)
        except ValueError as exc:
            if request.headers.get("x-requested-with") == "fetch":
                return JsonResponse({"error": str(exc)}, status=400)
            messages.error(request, str(exc))
            return redirect("copywriter:index", store_slug=self.store.slug)
        if request.headers.get("x-requested-with") == "fetch":
            return JsonResponse({"job_id": str(job.pk)}, status=202)
        messages.success(request, "Generation started; drafts appear below as they land.")
        return redirect("copywriter:index", store_slug=self.store.slug)


class DraftDetailView(StoreViewMixin, TemplateView):
    template_name = "copywriter/draft_detail.html"
    queryset_model = DescriptionDraft  # what `pk` names (the tenancy walk reads it)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        draft = get_object_or_404(selectors.drafts_for(self.store), pk=kwargs["pk"])
        ctx.update(draft=draft, unsupported_texts=[f["text"] for f in draft.unsupported_facts],
                   kept_policy=kept_policy_sentences(original=draft.product.description, new=draft.description),
                   offtopic_texts=[o["text"] for o in draft.offtopic_sentences],
                   diff=selectors.revision_diff(draft.product.description or "", draft.description))
        return ctx

    def post(self, request, store_slug, pk):
        draft = get_object_or_404(selectors.drafts_for(self.store), pk=pk)
        action = request.POST.get("action")
        try:
            if action == "edit":
                services.draft_edit(draft=draft, user=request.user, description=request.POST.get("description", ""))
            elif action == "approve":
                services.draft_approve(draft=draft, user=request.user,
                                       allow_unsupported=request.POST.get("allow_unsupported") == "on")
            elif action == "reject":
                services.draft_reject(draft=draft, user=request.user, reason=request.POST.get("reason", ""))
            elif action == "publish":
                services.draft_publish(draft=draft, user=request.user,
                                       overwrite_human=request.POST.get("overwrite_human") == "on")
            else:
                messages.error(request, "Unknown action.")
        except (ValueError, NotAllowed) as exc:
            messages.error(request, str(exc))
        return redirect("copywriter:draft", store_slug=self.store.slug, pk=pk)


class BulkApproveView(StoreViewMixin, View):
    def post(self, request, store_slug):
        out = services.drafts_bulk_approve(store=self.store, user=request.user)
        messages.success(request, f"Approved {len(out['approved'])} drafts; left for review: "
                                  f"{len(out['skipped_unsupported'])} stating unsupported facts, "
                                  f"{len(out['skipped_offtopic'])} with sentences off the product.")
        return redirect("copywriter:index", store_slug=self.store.slug)


class HistoryView(StoreViewMixin, TemplateView):
    template_name = "copywriter/history.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        product = get_object_or_404(Product.objects.for_store(self.store), sku=kwargs["sku"])
        revisions = list(selectors.revisions_for(self.store, product))
        rows = []
        for i, rev in enumerate(revisions):
            older = revisions[i + 1].description if i + 1 < len(revisions) else ""
            rows.append({"rev": rev, "diff": selectors.revision_diff(older, rev.description)})
        ctx.update(product=product, rows=rows)
        return ctx

    def post(self, request, store_slug, sku):
        product = get_object_or_404(Product.objects.for_store(self.store), sku=sku)
        rev = get_object_or_404(selectors.revisions_for(self.store, product), pk=request.POST.get("revision"))
        services.description_restore(revision=rev, user=request.user)
        messages.success(request, "Description restored.")
        return redirect("copywriter:history", store_slug=self.store.slug, sku=sku)


class ModelActionView(StoreViewMixin, View):
    def post(self, request, store_slug):
        action = request.POST.get("action")
        try:
            if action == "train":
                services.training_start(store=self.store, user=request.user,
                                        epochs=int(request.POST.get("epochs") or 1),
                                        method=request.POST.get("method") or "lora")
                messages.success(request, "Training started; the loss curve updates live.")
            elif action == "activate":
                version = get_object_or_404(selectors.model_versions(self.store), pk=request.POST.get("version"))
                services.model_activate(store=self.store, version=version)
            elif action == "rollback":
                services.model_activate(store=self.store, version=None)
            elif action == "settings":
                services.copywriter_settings_update(
                    store=self.store, protect_human_descriptions=request.POST.get("protect") == "on",
                    brand_voice=request.POST.get("brand_voice", ""), writer=request.POST.get("writer") or None)
        except ValueError as exc:
            messages.error(request, str(exc))
        return redirect("copywriter:index", store_slug=self.store.slug)
