"""What the network app stores: topology (cells, sites, links), the per-store simulation, KPI time series,
incidents, injected scenarios and imported traces. Every model is store-owned (`objects.for_store`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ecomops.models.scoped import StoreOwned
from network.sim.constants import BANDS, SCENARIOS


class Band(models.TextChoices):
    N78 = "n78", "n78 (3.5 GHz)"
    N257 = "n257", "n257 (28 GHz mmWave)"


assert set(Band.values) == set(BANDS)

Scenario = models.TextChoices("Scenario", [(s, s) for s in SCENARIOS])


class Cell(StoreOwned):
    name = models.CharField(max_length=80)
    band = models.CharField(max_length=8, choices=Band.choices, default=Band.N78)
    bandwidth_mhz = models.PositiveIntegerField(default=100)
    scenario = models.CharField(max_length=24, choices=Scenario.choices, default="UMa")
    x_m = models.FloatField(default=0.0)
    y_m = models.FloatField(default=0.0)
    height_m = models.FloatField(default=25.0)
    tx_power_dbm = models.FloatField(default=49.0)
    antenna_gain_dbi = models.FloatField(default=24.0)
    base_load = models.FloatField(default=0.4, help_text="Fraction of PRBs in use by other traffic (0-1).")
    background_users = models.FloatField(default=3.0, help_text="Mean other active users at full load.")
    max_layers = models.PositiveSmallIntegerField(default=4)
    data_gain_db = models.FloatField(default=9.0, help_text="Beamforming gain of the data channel over SSB/RS.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="network_cell_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.band})"


class SiteKind(models.TextChoices):
    STORE = "store", "Store"
    WAREHOUSE = "warehouse", "Warehouse"
    EDGE_SERVER = "edge_server", "Edge server"
    DEVICE_CLUSTER = "device_cluster", "Device cluster"
    PICKUP_POINT = "pickup_point", "Pick-up point"


class Mobility(models.TextChoices):
    STATIC = "static", "Static"
    PEDESTRIAN = "pedestrian", "Pedestrian"
    VEHICULAR = "vehicular", "Vehicular (route)"


class TrafficProfile(models.TextChoices):
    POS = "pos", "Point of sale"
    BULK = "bulk", "Bulk sync"
    VIDEO = "video", "Video / cameras"
    IOT = "iot", "IoT telemetry"
    INFERENCE = "inference", "AI inference"


class Site(StoreOwned):
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=20, choices=SiteKind.choices, default=SiteKind.STORE)
    x_m = models.FloatField(default=0.0)
    y_m = models.FloatField(default=0.0)
    height_m = models.FloatField(default=1.5)
    indoor = models.BooleanField(default=True)
    mobility = models.CharField(max_length=12, choices=Mobility.choices, default=Mobility.STATIC)
    route_radius_m = models.FloatField(default=0.0)
    speed_kmh = models.FloatField(default=0.0)
    traffic_profile = models.CharField(max_length=12, choices=TrafficProfile.choices, default=TrafficProfile.POS)
    backhaul_ms = models.FloatField(default=2.0, help_text="Transport latency from the gNB to the core (RTT).")
    sla_latency_p95_ms = models.FloatField(null=True, blank=True)
    sla_throughput_mbps = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="network_site_unique_name")]

    def __str__(self) -> str:
        return self.name


class LinkKind(models.TextChoices):
    SIMULATED = "simulated", "Simulated"
    REPLAY = "replay", "Replay of a real trace"


class Endpoint(models.TextChoices):
    EDGE = "edge", "Edge server"
    CLOUD = "cloud", "Cloud region"


class TraceRecording(StoreOwned):
    """A real measurement trace (Raca et al. 2020 format) imported for replay. Samples are column arrays."""

    name = models.CharField(max_length=200)
    source_path = models.CharField(max_length=500)
    scenario = models.CharField(max_length=20, blank=True)  # static | driving
    application = models.CharField(max_length=40, blank=True)
    n_samples = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    samples = models.JSONField(default=dict)
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="network_trace_unique_name")]

    def __str__(self) -> str:
        return self.name


class Link(StoreOwned):
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=12, choices=LinkKind.choices, default=LinkKind.SIMULATED)
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.CASCADE, related_name="links")
    trace = models.ForeignKey(TraceRecording, null=True, blank=True, on_delete=models.CASCADE, related_name="links")
    endpoint = models.CharField(max_length=8, choices=Endpoint.choices, default=Endpoint.CLOUD)
    # Live snapshot, refreshed every tick: what list pages and the map show without touching the series.
    grade = models.CharField(max_length=12, blank=True)
    score = models.FloatField(null=True, blank=True)
    last_kpis = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="network_link_unique_name")]

    def __str__(self) -> str:
        return self.name


class Resolution(models.TextChoices):
    RAW = "s", "1 second (raw)"
    MINUTE = "m", "1 minute"
    HOUR = "h", "1 hour"


class KpiSample(StoreOwned):
    """One point of a link's KPI series. Raw rows are kept for an hour, minute rows for a week, hour rows after."""

    link = models.ForeignKey(Link, on_delete=models.CASCADE, related_name="samples")
    resolution = models.CharField(max_length=1, choices=Resolution.choices)
    ts = models.DateTimeField()
    rsrp = models.FloatField(null=True)
    rsrq = models.FloatField(null=True)
    sinr = models.FloatField(null=True)
    cqi = models.FloatField(null=True)
    throughput_mbps = models.FloatField(null=True)
    latency_p50_ms = models.FloatField(null=True)
    latency_p95_ms = models.FloatField(null=True)
    jitter_ms = models.FloatField(null=True)
    loss = models.FloatField(null=True)
    availability = models.FloatField(null=True)
    handovers = models.PositiveIntegerField(default=0)
    samples = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["ts"]
        constraints = [
            models.UniqueConstraint(fields=["link", "resolution", "ts"], name="network_kpi_unique_point")
        ]
        indexes = [models.Index(fields=["store", "resolution", "ts"], name="network_kpi_store_res_ts")]


class NetworkSimulation(StoreOwned):
    """The per-store simulation: clock, pause/speed, seed, persisted NumPy state and the store's settings."""

    seed = models.BigIntegerField(default=42)
    paused = models.BooleanField(default=False)
    speed = models.FloatField(default=1.0)
    tick_seconds = models.FloatField(default=1.0)
    tick = models.BigIntegerField(default=0)
    epoch = models.DateTimeField(help_text="Simulated time of tick 0; tick n is at epoch + n * tick_seconds.")
    last_advanced_at = models.DateTimeField(null=True, blank=True)
    skipped_ticks = models.BigIntegerField(default=0)
    caught_up_ticks = models.BigIntegerField(default=0)
    max_catch_up_ticks = models.PositiveIntegerField(default=30)
    topology_version = models.PositiveIntegerField(default=1)
    state_version = models.PositiveIntegerField(default=0)
    state = models.BinaryField(null=True, blank=True)
    thresholds = models.JSONField(default=dict, blank=True)
    alert_policy = models.JSONField(default=dict, blank=True)
    alert_states = models.JSONField(default=dict, blank=True, help_text="Per link and alert kind: hysteresis state.")
    advisor = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store"], name="network_one_simulation_per_store")]


class IncidentKind(models.TextChoices):
    DEGRADED = "degraded", "Link degraded"
    NO_SERVICE = "no_service", "No service"
    SLA_LATENCY = "sla_latency", "SLA breach: latency p95"
    SLA_THROUGHPUT = "sla_throughput", "SLA breach: throughput"


class Incident(StoreOwned):
    link = models.ForeignKey(Link, null=True, blank=True, on_delete=models.CASCADE, related_name="incidents")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents")
    kind = models.CharField(max_length=20, choices=IncidentKind.choices)
    severity = models.CharField(max_length=8, default="warning")  # warning | critical
    cause = models.CharField(max_length=300)
    details = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["store", "ended_at", "started_at"], name="network_incident_open")]

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


class InjectionKind(models.TextChoices):
    LOAD_SURGE = "load_surge", "Load surge on a cell"
    INTERFERENCE = "interference", "Interference on a cell"
    CELL_OUTAGE = "cell_outage", "Cell outage"
    BACKHAUL = "backhaul_degradation", "Backhaul degradation (latency/loss)"
    RAIN_FADE = "rain_fade", "Rain fade (mmWave)"
    OUT_OF_COVERAGE = "out_of_coverage", "Site moves out of coverage"


class ScenarioInjection(StoreOwned):
    kind = models.CharField(max_length=24, choices=InjectionKind.choices)
    cell = models.ForeignKey(Cell, null=True, blank=True, on_delete=models.CASCADE, related_name="injections")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.CASCADE, related_name="injections")
    magnitude = models.FloatField(default=0.0, help_text="Meaning depends on the kind (see the form help).")
    loss_pct = models.FloatField(default=0.0, help_text="Backhaul degradation only: added packet loss in %.")
    note = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    started_tick = models.BigIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-started_at"]

    @property
    def is_active(self) -> bool:
        return self.stopped_at is None
