"""REST API of the network app: thin doors into selectors and services (STYLE.md §1, §9)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from ecomops.api.base import StoreScopedAPIView, StoreScopedModelViewSet, StoreScopedViewSet
from network import selectors
from network.api.serializers import (
    CellSerializer,
    IncidentSerializer,
    InjectionSerializer,
    KpiQuerySerializer,
    KpiSeriesSerializer,
    LinkSerializer,
    SimulationSerializer,
    SiteAdviceSerializer,
    SiteSerializer,
)
from network.models import Cell, Incident, Link, ScenarioInjection, Site
from network.services import alerts, scenarios, simulation, topology


def _drf_error(exc: DjangoValidationError | ValueError | IntegrityError) -> ValidationError:
    if isinstance(exc, DjangoValidationError) and hasattr(exc, "message_dict"):
        return ValidationError(exc.message_dict)
    if isinstance(exc, IntegrityError):
        return ValidationError({"name": ["An object with this name already exists in this store."]})
    return ValidationError({"non_field_errors": [str(getattr(exc, "message", exc))]})


class _TopologyViewSet(StoreScopedModelViewSet):
    create_fn = update_fn = delete_fn = None
    instance_kw = ""

    def perform_create(self, serializer):
        try:
            serializer.instance = type(self).create_fn(store=self.store, **serializer.validated_data)
        except (DjangoValidationError, IntegrityError) as exc:
            raise _drf_error(exc) from None

    def perform_update(self, serializer):
        try:
            serializer.instance = type(self).update_fn(**{self.instance_kw: serializer.instance},
                                                       **serializer.validated_data)
        except (DjangoValidationError, IntegrityError) as exc:
            raise _drf_error(exc) from None

    def perform_destroy(self, instance):
        type(self).delete_fn(**{self.instance_kw: instance})

    def create(self, request, *args, **kwargs):
        response = super().create(request, *args, **kwargs)
        response.data["warnings"] = topology.topology_warnings(self.store)
        return response

    def update(self, request, *args, **kwargs):
        response = super().update(request, *args, **kwargs)
        response.data["warnings"] = topology.topology_warnings(self.store)
        return response


@extend_schema(tags=["network"])
class CellViewSet(_TopologyViewSet):
    """gNB cells of the store's 5G topology. Unknown band/scenario or out-of-model values answer 400."""

    queryset_model = Cell
    serializer_class = CellSerializer
    instance_kw = "cell"
    create_fn = staticmethod(topology.cell_create)
    update_fn = staticmethod(topology.cell_update)
    delete_fn = staticmethod(topology.cell_delete)


@extend_schema(tags=["network"])
class SiteViewSet(_TopologyViewSet):
    """Sites (stores, warehouses, edge servers, device clusters). Each gets a simulated link."""

    queryset_model = Site
    serializer_class = SiteSerializer
    instance_kw = "site"
    create_fn = staticmethod(topology.site_create)
    update_fn = staticmethod(topology.site_update)
    delete_fn = staticmethod(topology.site_delete)

    def scoped_queryset(self):
        return Site.objects.for_store(self.store).prefetch_related("links")


@extend_schema(tags=["network"])
class LinkViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StoreScopedViewSet):
    """Links (simulated or replayed traces) with their live grade, score and last-minute KPIs."""

    queryset_model = Link
    serializer_class = LinkSerializer

    def scoped_queryset(self):
        return selectors.links_for_store(self.store)

    @extend_schema(parameters=[KpiQuerySerializer], responses=KpiSeriesSerializer)
    @action(detail=True, methods=["get"])
    def kpis(self, request, *args, **kwargs):
        """The link's KPI series over `window` (5m..30d) at `resolution` s/m/h (default: by window)."""
        link = self.get_object()
        query = KpiQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = selectors.link_kpi_series(self.store, link, window=query.validated_data["window"],
                                         resolution=query.validated_data.get("resolution"))
        return Response(data)


@extend_schema(tags=["network"], parameters=[OpenApiParameter("open", bool, description="only open incidents")])
class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StoreScopedViewSet):
    """Alerts raised with hysteresis, with start, end, cause and acknowledgement."""

    queryset_model = Incident
    serializer_class = IncidentSerializer

    def scoped_queryset(self):
        open_only = self.request.query_params.get("open") in ("1", "true", "yes")
        return selectors.incidents_for_store(self.store, open_only=open_only)

    @extend_schema(request=None, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def ack(self, request, *args, **kwargs):
        incident = alerts.incident_acknowledge(incident=self.get_object(), user=request.user)
        return Response(IncidentSerializer(incident).data)


@extend_schema(tags=["network"])
class InjectionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, StoreScopedViewSet):
    """Scenario / fault injections: load surge, interference, cell outage, backhaul degradation, rain fade,
    out of coverage. POST starts one; POST .../stop/ ends it. Every injection stays recorded."""

    queryset_model = ScenarioInjection
    serializer_class = InjectionSerializer

    def scoped_queryset(self):
        return selectors.injections_for_store(self.store)

    def perform_create(self, serializer):
        data = serializer.validated_data
        cell = site = None
        errors = {}
        if data.get("cell_id") is not None:
            cell = Cell.objects.for_store(self.store).filter(pk=data["cell_id"]).first()
            if cell is None:
                errors["cell"] = ["No such cell in this store."]
        if data.get("site_id") is not None:
            site = Site.objects.for_store(self.store).filter(pk=data["site_id"]).first()
            if site is None:
                errors["site"] = ["No such site in this store."]
        if errors:
            raise ValidationError(errors)
        try:
            serializer.instance = scenarios.injection_start(
                store=self.store, kind=data["kind"], cell=cell, site=site, magnitude=data.get("magnitude"),
                loss_pct=data.get("loss_pct") or 0.0, note=data.get("note", ""), user=self.request.user,
            )
        except DjangoValidationError as exc:
            raise _drf_error(exc) from None

    @extend_schema(request=None, responses=InjectionSerializer)
    @action(detail=True, methods=["post"])
    def stop(self, request, *args, **kwargs):
        injection = scenarios.injection_stop(injection=self.get_object())
        return Response(InjectionSerializer(injection).data)


@extend_schema(tags=["network"])
class SimulationView(StoreScopedAPIView):
    """The store's simulation clock and settings: pause/resume, speed factor, seed, health thresholds,
    alert policy and advisor inputs."""

    serializer_class = SimulationSerializer
    queryset_model = Link

    def _data(self, sim):
        return {"paused": sim.paused, "speed": sim.speed, "seed": sim.seed, "tick": sim.tick,
                "skipped_ticks": sim.skipped_ticks, "caught_up_ticks": sim.caught_up_ticks,
                "thresholds": sim.thresholds, "alert_policy": sim.alert_policy, "advisor": sim.advisor}

    @extend_schema(responses=SimulationSerializer)
    def get(self, request, *args, **kwargs):
        return Response(self._data(simulation.simulation_for_store(self.store)))

    @extend_schema(request=SimulationSerializer, responses=SimulationSerializer)
    def patch(self, request, *args, **kwargs):
        serializer = SimulationSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            sim = simulation.simulation_control(store=self.store, paused=data.get("paused"), speed=data.get("speed"),
                                                seed=data.get("seed"))
            if {"thresholds", "alert_policy", "advisor"} & set(data):
                sim = simulation.simulation_configure(store=self.store, thresholds=data.get("thresholds"),
                                                      alert_policy=data.get("alert_policy"),
                                                      advisor=data.get("advisor"))
        except (ValueError, TypeError, AttributeError, KeyError) as exc:  # a nested value of the wrong shape
            raise _drf_error(exc) from None
        return Response(self._data(sim), status=status.HTTP_200_OK)


@extend_schema(tags=["network"])
class AdvisorView(StoreScopedAPIView):
    """Edge-or-cloud recommendation per site and AI feature, with the margin, from the live KPIs."""

    serializer_class = SiteAdviceSerializer
    queryset_model = Link
    pagination_class = None

    @extend_schema(responses=SiteAdviceSerializer(many=True))
    def get(self, request, *args, **kwargs):
        return Response(selectors.advisor_for_store(self.store))
