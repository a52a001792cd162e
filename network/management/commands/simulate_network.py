"""manage.py simulate_network --store <slug> --ticks N: advance a store's simulation N ticks now (no worker)."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from ecomops.models import Store
from network.models import NetworkSimulation
from network.services.simulation import simulation_advance, simulation_for_store


class Command(BaseCommand):
    help = "Advance a store's network simulation by N ticks immediately (for demos and tests)."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True)
        parser.add_argument("--ticks", type=int, default=60)
        parser.add_argument("--batch", type=int, default=10, help="ticks per step (each step is one transaction)")

    def handle(self, *args, store, ticks, batch, **options):
        target = Store.objects.filter(slug=store).first()
        if target is None:
            raise CommandError(f"No store with slug {store!r}.")
        sim = simulation_for_store(target)
        if sim.paused:
            raise CommandError("The simulation is paused; resume it first.")
        done = 0
        bar = tqdm(total=ticks, unit="tick", disable=options.get("verbosity", 1) == 0)
        while done < ticks:
            step = min(batch, ticks - done)
            sim = NetworkSimulation.objects.get(pk=sim.pk)
            # Pretend `step` ticks of wall time have passed since the last advance.
            now = (sim.last_advanced_at or timezone.now()) + timedelta(seconds=step * sim.tick_seconds / sim.speed)
            result = simulation_advance(store_id=target.pk, now=now, max_ticks=step)
            if result.get("status") != "advanced":
                raise CommandError(f"Could not advance: {result}")
            done += result["ticks"]
            bar.update(result["ticks"])
        bar.close()
        sim.refresh_from_db()
        self.stdout.write(f"{target.slug}: now at tick {sim.tick}.")
