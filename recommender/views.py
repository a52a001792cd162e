"""Recommendations dashboard page: versions, training with a live loss chart, evaluation, CTR per version."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from ecomops.scoping import StoreViewMixin
from recommender import selectors
from recommender.ml.registry import DEFAULT_MODEL, MODEL_NAMES
from recommender.services import training
from recommender.services.attribution import impressions_attribute


class IndexView(StoreViewMixin, TemplateView):
    template_name = "recommender/index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        store = self.store
        impressions_attribute(store=store, limit=2000)
        reports = list(selectors.latest_reports(store))
        chart = []
        if reports:
            chart = [{"model": r["model"], "ndcg@10": r["ndcg@10"], "recall@10": r["recall@10"]} for r in reports[0].report.get("models", [])]
        versions = list(selectors.model_versions(store)[:30])
        active = selectors.active_model(store)
        for v in [*versions, *([active] if active else [])]:  # template names cannot contain "@"
            v.ndcg10, v.recall10 = v.metrics.get("ndcg@10"), v.metrics.get("recall@10")
        context.update(
            versions=versions, active=active, algorithms=[*MODEL_NAMES, "all"], default_model=DEFAULT_MODEL,
            config=selectors.config_for(store), problems=selectors.serving_problems(store),
            reports=reports, report_chart=chart, impression_stats=selectors.impression_stats(store),
            ready_versions=[v for v in versions if v.status == "ready"],
            running_job=selectors.training_job_running(store),
        )
        return context


class ActionView(StoreViewMixin, View):
    """POST actions of the page: train, activate, roll back, A/B and nightly settings (writers only)."""

    def post(self, request, store_slug):
        action = request.POST.get("action")
        try:
            if action == "train":
                algorithm = request.POST.get("algorithm", DEFAULT_MODEL)
                job = training.training_start(store=self.store, algorithm=algorithm, created_by=request.user)
                messages.success(request, f"Training {algorithm} started (job {job.pk}).")
            elif action == "activate":
                model = selectors.model_get(self.store, int(request.POST.get("model_id", 0)))
                if model is None:
                    raise ValueError("No such model version.")
                training.model_activate(model=model)
                messages.success(request, f"{model.label} is now active.")
            elif action == "rollback":
                model = training.model_rollback(store=self.store)
                messages.success(request, f"Rolled back to {model.label}.")
            elif action == "config":
                challenger_id = request.POST.get("challenger") or None
                challenger = selectors.model_get(self.store, int(challenger_id)) if challenger_id else None
                training.config_update(
                    store=self.store, challenger=challenger,
                    challenger_share=float(request.POST.get("challenger_share") or 0),
                    nightly_retrain=request.POST.get("nightly_retrain") == "on",
                    nightly_algorithm=request.POST.get("nightly_algorithm") or None,
                )
                messages.success(request, "Settings saved.")
            else:
                raise ValueError("Unknown action.")
        except ValueError as exc:
            messages.error(request, str(exc))
        return redirect("recommender:index", store_slug=store_slug)
