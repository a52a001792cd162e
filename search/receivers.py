"""Catalogue signals: a saved or deleted product queues an incremental reindex after its transaction commits.
Bulk imports (which send no per-row signal) reach search through the ingest hook (settings.ECOMOPS_INGEST_HOOKS)."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from ecomops.models import Product


def on_product_changed(sender, instance: Product, **kwargs) -> None:
    from search.services import catalog_changed

    store_id = instance.store_id
    transaction.on_commit(lambda: catalog_changed(store_id))


def on_catalog_ingested(store_id: int) -> None:
    from search.services import catalog_changed

    catalog_changed(store_id)


def connect() -> None:
    post_save.connect(on_product_changed, sender=Product, dispatch_uid="search.reindex_on_product_save")
    post_delete.connect(on_product_changed, sender=Product, dispatch_uid="search.reindex_on_product_delete")
