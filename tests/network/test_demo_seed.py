"""The demo topology seeder: registered with seed_demo's hook, idempotent, every site in coverage."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.core.management import call_command

from ecomops.services.demo_data import demo_seeders
from network.models import Cell, Link, Site
from network.services.demo import network_demo_seed
from network.services.simulation import simulation_advance, simulation_for_store

pytestmark = pytest.mark.django_db


def test_seeder_is_registered_idempotent_and_every_site_has_service(store):
    assert demo_seeders()["network.demo_topology"] is network_demo_seed
    network_demo_seed(store, random.Random(1))
    call_command("seed_network", "--store", store.slug, verbosity=0)  # the command runs the same seeder again
    assert Cell.objects.for_store(store).count() == 4 and Site.objects.for_store(store).count() == 6
    assert Link.objects.for_store(store).count() == 6
    sim = simulation_for_store(store)
    now = sim.last_advanced_at
    for _ in range(2):
        now += timedelta(seconds=15)
        simulation_advance(store_id=store.pk, now=now)
    for link in Link.objects.for_store(store):
        assert link.last_kpis["availability"] > 0.9, (link.name, link.last_kpis)
