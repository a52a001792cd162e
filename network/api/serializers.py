"""Input and output serializers of the network API. Validation of model ranges lives in the services."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.utils import html

from network.models import Band, Cell, Incident, InjectionKind, Link, Mobility, ScenarioInjection, Site, SiteKind
from network.models import Scenario as ScenarioChoices
from network.selectors import KPI_FIELDS, WINDOWS


class CellSerializer(serializers.ModelSerializer):
    band = serializers.ChoiceField(choices=Band.choices)
    scenario = serializers.ChoiceField(choices=ScenarioChoices.choices, required=False)

    class Meta:
        model = Cell
        fields = ("id", "name", "band", "bandwidth_mhz", "scenario", "x_m", "y_m", "height_m", "tx_power_dbm",
                  "antenna_gain_dbi", "base_load", "background_users", "max_layers", "data_gain_db", "created_at")
        read_only_fields = ("id", "created_at")
        extra_kwargs = {f: {"required": False} for f in fields if f not in ("name", "band", "id", "created_at")}
        validators = []  # uniqueness per store is checked by the view (the store is not a field)


class SiteSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=SiteKind.choices, required=False)
    mobility = serializers.ChoiceField(choices=Mobility.choices, required=False)
    link_ids = serializers.SerializerMethodField()

    class Meta:
        model = Site
        fields = ("id", "name", "kind", "x_m", "y_m", "height_m", "indoor", "mobility", "route_radius_m", "speed_kmh",
                  "traffic_profile", "backhaul_ms", "sla_latency_p95_ms", "sla_throughput_mbps", "link_ids",
                  "created_at")
        read_only_fields = ("id", "created_at", "link_ids")
        extra_kwargs = {f: {"required": False} for f in fields if f not in ("name", "id", "created_at", "link_ids")}
        validators = []

    def get_link_ids(self, obj) -> list[int]:
        return [lk.pk for lk in obj.links.all()]


class LinkSerializer(serializers.ModelSerializer):
    site_name = serializers.CharField(source="site.name", default=None, read_only=True)
    trace_name = serializers.CharField(source="trace.name", default=None, read_only=True)

    class Meta:
        model = Link
        fields = ("id", "name", "kind", "site", "site_name", "trace", "trace_name", "endpoint", "grade", "score",
                  "last_kpis", "updated_at")
        read_only_fields = fields


class KpiQuerySerializer(serializers.Serializer):
    window = serializers.ChoiceField(choices=list(WINDOWS), default="15m")
    resolution = serializers.ChoiceField(choices=["s", "m", "h"], required=False)


class KpiPointSerializer(serializers.Serializer):
    ts = serializers.DateTimeField()
    rsrp = serializers.FloatField(allow_null=True)
    rsrq = serializers.FloatField(allow_null=True)
    sinr = serializers.FloatField(allow_null=True)
    cqi = serializers.FloatField(allow_null=True)
    throughput_mbps = serializers.FloatField(allow_null=True)
    latency_p50_ms = serializers.FloatField(allow_null=True)
    latency_p95_ms = serializers.FloatField(allow_null=True)
    jitter_ms = serializers.FloatField(allow_null=True)
    loss = serializers.FloatField(allow_null=True)
    availability = serializers.FloatField(allow_null=True)
    handovers = serializers.IntegerField()


assert set(KPI_FIELDS) <= set(KpiPointSerializer().fields)


class KpiSeriesSerializer(serializers.Serializer):
    link = serializers.IntegerField()
    window = serializers.CharField()
    resolution = serializers.CharField()
    points = KpiPointSerializer(many=True)


class IncidentSerializer(serializers.ModelSerializer):
    link_name = serializers.CharField(source="link.name", default=None, read_only=True)
    acknowledged_by = serializers.CharField(source="acknowledged_by.username", default=None, read_only=True)
    is_open = serializers.BooleanField(read_only=True)

    class Meta:
        model = Incident
        fields = ("id", "kind", "severity", "cause", "link", "link_name", "site", "details", "started_at", "ended_at",
                  "is_open", "acknowledged_at", "acknowledged_by")
        read_only_fields = fields


class InjectionSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=InjectionKind.choices)
    magnitude = serializers.FloatField(required=False, allow_null=True)
    loss_pct = serializers.FloatField(required=False, default=0.0)
    cell = serializers.IntegerField(required=False, allow_null=True, source="cell_id")
    site = serializers.IntegerField(required=False, allow_null=True, source="site_id")

    class Meta:
        model = ScenarioInjection
        fields = ("id", "kind", "cell", "site", "magnitude", "loss_pct", "note", "started_at", "stopped_at",
                  "started_tick")
        read_only_fields = ("id", "started_at", "stopped_at", "started_tick")


class ObjectField(serializers.DictField):
    """A JSON object. In a form/multipart body a plain `name=value` is that value (a 400: not an object), where
    DictField would look only for `name.key` entries and silently ignore it."""

    def get_value(self, dictionary):
        if html.is_html_input(dictionary) and self.field_name in dictionary:
            return dictionary.get(self.field_name)
        return super().get_value(dictionary)


class SimulationSerializer(serializers.Serializer):
    paused = serializers.BooleanField(required=False)
    speed = serializers.FloatField(required=False, min_value=0.1, max_value=100.0)
    seed = serializers.IntegerField(required=False, min_value=0)
    tick = serializers.IntegerField(read_only=True)
    skipped_ticks = serializers.IntegerField(read_only=True)
    caught_up_ticks = serializers.IntegerField(read_only=True)
    # Objects, not any JSON: a multipart/form PATCH sends strings, which must be a 400, not reach the service.
    thresholds = ObjectField(required=False)
    alert_policy = ObjectField(required=False)
    advisor = ObjectField(required=False)


class AdviceSerializer(serializers.Serializer):
    feature = serializers.CharField()
    label = serializers.CharField()
    edge_ms = serializers.FloatField()
    cloud_ms = serializers.FloatField()
    recommendation = serializers.ChoiceField(choices=["edge", "cloud"])
    margin_ms = serializers.FloatField()
    margin_pct = serializers.FloatField()


class SiteAdviceSerializer(serializers.Serializer):
    site = serializers.CharField()
    site_id = serializers.IntegerField()
    link = serializers.CharField()
    available = serializers.BooleanField()
    latency_p50_ms = serializers.FloatField(required=False)
    throughput_mbps = serializers.FloatField(required=False)
    grade = serializers.CharField(required=False)
    advice = AdviceSerializer(many=True)
