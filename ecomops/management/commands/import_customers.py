"""manage.py import_customers FILE --store SLUG [--map COL=FIELD ...]"""

from ecomops.models import Customer
from ecomops.services.ingest import CUSTOMER_FIELDS, customers_upsert

from ._ingest import ImportCommand


class Command(ImportCommand):
    help = "Import customers (upsert by external_id) from CSV/TSV/JSONL; all-or-nothing unless --skip-invalid."
    kind = "customers"
    noun = "customer"
    analyse_models = (Customer,)
    fields = CUSTOMER_FIELDS
    field_help = (
        "external_id (required), email, name, country (ISO alpha-2), created_at (ISO 8601 with a time zone; "
        "default: now for new customers)."
    )

    def run_import(self, *, store, path, spec, options):
        return self.run_service(customers_upsert, store=store, path=path, spec=spec, options=options)
