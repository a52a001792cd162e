"""manage.py import_events FILE --store SLUG [--preset amazon-grocery|rees46|taobao|otto|tianchi] [--create-missing]"""

from itertools import islice

from django.db import transaction

from ecomops.models import Customer, Event, Product
from ecomops.services.ingest import EVENT_FIELDS, EventImporter, ingest_committed_notify
from ecomops.services.ingest.files import sessionize

from ._ingest import ImportCommand, _Rollback

CHUNK_ROWS = 10_000


class Command(ImportCommand):
    help = (
        "Import behaviour events from CSV/TSV/JSONL, streaming in chunks inside one transaction (COPY on "
        "PostgreSQL). Re-running a file is idempotent: each event gets a deterministic key (customer or "
        "session, type, product, time, repeat count) and keys already in the store are skipped."
    )
    kind = "events"
    noun = "event"
    analyse_models = (Event, Customer, Product)
    fields = EVENT_FIELDS
    supports_create_missing = True
    field_help = (
        "type (view/add_to_cart/remove_from_cart/checkout/purchase/search), occurred_at (ISO 8601 with a time "
        "zone, or see --time-format), customer (external id) and/or session_id (one is required), product (sku), "
        "properties (JSON object) or properties.<key> columns. --type-map FILE_VALUE=TYPE translates types, "
        "--skip-type drops some, --sessionize MINUTES derives session_id per customer from inactivity gaps."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--type-map", action="append", metavar="VALUE=TYPE", help="Translate an event type")
        parser.add_argument("--skip-type", action="append", metavar="VALUE", help="Event type values not imported")
        parser.add_argument("--sessionize", type=int, metavar="MINUTES", help="Derive missing session ids")

    def build_spec(self, options):
        from ._ingest import _pairs

        spec = super().build_spec(options)
        spec.type_map.update(_pairs(options.get("type_map"), "--type-map"))
        spec.skip_types = set(spec.skip_types) | set(options.get("skip_type") or [])
        if options.get("sessionize"):
            spec.sessionize_minutes = options["sessionize"]
        return spec

    def raw_keep(self, line, record):
        self.chunk_raw[line] = record

    def run_import(self, *, store, path, spec, options):
        self.errors = []
        self.skipped = 0
        self.chunk_raw = {}
        skip_invalid = options["skip_invalid"]
        rows = self.canonical_rows(path, spec)
        materialised = bool(spec.sessionize_minutes)
        if materialised:  # sessions need each customer's whole history: read everything first
            rows = list(rows)
            sessionize(rows, spec.sessionize_minutes)
            rows = iter(rows)
        received = 0
        with transaction.atomic():
            importer = EventImporter(store=store, create_missing=options["create_missing"])
            while chunk := list(islice(rows, CHUNK_ROWS)):
                received += len(chunk)
                drafts, errors = importer.validate(chunk)
                drafts, ref_errors = importer.resolve(drafts)
                errors += ref_errors
                for error in errors:
                    self.raw[error.row] = self.chunk_raw.get(error.row)
                self.errors.extend(errors)
                if skip_invalid or not self.errors:
                    importer.write(drafts)
                if not materialised:
                    self.chunk_raw.clear()
            if self.errors and not skip_invalid:
                raise _Rollback
            if importer.result.created:
                ingest_committed_notify(store.pk)
        result = importer.result
        result.received = received + len({e.row for e in self.errors})
        result.rejected = sorted(self.errors, key=lambda e: e.row)
        return result
