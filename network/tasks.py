"""Celery tasks of the network app: thin doors into services (STYLE.md §3).

Celery beat runs `network.advance_all` every second on the `simulation` queue; it fans out one
`network.advance_store` per store. Each is idempotent (row lock with SKIP LOCKED, tick accounting from the
wall clock), expires quickly so a backlog is dropped rather than replayed, and never runs in the web process.
"""

from __future__ import annotations

from celery import shared_task

from network.models import NetworkSimulation


@shared_task(name="network.advance_all", time_limit=30, soft_time_limit=25, ignore_result=True)
def advance_all() -> int:
    store_ids = list(NetworkSimulation.objects.filter(paused=False).values_list("store_id", flat=True))
    for store_id in store_ids:
        advance_store.apply_async(args=[store_id], queue="simulation", expires=5)
    return len(store_ids)


@shared_task(name="network.advance_store", time_limit=60, soft_time_limit=50, ignore_result=True)
def advance_store(store_id: int) -> dict:
    from network.services.simulation import simulation_advance

    return simulation_advance(store_id=store_id)
