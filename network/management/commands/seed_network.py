"""manage.py seed_network --store <slug>: the demo 5G topology for any store (seed_demo does this for the demo
store through its seeder hook)."""

from __future__ import annotations

import random

from django.core.management.base import BaseCommand, CommandError

from ecomops.models import Store
from network.services.demo import network_demo_seed


class Command(BaseCommand):
    help = "Create the demo network topology (cells, sites, links) for a store."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True)
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, store, seed, **options):
        target = Store.objects.filter(slug=store).first()
        if target is None:
            raise CommandError(f"No store with slug {store!r}.")
        created = network_demo_seed(target, random.Random(seed))
        self.stdout.write(f"{target.slug}: {created['cells']} cell(s) and {created['sites']} site(s) created.")
