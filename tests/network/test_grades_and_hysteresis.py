"""One score -> grade mapping behind the Links table, the map and the alerts; hysteresis shown on incidents."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from network.models import Cell, Incident, IncidentKind
from network.services.demo import network_demo_seed
from network.services.scenarios import injection_start, injection_stop
from network.services.simulation import simulation_advance, simulation_for_store
from network.sim.health import grade_for_score


def _advance(store, now, ticks):
    for _ in range(ticks):
        now += timedelta(seconds=1)
        simulation_advance(store_id=store.pk, now=now)
    return now


@pytest.mark.django_db
def test_table_map_and_alerts_show_the_grade_of_the_score(store, member_client):
    network_demo_seed(store)
    sim = simulation_for_store(store)
    sim.alert_policy = {"raise_after": 2, "clear_after": 2, "raise_below": 101.0, "clear_above": 101.0}
    sim.save()  # every link's score is < 101: a DEGRADED incident for each, naming its grade
    _advance(store, sim.last_advanced_at, 3)
    base = f"/stores/{store.slug}/network/"
    table = member_client.get(base)
    assert table.status_code == 200
    links = {lk.pk: lk for lk in table.context["links"] if lk.score is not None}
    assert links
    for link in links.values():
        assert link.grade == ("no_service" if link.grade == "no_service" else grade_for_score(link.score)), link.name
    page = member_client.get(base + "map/")
    sites = json.loads(page.context["map_json"])["sites"]
    shown = [s for s in sites if s["link_id"] in links]
    assert shown
    for s in shown:
        assert (s["grade"], s["score"]) == (links[s["link_id"]].grade, links[s["link_id"]].score)
    degraded = Incident.objects.for_store(store).filter(kind=IncidentKind.DEGRADED)
    assert degraded.exists()
    for incident in degraded:
        score = incident.details["score"]
        assert f"({grade_for_score(score)}," in incident.cause or "(no_service," in incident.cause


@pytest.mark.django_db
def test_incident_timeline_shows_raise_hold_and_clear_with_the_thresholds(store, member_client):
    network_demo_seed(store)
    sim = simulation_for_store(store)
    sim.alert_policy = {"raise_after": 3, "clear_after": 4}
    sim.save()
    injections = [injection_start(store=store, kind="cell_outage", cell=c) for c in Cell.objects.for_store(store)]
    now = _advance(store, sim.last_advanced_at, 3)
    incident = Incident.objects.for_store(store).filter(kind=IncidentKind.NO_SERVICE).first()
    assert incident is not None and incident.ended_at is None
    h = incident.details["hysteresis"]
    assert (h["raise_rule"], h["clear_rule"], h["raised_after"], h["clear_after"]) == (
        "availability < 50 %", "availability >= 90 %", 3, 4)
    page = member_client.get(f"/stores/{store.slug}/network/incidents/").content.decode()
    assert "raised after 3 ticks with availability &lt; 50 %" in page and "clears after 4 ticks" in page
    for inj in injections:
        injection_stop(injection=inj)
    sim.refresh_from_db()
    sim.max_catch_up_ticks = 100
    sim.save()
    now += timedelta(seconds=90)
    now = _advance(store, now, 3)
    incident.refresh_from_db()
    assert incident.ended_at is None  # 3 good ticks < clear_after = 4: held
    _advance(store, now, 1)
    incident.refresh_from_db()
    assert incident.ended_at is not None and incident.details["hysteresis"]["cleared_after"] == 4
    page = member_client.get(f"/stores/{store.slug}/network/incidents/").content.decode()
    assert "cleared after 4 ticks with availability &gt;= 90 %" in page
