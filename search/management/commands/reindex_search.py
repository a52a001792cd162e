"""Bring a store's search index up to date (a Job on the `inference` queue), incrementally by content hash.

    manage.py reindex_search --store acme [--full] [--queue]
    manage.py reindex_search --all

By default the job runs in this process with a tqdm bar (the same job row, progress and websocket broadcasts a
worker would produce); --queue only enqueues it.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ecomops.management.job_cli import job_run_here
from ecomops.models import Store
from ecomops.services.jobs import JobLimitReached
from search.services import search_reindex_start
from search.tasks import search_reindex_job


class Command(BaseCommand):
    help = "Index a store's catalogue for search: text, typo index and MiniLM vectors of new or changed products."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--store", help="Store slug")
        target.add_argument("--all", action="store_true", help="Every store")
        parser.add_argument("--full", action="store_true", help="Re-embed every product, not only changed ones")
        parser.add_argument("--queue", action="store_true", help="Enqueue for an inference worker and return")

    def handle(self, *args, **o):
        if o["all"]:
            stores = list(Store.objects.order_by("pk"))
        else:
            stores = list(Store.objects.filter(slug=o["store"]))
            if not stores:
                raise CommandError(f"No store with slug {o['store']!r}.")
        for store in stores:
            self._one(store, o)

    def _one(self, store: Store, o) -> None:
        try:
            job = search_reindex_start(store=store, full=o["full"])
        except JobLimitReached as exc:
            raise CommandError(f"{store.slug}: {exc}") from None
        if o["queue"]:
            self.stdout.write(f"{store.slug}: queued search reindex job {job.pk} on the 'inference' queue.")
            return
        result = job_run_here(job, search_reindex_job.job_fn, {"full": o["full"]}, desc=f"reindex {store.slug}", label="Search reindex job",
                              quiet=o["verbosity"] < 1)
        self.stdout.write(
            f"{store.slug}: {result['products']:,} products; {result['documents_created']:,} new and "
            f"{result['documents_updated']:,} changed documents, {result['documents_unchanged']:,} unchanged; "
            f"{result['embedded']:,} embedded; index version {result['version']}.")
