"""The one entry point for store-owned data (STYLE.md §2).

Every store-owned model uses `StoreScopedManager` as `objects`. `Model.objects.for_store(store)` is how code
reads; `Model.objects.all()` still exists for the admin and migrations, but selectors never call it.
"""

from __future__ import annotations

from django.db import models


class StoreScopedQuerySet(models.QuerySet):
    def for_store(self, store) -> StoreScopedQuerySet:
        if store is None:
            return self.none()
        store_id = store if isinstance(store, int) else store.pk
        if store_id is None:
            return self.none()
        return self.filter(store_id=store_id)


class StoreScopedManager(models.Manager.from_queryset(StoreScopedQuerySet)):
    pass


class StoreOwned(models.Model):
    """Abstract base: a row that belongs to exactly one store."""

    store = models.ForeignKey("ecomops.Store", on_delete=models.CASCADE, related_name="+")

    objects = StoreScopedManager()

    class Meta:
        abstract = True
