"""manage.py import_faq --store <slug> <file> [--replace] [--embed]: load FAQ entries from CSV or JSON."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ecomops.models import Store
from support.services.knowledge import ImportError_, faq_import, knowledge_embed_pending


class Command(BaseCommand):
    help = ("Import FAQ entries from a CSV (question,answer or Bitext instruction,response) or JSON "
            "({\"Questions\": [{question, answer}]} or a list). Validates every row first; writes in one transaction.")

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="Store slug")
        parser.add_argument("file")
        parser.add_argument("--replace", action="store_true", help="Delete the store's FAQ entries first")
        parser.add_argument("--embed", action="store_true", help="Embed now instead of queueing a job")

    def handle(self, *args, **opts):
        store = Store.objects.filter(slug=opts["store"]).first()
        if store is None:
            raise CommandError(f"No store with slug {opts['store']!r}.")
        path = Path(opts["file"])
        if not path.exists():
            raise CommandError(f"{path}: no such file.")
        try:
            result = faq_import(store=store, raw=path.read_bytes(), filename=path.name, replace=opts["replace"])
        except ImportError_ as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{store.slug}: {result['rows']} rows, {result['created']} created, {result['updated']} updated, "
            f"{result['unchanged']} unchanged."
        )
        if opts["embed"]:
            bar = tqdm(total=100, desc="embedding", unit="%")
            last = [0]

            def progress(pct, msg):
                bar.update(pct - last[0])
                last[0] = pct

            out = knowledge_embed_pending(store=store, progress=progress)
            bar.update(100 - last[0])
            bar.close()
            self.stdout.write(f"Embedded {out['embedded']} of {out['entries']} entries.")
        else:
            self.stdout.write("An embedding job was queued (run a worker, or pass --embed).")
