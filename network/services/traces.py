"""Importing real traces as replay links (all-or-nothing per file)."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction
from django.utils import timezone

from ecomops.models import Store
from network.models import Endpoint, Link, LinkKind, NetworkSimulation, TraceRecording
from network.sim.traces import Trace, parse_trace

REPLAY_COLUMNS = ("rsrp", "rsrq", "snr", "cqi", "dl_kbps", "ping_ms", "ping_loss", "speed_kmh", "cell")


def trace_name(trace: Trace, root: Path | None) -> str:
    path = Path(trace.path)
    try:
        rel = path.relative_to(root) if root else path.name
    except ValueError:
        rel = path.name
    return str(rel)[:200]


def trace_import(*, store: Store, trace: Trace, root: Path | None = None) -> tuple[TraceRecording, bool]:
    """Store a parsed trace and its replay link; re-importing the same file updates it (idempotent)."""
    name = trace_name(trace, root)
    samples = {key: trace.columns[key] for key in REPLAY_COLUMNS}
    samples["network_mode"] = trace.network_mode
    started = timezone.make_aware(trace.started_at) if trace.started_at else None
    with transaction.atomic():
        recording, created = TraceRecording.objects.update_or_create(
            store=store, name=name,
            defaults={"source_path": trace.path[:500], "scenario": trace.scenario, "application": trace.application,
                      "n_samples": len(trace), "started_at": started, "samples": samples},
        )
        Link.objects.get_or_create(
            store=store, name=f"Replay: {name}"[:120],
            defaults={"kind": LinkKind.REPLAY, "trace": recording, "endpoint": Endpoint.CLOUD},
        )
        from django.db.models import F

        NetworkSimulation.objects.for_store(store).update(topology_version=F("topology_version") + 1)
    return recording, created


def traces_import_files(*, store: Store, paths: list[Path], root: Path | None = None, on_file=None) -> dict:
    """Parse every file first; a malformed file is reported (file, line) and nothing of it is imported."""
    imported, errors = [], []
    for path in paths:
        try:
            trace = parse_trace(path)
        except ValueError as exc:
            errors.append(str(exc))
        else:
            recording, created = trace_import(store=store, trace=trace, root=root)
            imported.append({"name": recording.name, "rows": recording.n_samples, "created": created})
        if on_file:
            on_file(path)
    return {"imported": imported, "errors": errors}
