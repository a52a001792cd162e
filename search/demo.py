"""The demo store's search index: `seed_demo` queues the first build, so "earbuds black" works on a fresh `make run`
without a merchant pressing "Build the search index" first (the seed writes products in bulk, which sends no
per-product signal). Registered with seed_demo's extension hook (ecomops.services.demo_data.register_demo_seeder)."""

from __future__ import annotations

from ecomops.models import Store
from ecomops.services.demo_data import register_demo_seeder
from ecomops.services.jobs import JobLimitReached
from search.services import search_reindex_start


def demo_search_index_queue(store: Store, _rng=None) -> str:
    try:
        job = search_reindex_start(store=store)
    except JobLimitReached:
        return "a reindex is already queued"
    return f"queued reindex job {job.pk}"


register_demo_seeder(demo_search_index_queue, name="search.demo_index")
