"""manage.py import_orders FILE --store SLUG [--preset cdnow] [--create-missing] [--map COL=FIELD ...]"""

from ecomops.models import Customer, Order, OrderLine, Product
from ecomops.services.ingest import ORDER_FIELDS, orders_upsert

from ._ingest import ImportCommand


class Command(ImportCommand):
    help = (
        "Import orders (upsert by number; rows sharing a number are one order's lines, which are replaced) "
        "from CSV/TSV/JSONL or whitespace-separated text; all-or-nothing unless --skip-invalid."
    )
    kind = "orders"
    noun = "order"
    analyse_models = (Order, OrderLine, Customer, Product)
    fields = ORDER_FIELDS
    supports_create_missing = True
    field_help = (
        "number, customer (external id), placed_at (ISO 8601 with a time zone) are required; status "
        "(default paid), currency, subtotal, shipping, tax, total (derived from the lines when absent), "
        "shipping_address; line fields: sku, quantity (default 1), unit_price and/or line_total."
    )

    def run_import(self, *, store, path, spec, options):
        return self.run_service(
            orders_upsert, store=store, path=path, spec=spec, options=options, create_missing=options["create_missing"]
        )
