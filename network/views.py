"""Dashboard pages of the network app: thin doors into selectors and services."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.views import View
from django.views.generic import TemplateView

from ecomops.scoping import StoreViewMixin
from network import selectors
from network.forms import CellForm, InjectionForm, SimulationControlForm, SiteForm
from network.models import Cell, Incident, ScenarioInjection, Site
from network.services import alerts, scenarios, simulation, topology
from network.sim.health import GRADE_BANDS, GRADES, validate_thresholds


def _json(data) -> str:
    return json.dumps(data, default=str)


def _with_live_health(links, snapshot: dict) -> list:
    """The last tick's grade, score and KPIs on each link (the rows in the database are refreshed less often),
    so the table, the map and the alert feed show the same figures as the live push that follows."""
    live = {entry["id"]: entry for entry in snapshot.get("links") or []}
    for link in links:
        entry = live.get(link.pk)
        if entry:
            link.grade, link.score, link.last_kpis = entry["grade"], entry["score"], entry["kpis"]
    return links


class NetworkPageMixin(StoreViewMixin):
    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        sim = simulation.simulation_for_store(self.store)
        context.update(sim=sim, grades=GRADES, grade_bands=GRADE_BANDS, snapshot=selectors.live_snapshot(self.store))
        return context


class IndexView(NetworkPageMixin, TemplateView):
    """Links with live charts, the alert feed and the simulation controls."""

    template_name = "network/index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        links = _with_live_health(list(selectors.links_for_store(self.store)), context["snapshot"])
        context.update(
            links=links,
            open_incidents=selectors.incidents_for_store(self.store, open_only=True)[:50],
            warnings=topology.topology_warnings(self.store),
            has_topology=selectors.cells_for_store(self.store).exists(),
            thresholds=validate_thresholds(context["sim"].thresholds or {}),
        )
        return context


class ControlView(StoreViewMixin, View):
    def post(self, request, store_slug):
        form = SimulationControlForm(request.POST)
        if not form.is_valid():
            messages.error(request, f"Invalid control: {form.errors.as_text()}")
        else:
            action = form.cleaned_data["action"]
            try:
                if action == "pause":
                    simulation.simulation_control(store=self.store, paused=True)
                elif action == "resume":
                    simulation.simulation_control(store=self.store, paused=False)
                else:
                    simulation.simulation_control(store=self.store, speed=form.cleaned_data["speed"] or 1.0)
            except ValueError as exc:
                messages.error(request, str(exc))
        return redirect("network:index", store_slug=self.store.slug)


class MapView(NetworkPageMixin, TemplateView):
    template_name = "network/map.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        cells = list(selectors.cells_for_store(self.store).values("id", "name", "band", "x_m", "y_m", "scenario"))
        outage = set(ScenarioInjection.objects.for_store(self.store).filter(
            kind="cell_outage", stopped_at__isnull=True).values_list("cell_id", flat=True))
        for c in cells:
            c["active"] = c["id"] not in outage
        # A site's dot shows the same link (and grade) as its row in the Links table: its simulated link first.
        links = _with_live_health(list(selectors.links_for_store(self.store).filter(site__isnull=False)),
                                  context["snapshot"])
        by_site: dict[int, object] = {}
        for link in sorted(links, key=lambda lk: (lk.kind == "replay", lk.pk)):
            by_site.setdefault(link.site_id, link)
        sites = []
        for site in selectors.sites_for_store(self.store):
            link = by_site.get(site.id)
            sites.append({"id": site.id, "name": site.name, "kind": site.kind, "x_m": site.x_m, "y_m": site.y_m,
                          "link_id": link.pk if link else None, "link": link.name if link else "",
                          "grade": link.grade if link else "", "score": link.score if link else None})
        context.update(map_json=_json({"cells": cells, "sites": sites}), warnings=topology.topology_warnings(self.store))
        return context


class IncidentsView(NetworkPageMixin, TemplateView):
    template_name = "network/incidents.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        incidents = list(selectors.incidents_for_store(self.store)[:300])
        for incident in incidents:
            incident.hysteresis = alerts.hysteresis_summary(incident, context["sim"].last_advanced_at)
        injections = list(selectors.injections_for_store(self.store)[:100])
        context.update(
            incidents=incidents,
            injections=injections,
            timeline_json=_json({
                "incidents": [{**alerts.incident_payload(i), "hysteresis": i.hysteresis} for i in incidents],
                "injections": [scenarios.injection_payload(i) for i in injections],
            }),
        )
        return context


class IncidentAckView(StoreViewMixin, View):
    def post(self, request, store_slug, pk):
        incident = get_object_or_404(Incident.objects.for_store(self.store), pk=pk)
        alerts.incident_acknowledge(incident=incident, user=request.user)
        messages.success(request, "Incident acknowledged.")
        return redirect("network:incidents", store_slug=self.store.slug)


class ScenariosView(NetworkPageMixin, TemplateView):
    template_name = "network/scenarios.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", InjectionForm(store=self.store))
        context["injections"] = selectors.injections_for_store(self.store)[:100]
        return context

    def post(self, request, store_slug):
        form = InjectionForm(request.POST, store=self.store)
        if form.is_valid():
            data = form.cleaned_data
            try:
                scenarios.injection_start(store=self.store, kind=data["kind"], cell=data["cell"], site=data["site"],
                                          magnitude=data["magnitude"], loss_pct=data["loss_pct"] or 0.0,
                                          note=data["note"], user=request.user)
            except ValidationError as exc:
                for field, errs in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errs)
            else:
                messages.success(request, "Scenario started.")
                return redirect("network:scenarios", store_slug=self.store.slug)
        return self.render_to_response(self.get_context_data(form=form))


class ScenarioStopView(StoreViewMixin, View):
    def post(self, request, store_slug, pk):
        injection = get_object_or_404(ScenarioInjection.objects.for_store(self.store), pk=pk)
        scenarios.injection_stop(injection=injection)
        messages.success(request, "Scenario stopped.")
        return redirect("network:scenarios", store_slug=self.store.slug)


class TopologyView(NetworkPageMixin, TemplateView):
    """Cells and sites with add/edit/delete forms."""

    template_name = "network/topology.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("cell_form", CellForm(prefix="cell"))
        context.setdefault("site_form", SiteForm(prefix="site"))
        context.update(cells=selectors.cells_for_store(self.store), sites=selectors.sites_for_store(self.store),
                       warnings=topology.topology_warnings(self.store))
        return context

    def post(self, request, store_slug):
        kind = request.POST.get("form")
        if kind == "cell":
            form = CellForm(request.POST, prefix="cell")
            return self._save(form, "cell_form", lambda data: topology.cell_create(store=self.store, **data))
        form = SiteForm(request.POST, prefix="site")
        return self._save(form, "site_form", lambda data: topology.site_create(store=self.store, **data))

    def _save(self, form, name, create):
        if form.is_valid():
            try:
                create(form.cleaned_data)
            except ValidationError as exc:
                for field, errs in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errs)
            except IntegrityError:
                form.add_error("name", "That name is already used in this store.")
            else:
                messages.success(self.request, "Saved.")
                return redirect("network:topology", store_slug=self.store.slug)
        return self.render_to_response(self.get_context_data(**{name: form}))


class TopologyEditView(NetworkPageMixin, TemplateView):
    template_name = "network/topology_edit.html"
    model = None

    def _object(self):
        if self.kwargs["kind"] not in ("cell", "site"):
            raise Http404("No such object.")
        model = Cell if self.kwargs["kind"] == "cell" else Site
        return get_object_or_404(model.objects.for_store(self.store), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        obj = self._object()
        form_class = CellForm if isinstance(obj, Cell) else SiteForm
        context.setdefault("form", form_class(instance=obj))
        context.update(object=obj, kind=self.kwargs["kind"])
        return context

    def post(self, request, store_slug, kind, pk):
        obj = self._object()
        if request.POST.get("delete"):
            (topology.cell_delete(cell=obj) if kind == "cell" else topology.site_delete(site=obj))
            messages.success(request, f"Deleted {obj}.")
            return redirect("network:topology", store_slug=self.store.slug)
        form = (CellForm if kind == "cell" else SiteForm)(request.POST, instance=Cell.objects.get(pk=obj.pk)
                                                          if kind == "cell" else Site.objects.get(pk=obj.pk))
        if form.is_valid():
            try:
                if kind == "cell":
                    topology.cell_update(cell=obj, **form.cleaned_data)
                else:
                    topology.site_update(site=obj, **form.cleaned_data)
            except ValidationError as exc:
                for field, errs in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errs)
            except IntegrityError:
                form.add_error("name", "That name is already used in this store.")
            else:
                messages.success(request, "Saved.")
                return redirect("network:topology", store_slug=self.store.slug)
        return self.render_to_response(self.get_context_data(form=form))


class AdvisorView(NetworkPageMixin, TemplateView):
    template_name = "network/advisor.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        from network.sim.advisor import DEFAULT_FEATURES, DEFAULT_TRANSPORT

        config = context["sim"].advisor or {}
        context.update(
            rows=selectors.advisor_for_store(self.store),
            config_json=json.dumps({"features": config.get("features") or DEFAULT_FEATURES,
                                    "transport": {**DEFAULT_TRANSPORT, **(config.get("transport") or {})}}, indent=2),
        )
        return context

    def post(self, request, store_slug):
        try:
            config = json.loads(request.POST.get("config", ""))
            if not isinstance(config, dict):
                raise ValueError("The configuration must be a JSON object.")
            simulation.simulation_configure(store=self.store, advisor=config)
        except (ValueError, TypeError) as exc:
            messages.error(request, f"Not saved: {exc}")
        else:
            messages.success(request, "Advisor inputs saved.")
        return redirect("network:advisor", store_slug=self.store.slug)
