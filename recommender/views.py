"""Recommendations dashboard page: versions, training with a live loss chart, what each model recommends per
customer and per product, offline evaluation as a job with live progress, CTR per version."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from ecomops.models import Customer, Event, Product
from ecomops.scoping import StoreViewMixin
from recommender import selectors
from recommender.ml.registry import DEFAULT_MODEL, MODEL_NAMES
from recommender.services import training
from recommender.services.attribution import impressions_attribute
from recommender.services.evaluation import evaluation_start
from recommender.services.preview import customer_preview, product_preview

EXPLORE_CHOICES = 40


def _curves(models) -> list[dict]:
    """Per model and phase: epochs, loss and validation NDCG@10 from the stored training log."""
    out: dict[tuple[str, str], dict] = {}
    for m in models:
        for entry in m.training_log or []:
            key = (m.label, entry.get("phase", "train"))
            c = out.setdefault(key, {"label": m.label, "phase": key[1], "epochs": entry.get("epochs"),
                                     "x": [], "loss": [], "ndcg": []})
            c["x"].append(entry.get("epoch"))
            c["loss"].append(entry.get("loss"))
            c["ndcg"].append(entry.get("val_ndcg@10"))
    return list(out.values())


def _explore_choices(store):
    """The most active customers and most viewed products, for the pickers (the text box takes any id)."""
    recent = Event.objects.for_store(store).order_by("-occurred_at")
    customer_ids = list(dict.fromkeys(recent.filter(customer__isnull=False).values_list("customer_id", flat=True)[:3000]))
    customers = {c.pk: c for c in Customer.objects.for_store(store).filter(pk__in=customer_ids[:EXPLORE_CHOICES])}
    product_ids = list(dict.fromkeys(recent.filter(product__isnull=False).values_list("product_id", flat=True)[:3000]))
    products = {p.pk: p for p in Product.objects.for_store(store).filter(pk__in=product_ids[:EXPLORE_CHOICES])}
    return ([customers[i] for i in customer_ids[:EXPLORE_CHOICES] if i in customers],
            [products[i] for i in product_ids[:EXPLORE_CHOICES] if i in products])


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
            coverage = v.metrics.get("coverage")
            v.coverage_pct = f"{100 * coverage:.1f}%" if coverage is not None else "—"
        impression_stats = selectors.impression_stats(store)
        for row in impression_stats:
            row["ctr_pct"], row["conversion_pct"] = f"{100 * row['ctr']:.1f}%", f"{100 * row['conversion']:.1f}%"
        ready = [v for v in versions if v.status == "ready"]
        # The curves of the newest training run stay on the page after it ends (they live on the version rows).
        logged = next((v for v in versions if v.training_log), None)
        curve_models = [v for v in versions if v.training_log and logged and v.job_id == logged.job_id] if logged else []
        version_chart = [{"label": v.label, "ndcg@10": v.ndcg10, "recall@10": v.recall10, "active": v.is_active}
                         for v in reversed(ready)]
        customers, products = _explore_choices(store) if ready else ([], [])
        customer_id = self.request.GET.get("customer", "").strip() or (customers[0].external_id if customers else "")
        sku = self.request.GET.get("product", "").strip() or (products[0].sku if products else "")
        context.update(
            versions=versions, active=active, algorithms=[*MODEL_NAMES, "all"], default_model=DEFAULT_MODEL,
            model_names=MODEL_NAMES,
            config=selectors.config_for(store), problems=selectors.serving_problems(store),
            reports=reports, report_chart=chart, impression_stats=impression_stats,
            ready_versions=ready, version_chart=version_chart,
            running_job=selectors.training_job_running(store),
            evaluation_job=selectors.evaluation_job_running(store),
            curves=_curves(curve_models), curve_labels=", ".join(m.label for m in curve_models),
            explore_customers=customers, explore_products=products, customer_id=customer_id, sku=sku,
            customer_lists=customer_preview(store=store, external_id=customer_id) if ready and customer_id else None,
            product_lists=product_preview(store=store, sku=sku) if ready and sku else None,
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
            elif action == "evaluate":
                evaluation_start(store=self.store, models=request.POST.getlist("models"),
                                       tune=request.POST.get("tune") == "on", created_by=request.user)
                messages.success(request, "Evaluation started: progress appears under Offline evaluation.")
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
