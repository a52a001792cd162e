"""Alerts with hysteresis -> incidents (open, close, acknowledge), broadcast as `network.alert`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from ecomops.realtime import store_broadcast
from network.models import Incident, IncidentKind, Link, NetworkSimulation
from network.sim.health import DEFAULT_ALERTS, HysteresisState, hysteresis_step


def incident_payload(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.pk, "kind": incident.kind, "kind_label": incident.get_kind_display(),
        "severity": incident.severity, "cause": incident.cause,
        "link_id": incident.link_id, "link": incident.link.name if incident.link_id else None,
        "site_id": incident.site_id,
        "started_at": incident.started_at.isoformat(),
        "ended_at": incident.ended_at.isoformat() if incident.ended_at else None,
        "acknowledged_at": incident.acknowledged_at.isoformat() if incident.acknowledged_at else None,
        "acknowledged_by": incident.acknowledged_by.get_username() if incident.acknowledged_by_id else None,
        "hysteresis": hysteresis_summary(incident),
    }


def _conditions(entry: dict, link: Link, policy: dict) -> dict[str, tuple[bool, bool, str, str, str, str]]:
    """Per alert kind: (is_bad, is_good, cause, severity, raise rule, clear rule). Good/bad use different
    thresholds (a dead band), spelled out in the two rules (shown in the incident timeline)."""
    kpis = entry["kpis"]
    out = {}
    avail = kpis.get("availability")
    if avail is not None:
        out[IncidentKind.NO_SERVICE] = (avail < 0.5, avail >= 0.9, f"availability {avail:.0%} over the last minute",
                                        "critical", "availability < 50 %", "availability >= 90 %")
    score = entry["score"]
    out[IncidentKind.DEGRADED] = (
        score < policy["raise_below"], score >= policy["clear_above"],
        f"health score {score:.0f} ({entry['grade']}, worst KPI: {entry['worst_kpi']})", "warning",
        f"score < {policy['raise_below']:g}", f"score >= {policy['clear_above']:g}",
    )
    site = link.site
    if site is not None and site.sla_latency_p95_ms:
        p95 = kpis.get("latency_p95_ms")
        limit = site.sla_latency_p95_ms
        bad = p95 is None or p95 > limit
        out[IncidentKind.SLA_LATENCY] = (bad, p95 is not None and p95 <= 0.9 * limit,
                                         f"latency p95 {p95 if p95 is not None else '—'} ms > SLA {limit:g} ms", "critical",
                                         f"latency p95 > {limit:g} ms", f"latency p95 <= {0.9 * limit:g} ms")
    if site is not None and site.sla_throughput_mbps:
        thr = kpis.get("throughput_mbps") or 0.0
        limit = site.sla_throughput_mbps
        out[IncidentKind.SLA_THROUGHPUT] = (thr < limit, thr >= 1.1 * limit,
                                            f"throughput {thr:.1f} Mbit/s < SLA {limit:g} Mbit/s", "warning",
                                            f"throughput < {limit:g} Mbit/s", f"throughput >= {1.1 * limit:g} Mbit/s")
    return out


def hysteresis_summary(incident: Incident, now: datetime | None = None) -> dict[str, Any] | None:
    """What the timeline shows of an incident's hysteresis: raised after N ticks past the raise threshold,
    held for how long (until it cleared, or until `now`: the simulation's last step), cleared after M ticks past
    the clear threshold."""
    h = (incident.details or {}).get("hysteresis")
    if not h:
        return None
    end = incident.ended_at
    held_s = max(((end or now or timezone.now()) - incident.started_at).total_seconds(), 0.0)
    return {**h, "held_s": round(held_s), "state": "cleared" if end else "held"}


def alerts_evaluate(*, sim: NetworkSimulation, links: list[Link], snapshot: list[dict], now: datetime) -> int:
    """Advance every link's alert hysteresis one step; open/close incidents on state changes."""
    policy = {**DEFAULT_ALERTS, **(sim.alert_policy or {})}
    events = 0
    open_incidents = {
        (i.link_id, i.kind): i
        for i in Incident.objects.for_store(sim.store).filter(ended_at__isnull=True).select_related("link")
    }
    all_states = dict(sim.alert_states or {})
    for link, entry in zip(links, snapshot, strict=True):
        states = dict(all_states.get(str(link.pk)) or {})
        for kind, (is_bad, is_good, cause, severity, raise_rule, clear_rule) in _conditions(entry, link, policy).items():
            state = HysteresisState.from_dict(states.get(kind))
            new_state, event = hysteresis_step(state, is_bad=is_bad, is_good=is_good,
                                               raise_after=int(policy["raise_after"]),
                                               clear_after=int(policy["clear_after"]))
            states[kind] = new_state.as_dict()
            if event == "raise" and (link.pk, kind) not in open_incidents:
                incident = Incident.objects.create(
                    store=sim.store, link=link, site=link.site, kind=kind, severity=severity, cause=cause[:300],
                    details={"kpis": entry["kpis"], "score": entry["score"], "hysteresis": {
                        "raise_rule": raise_rule, "clear_rule": clear_rule,
                        "raise_after": int(policy["raise_after"]), "clear_after": int(policy["clear_after"]),
                        "raised_after": new_state.bad_streak}}, started_at=now,
                )
                incident.link = link
                open_incidents[(link.pk, kind)] = incident
                store_broadcast(sim.store_id, "network.alert", {"event": "raised", "incident": incident_payload(incident)})
                events += 1
            elif event == "clear" and (link.pk, kind) in open_incidents:
                incident = open_incidents.pop((link.pk, kind))
                incident.ended_at = now
                details = dict(incident.details or {})
                details["hysteresis"] = {**details.get("hysteresis", {"raise_rule": raise_rule, "clear_rule": clear_rule}),
                                         "cleared_after": new_state.good_streak}
                incident.details = details
                incident.save(update_fields=["ended_at", "details"])
                store_broadcast(sim.store_id, "network.alert", {"event": "cleared", "incident": incident_payload(incident)})
                events += 1
        all_states[str(link.pk)] = states
    sim.alert_states = all_states
    return events


def incident_acknowledge(*, incident: Incident, user) -> Incident:
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.acknowledged_at is None:
            incident.acknowledged_at = timezone.now()
            incident.acknowledged_by = user
            incident.save(update_fields=["acknowledged_at", "acknowledged_by"])
            store_broadcast(incident.store_id, "network.alert", {"event": "acknowledged",
                                                                 "incident": incident_payload(incident)})
    return incident
