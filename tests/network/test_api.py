"""The network API: validation (400 with reasons), roles, tenancy, KPI series, incidents, scenarios, advisor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from network.models import Cell, Incident, IncidentKind, Link, ScenarioInjection
from network.services.demo import network_demo_seed
from network.services.simulation import simulation_advance, simulation_for_store

pytestmark = pytest.mark.django_db
BASE = "/api/v1/stores/{}/network/"


def url(store, path):
    return BASE.format(store.slug) + path


@pytest.mark.quick
def test_create_cell_and_reject_unknown_band_scenario_and_out_of_range_values(api_client, store):
    ok = api_client.post(url(store, "cells/"), {"name": "c1", "band": "n78", "x_m": 100, "y_m": 0}, format="json")
    assert ok.status_code == 201, ok.content
    assert ok.data["scenario"] == "UMa" and ok.data["height_m"] == 25.0
    bad_band = api_client.post(url(store, "cells/"), {"name": "c2", "band": "n999"}, format="json")
    assert bad_band.status_code == 400 and "band" in bad_band.data
    bad_scenario = api_client.post(url(store, "cells/"), {"name": "c3", "band": "n78", "scenario": "Mars"}, format="json")
    assert bad_scenario.status_code == 400 and "scenario" in bad_scenario.data
    far = api_client.post(url(store, "cells/"), {"name": "c4", "band": "n78", "x_m": 50_000}, format="json")
    assert far.status_code == 400 and "outside" in str(far.data["x_m"])
    tall = api_client.post(url(store, "cells/"), {"name": "c5", "band": "n78", "height_m": 120}, format="json")
    assert tall.status_code == 400 and "UMa base-station height" in str(tall.data["height_m"])
    bw = api_client.post(url(store, "cells/"), {"name": "c6", "band": "n257", "bandwidth_mhz": 30}, format="json")
    assert bw.status_code == 400 and "bandwidth_mhz" in bw.data
    assert Cell.objects.for_store(store).count() == 1


@pytest.mark.quick
def test_site_creates_a_link_and_far_sites_get_a_clamping_warning(api_client, store):
    api_client.post(url(store, "cells/"), {"name": "c1", "band": "n78"}, format="json")
    near = api_client.post(url(store, "sites/"), {"name": "shop", "x_m": 200, "y_m": 50}, format="json")
    assert near.status_code == 201 and len(near.data["link_ids"]) == 1 and near.data["warnings"] == []
    far = api_client.post(url(store, "sites/"), {"name": "farm", "x_m": 9000, "y_m": 0}, format="json")
    assert far.status_code == 201 and any("clamped" in w for w in far.data["warnings"])
    bad = api_client.post(url(store, "sites/"), {"name": "x", "mobility": "teleport"}, format="json")
    assert bad.status_code == 400 and "mobility" in bad.data
    high = api_client.post(url(store, "sites/"), {"name": "x", "height_m": 80}, format="json")
    assert high.status_code == 400 and "UT height" in str(high.data["height_m"])


@pytest.mark.quick
def test_analyst_is_read_only_and_other_stores_are_404(api_client, analyst_api_client, store, other_store):
    foreign = Cell.objects.create(store=other_store, name="theirs", band="n78")
    assert api_client.get(BASE.format(other_store.slug) + "cells/").status_code == 404
    assert api_client.get(url(store, f"cells/{foreign.pk}/")).status_code == 404
    assert api_client.delete(url(store, f"cells/{foreign.pk}/")).status_code == 404
    assert analyst_api_client.get(url(store, "cells/")).status_code == 200
    assert analyst_api_client.post(url(store, "cells/"), {"name": "a", "band": "n78"}, format="json").status_code == 403
    assert Cell.objects.filter(pk=foreign.pk).exists()


def seeded(store, ticks=40):
    network_demo_seed(store)
    sim = simulation_for_store(store)
    now = sim.last_advanced_at
    for _ in range(0, ticks, 20):
        now += timedelta(seconds=min(20, ticks))
        simulation_advance(store_id=store.pk, now=now)
    return sim


def test_links_kpi_series_incidents_scenarios_simulation_and_advisor(api_client, store, owner):
    seeded(store)
    links = api_client.get(url(store, "links/")).data["results"]
    assert len(links) == 6 and all(link["grade"] for link in links)
    link_id = links[0]["id"]
    series = api_client.get(url(store, f"links/{link_id}/kpis/?window=5m"))
    assert series.status_code == 200 and series.data["resolution"] == "s" and len(series.data["points"]) == 40
    assert api_client.get(url(store, f"links/{link_id}/kpis/?window=2y")).status_code == 400

    cell = Cell.objects.for_store(store).first()
    started = api_client.post(url(store, "scenarios/"), {"kind": "cell_outage", "cell": cell.pk}, format="json")
    assert started.status_code == 201, started.content
    assert api_client.post(url(store, "scenarios/"), {"kind": "meteor"}, format="json").status_code == 400
    assert api_client.post(url(store, "scenarios/"), {"kind": "load_surge"}, format="json").status_code == 400
    assert api_client.post(url(store, "scenarios/"), {"kind": "load_surge", "cell": 999999}, format="json").status_code == 400
    stopped = api_client.post(url(store, f"scenarios/{started.data['id']}/stop/"))
    assert stopped.status_code == 200 and stopped.data["stopped_at"]
    assert ScenarioInjection.objects.for_store(store).count() == 1

    link = Link.objects.for_store(store).get(pk=link_id)
    incident = Incident.objects.create(store=store, link=link, kind=IncidentKind.DEGRADED, cause="test",
                                       started_at=timezone.now())
    acked = api_client.post(url(store, f"incidents/{incident.pk}/ack/"))
    assert acked.status_code == 200 and acked.data["acknowledged_by"] == owner.username
    assert api_client.get(url(store, "incidents/?open=1")).data["count"] == 1

    paused = api_client.patch(url(store, "simulation/"), {"paused": True, "speed": 5}, format="json")
    assert paused.status_code == 200 and paused.data["paused"] is True and paused.data["speed"] == 5.0
    assert api_client.patch(url(store, "simulation/"), {"speed": 1000}, format="json").status_code == 400
    bad_thresholds = api_client.patch(url(store, "simulation/"), {"thresholds": {"rsrp": [-110, -100, -90, -80]}},
                                      format="json")
    assert bad_thresholds.status_code == 400 and "rsrp" in str(bad_thresholds.data)

    advice = api_client.get(url(store, "advisor/"))
    assert advice.status_code == 200
    served = [row for row in advice.data if row["available"]]
    assert served and {a["recommendation"] for row in served for a in row["advice"]} <= {"edge", "cloud"}
    assert all(a["margin_ms"] >= 0 for row in served for a in row["advice"])


def test_openapi_schema_lists_the_network_endpoints(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    paths = [p for p in schema["paths"] if "/network/" in p]
    for needle in ("cells", "sites", "links/{id}/kpis", "incidents/{id}/ack", "scenarios/{id}/stop", "advisor",
                   "simulation"):
        assert any(needle in p for p in paths), needle


def test_pages_render_for_members_and_hide_other_stores(member_client, store, other_store):
    seeded(store, ticks=5)
    for page in ("", "map/", "incidents/", "scenarios/", "topology/", "advisor/"):
        response = member_client.get(f"/stores/{store.slug}/network/{page}")
        assert response.status_code == 200, page
    assert member_client.get(f"/stores/{other_store.slug}/network/").status_code == 404
    foreign = Cell.objects.create(store=other_store, name="theirs", band="n78")
    assert member_client.get(f"/stores/{store.slug}/network/topology/cell/{foreign.pk}/").status_code == 404
