"""manage.py import_5g_traces <dir> --store <slug>: load Raca et al. 2020 CSVs as replay links.

Each file is parsed and validated completely before anything of it is written; a malformed file is reported
with its path and line and nothing of it is imported. The command exits non-zero if any file was rejected.
Re-importing a file updates its recording (idempotent, keyed by its path relative to <dir>).
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ecomops.models import Store
from network.services.traces import traces_import_files
from network.sim.traces import find_traces


class Command(BaseCommand):
    help = "Import 5G traces (Raca et al. 2020 CSV format) as replay links of a store."

    def add_arguments(self, parser):
        parser.add_argument("directory", help="a folder of trace CSVs (searched recursively) or one CSV file")
        parser.add_argument("--store", required=True, help="store slug")
        parser.add_argument("--limit", type=int, default=None, help="import at most this many files")

    def handle(self, *args, directory, store, limit, **options):
        root = Path(directory)
        if not root.exists():
            raise CommandError(f"{root} does not exist.")
        target = Store.objects.filter(slug=store).first()
        if target is None:
            raise CommandError(f"No store with slug {store!r}.")
        paths = [root] if root.is_file() else find_traces(root)
        if limit:
            paths = paths[:limit]
        if not paths:
            raise CommandError(f"No .csv files under {root}.")
        bar = tqdm(total=len(paths), unit="file", disable=options.get("verbosity", 1) == 0)
        result = traces_import_files(store=target, paths=paths, root=root if root.is_dir() else root.parent.parent,
                                     on_file=lambda _p: bar.update(1))
        bar.close()
        rows = sum(item["rows"] for item in result["imported"])
        self.stdout.write(f"Imported {len(result['imported'])} trace(s), {rows:,} samples, as replay links of "
                          f"{target.slug}.")
        for error in result["errors"]:
            self.stderr.write(f"REJECTED {error}")
        if result["errors"]:
            raise CommandError(f"{len(result['errors'])} file(s) rejected; nothing was imported from them.")
