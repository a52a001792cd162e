"""The simulation step: tick accounting (catch up / skip, never duplicate), series roll-ups and retention,
alerts from an injected fault, and the live push over the store websocket."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connections

from ecomops.routing import websocket_urlpatterns
from network.models import Cell, Incident, IncidentKind, KpiSample, Resolution
from network.services.demo import network_demo_seed
from network.services.scenarios import injection_start, injection_stop
from network.services.simulation import simulation_advance, simulation_control, simulation_for_store
from tests.factories import MembershipFactory, StoreFactory


@pytest.mark.django_db
def test_ticks_are_caught_up_skipped_explicitly_and_never_duplicated(store):
    network_demo_seed(store)
    sim = simulation_for_store(store)
    t0 = sim.last_advanced_at
    first = simulation_advance(store_id=store.pk, now=t0 + timedelta(seconds=5.5))
    assert first["ticks"] == 5 and first["skipped"] == 0
    again = simulation_advance(store_id=store.pk, now=t0 + timedelta(seconds=5.5))
    assert again["status"] == "not_due"
    late = simulation_advance(store_id=store.pk, now=t0 + timedelta(seconds=105.5))
    sim.refresh_from_db()
    assert late["ticks"] == sim.max_catch_up_ticks and late["skipped"] == 100 - sim.max_catch_up_ticks
    assert sim.tick == 105 and sim.skipped_ticks == 70
    raw = KpiSample.objects.for_store(store).filter(resolution=Resolution.RAW)
    assert raw.count() == 6 * 35  # 6 links x (5 + 30) simulated ticks; the skipped 70 wrote nothing
    assert raw.values("link_id", "ts").distinct().count() == raw.count()


@pytest.mark.django_db
def test_paused_simulation_does_not_advance_or_catch_up(store):
    network_demo_seed(store)
    sim = simulation_control(store=store, paused=True)
    assert simulation_advance(store_id=store.pk, now=sim.last_advanced_at + timedelta(minutes=5))["status"] == "paused"
    sim = simulation_control(store=store, paused=False)
    result = simulation_advance(store_id=store.pk, now=sim.last_advanced_at + timedelta(seconds=3))
    assert result["ticks"] == 3 and result["skipped"] == 0


@pytest.mark.django_db
def test_minute_rollups_and_raw_retention(store):
    network_demo_seed(store)
    sim = simulation_for_store(store)
    sim.max_catch_up_ticks = 200
    sim.save()
    now = sim.last_advanced_at
    for _ in range(3):  # 3 x 150 s
        now += timedelta(seconds=150)
        simulation_advance(store_id=store.pk, now=now)
    minutes = KpiSample.objects.for_store(store).filter(resolution=Resolution.MINUTE)
    assert minutes.count() >= 6 * 6
    point = minutes.exclude(latency_p95_ms=None).first()
    assert point.samples <= 60 and point.latency_p95_ms >= point.latency_p50_ms
    # Pretend an hour of simulated time has passed: raw points older than an hour are deleted.
    from network.services.timeseries import kpi_apply_retention

    latest = KpiSample.objects.for_store(store).latest("ts").ts
    kpi_apply_retention(store=store, now=latest + timedelta(hours=1, seconds=30))
    assert not KpiSample.objects.for_store(store).filter(resolution=Resolution.RAW, ts__lt=latest - timedelta(seconds=30)).exists()
    assert minutes.exists()


@pytest.mark.django_db
def test_cell_outage_raises_an_incident_after_the_hysteresis_and_clears_after_recovery(store):
    network_demo_seed(store)
    sim = simulation_for_store(store)
    sim.alert_policy = {"raise_after": 3, "clear_after": 3}
    sim.save()
    now = sim.last_advanced_at
    # Every cell down: no link has service.
    injections = [injection_start(store=store, kind="cell_outage", cell=c) for c in Cell.objects.for_store(store)]
    for _ in range(2):  # alerts are evaluated once per step (one tick at 1 Hz)
        now += timedelta(seconds=1)
        simulation_advance(store_id=store.pk, now=now)
    assert not Incident.objects.for_store(store).filter(kind=IncidentKind.NO_SERVICE).exists()  # not yet: hysteresis
    now += timedelta(seconds=1)
    simulation_advance(store_id=store.pk, now=now)
    opened = Incident.objects.for_store(store).filter(kind=IncidentKind.NO_SERVICE, ended_at__isnull=True)
    assert opened.count() == 6
    for inj in injections:
        injection_stop(injection=inj)
    now += timedelta(seconds=90)  # availability over the last minute recovers
    sim.refresh_from_db()
    sim.max_catch_up_ticks = 100
    sim.save()
    for _ in range(3):
        now += timedelta(seconds=1)
        simulation_advance(store_id=store.pk, now=now)
    assert Incident.objects.for_store(store).filter(kind=IncidentKind.NO_SERVICE, ended_at__isnull=False).count() == 6


@pytest.fixture
async def close_thread_connections():
    yield
    await sync_to_async(connections.close_all, thread_sensitive=True)()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_kpis_are_pushed_over_the_store_websocket(close_thread_connections):
    store = await database_sync_to_async(StoreFactory)(slug="net-live")
    owner = await database_sync_to_async(lambda: MembershipFactory(store=store).user)()
    await database_sync_to_async(network_demo_seed)(store)
    sim = await database_sync_to_async(simulation_for_store)(store)

    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/stores/{store.slug}/live/")
    communicator.scope["user"] = owner
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from())["type"] == "hello"
    await database_sync_to_async(simulation_advance)(store_id=store.pk,
                                                     now=sim.last_advanced_at + timedelta(seconds=2))
    while True:
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] == "network.kpis":
            break
    assert message["tick"] == 2 and len(message["links"]) == 6 and len(message["cells"]) == 4
    first = message["links"][0]
    assert first["grade"] in {"excellent", "good", "fair", "poor", "no_service"} and "rsrp" in first["kpis"]
    await communicator.disconnect()


@pytest.mark.django_db
def test_beat_task_fans_out_and_the_store_task_advances(store, monkeypatch):
    from network import tasks

    network_demo_seed(store)
    sent = []
    monkeypatch.setattr(tasks.advance_store, "apply_async", lambda args, **kw: sent.append((args, kw)))
    assert tasks.advance_all() == 1
    assert sent == [([store.pk], {"queue": "simulation", "expires": 5})]
    sim = simulation_for_store(store)
    sim.last_advanced_at -= timedelta(seconds=3)
    sim.save()
    result = tasks.advance_store(store.pk)  # the task body, run in-process
    assert result["status"] == "advanced" and result["ticks"] == 3


def test_beat_schedule_has_the_simulation_entry(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["network-advance"]
    assert entry["task"] == "network.advance_all" and entry["options"]["queue"] == "simulation"
