"""Bring a store's search index up to date (a Job on the `inference` queue), incrementally by content hash.

    manage.py reindex_search --store acme [--full] [--queue]
    manage.py reindex_search --all

By default the job runs in this process with a tqdm bar (the same job row, progress and websocket broadcasts a
worker would produce); --queue only enqueues it.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ecomops.models import Store
from ecomops.services.jobs import JobLimitReached, job_fail, job_start, job_succeed
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
        claimed = job_start(job_id=job.pk)
        if claimed is None:
            raise CommandError(f"Job {job.pk} was already taken by a worker; follow it on the dashboard.")
        bar = tqdm(total=100, desc=f"reindex {store.slug}", unit="%", disable=o["verbosity"] < 1)

        def listener(progress: int, message: str) -> None:
            bar.update(max(0, progress - bar.n))
            bar.set_postfix_str(message[-60:])

        try:
            result = search_reindex_job.job_fn(claimed, full=o["full"], listener=listener)
        except Exception as exc:  # noqa: BLE001 - the row gets the readable reason, the shell a non-zero exit
            job_fail(job=claimed, error=f"{exc.__class__.__name__}: {exc}")
            raise CommandError(f"Search reindex job {job.pk} failed: {exc}") from None
        finally:
            bar.close()
        job_succeed(job=claimed, result=result)
        self.stdout.write(
            f"{store.slug}: {result['products']:,} products; {result['documents_created']:,} new and "
            f"{result['documents_updated']:,} changed documents, {result['documents_unchanged']:,} unchanged; "
            f"{result['embedded']:,} embedded; index version {result['version']}.")
