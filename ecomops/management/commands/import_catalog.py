"""manage.py import_catalog FILE --store SLUG [--preset myntra|amazon-grocery] [--map COL=FIELD ...]"""

from ecomops.models import Product
from ecomops.services.ingest import PRODUCT_FIELDS, products_upsert

from ._ingest import ImportCommand


class Command(ImportCommand):
    help = "Import products (upsert by sku) from CSV/TSV/JSONL; all-or-nothing unless --skip-invalid."
    kind = "catalog"
    noun = "product"
    analyse_models = (Product,)
    fields = PRODUCT_FIELDS
    field_help = (
        "sku (required), title (required for new products; defaults to the sku), brand, category, price, "
        "currency (default: the store's), description, status (draft/active/archived), stock, attributes "
        "(JSON object) or attributes.<key> columns."
    )

    def run_import(self, *, store, path, spec, options):
        return self.run_service(products_upsert, store=store, path=path, spec=spec, options=options)
