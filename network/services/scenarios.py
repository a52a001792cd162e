"""Fault / scenario injections: start and stop, every one recorded with who and when."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ecomops.models import Store
from ecomops.realtime import store_broadcast
from network.models import Cell, InjectionKind, ScenarioInjection, Site
from network.services.simulation import simulation_for_store

CELL_KINDS = {InjectionKind.LOAD_SURGE, InjectionKind.INTERFERENCE, InjectionKind.CELL_OUTAGE}
SITE_KINDS = {InjectionKind.OUT_OF_COVERAGE}
MAGNITUDE_RANGES = {
    InjectionKind.LOAD_SURGE: (0.0, 1.0, "added load fraction"),
    InjectionKind.INTERFERENCE: (0.0, 60.0, "interference rise over thermal, dB"),
    InjectionKind.CELL_OUTAGE: (0.0, 0.0, "unused"),
    InjectionKind.BACKHAUL: (0.0, 2000.0, "added latency, ms"),
    InjectionKind.RAIN_FADE: (0.0, 200.0, "rain rate, mm/h"),
    InjectionKind.OUT_OF_COVERAGE: (0.0, 20000.0, "distance moved away, m"),
}
DEFAULT_MAGNITUDE = {InjectionKind.LOAD_SURGE: 0.5, InjectionKind.INTERFERENCE: 30.0, InjectionKind.BACKHAUL: 60.0,
                     InjectionKind.RAIN_FADE: 50.0, InjectionKind.OUT_OF_COVERAGE: 8000.0, InjectionKind.CELL_OUTAGE: 0.0}


def injection_payload(inj: ScenarioInjection) -> dict:
    return {"id": inj.pk, "kind": inj.kind, "kind_label": inj.get_kind_display(), "cell_id": inj.cell_id,
            "site_id": inj.site_id, "magnitude": inj.magnitude, "loss_pct": inj.loss_pct, "note": inj.note,
            "started_at": inj.started_at.isoformat(), "stopped_at": inj.stopped_at.isoformat() if inj.stopped_at else None}


def injection_start(*, store: Store, kind: str, cell: Cell | None = None, site: Site | None = None,
                    magnitude: float | None = None, loss_pct: float = 0.0, note: str = "", user=None) -> ScenarioInjection:
    errors: dict[str, list[str]] = {}
    if kind not in InjectionKind.values:
        errors["kind"] = [f"Unknown scenario {kind!r}; choose one of {', '.join(InjectionKind.values)}."]
    else:
        if kind in CELL_KINDS and cell is None:
            errors["cell"] = ["This scenario needs a cell."]
        if kind in SITE_KINDS and site is None:
            errors["site"] = ["This scenario needs a site."]
        if cell is not None and cell.store_id != store.pk:
            errors["cell"] = ["No such cell."]
        if site is not None and site.store_id != store.pk:
            errors["site"] = ["No such site."]
        magnitude = DEFAULT_MAGNITUDE[kind] if magnitude is None else float(magnitude)
        lo, hi, meaning = MAGNITUDE_RANGES[kind]
        if kind != InjectionKind.CELL_OUTAGE and not lo <= magnitude <= hi:
            errors["magnitude"] = [f"{magnitude:g} is outside {lo:g}..{hi:g} ({meaning})."]
        if not 0.0 <= float(loss_pct or 0.0) <= 100.0:
            errors["loss_pct"] = ["Loss must be between 0 and 100 %."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        sim = simulation_for_store(store)
        inj = ScenarioInjection.objects.create(
            store=store, kind=kind, cell=cell, site=site, magnitude=magnitude, loss_pct=loss_pct or 0.0,
            note=note[:200], started_at=timezone.now(), started_tick=sim.tick, created_by=user,
        )
        store_broadcast(store.pk, "network.scenario", {"event": "started", "injection": injection_payload(inj)})
    return inj


def injection_stop(*, injection: ScenarioInjection) -> ScenarioInjection:
    with transaction.atomic():
        inj = ScenarioInjection.objects.select_for_update().get(pk=injection.pk)
        if inj.stopped_at is None:
            inj.stopped_at = timezone.now()
            inj.save(update_fields=["stopped_at"])
            store_broadcast(inj.store_id, "network.scenario", {"event": "stopped", "injection": injection_payload(inj)})
    return inj
