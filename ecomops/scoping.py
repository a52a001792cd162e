"""Store resolution and membership checks, shared by pages, the API and websockets (STYLE.md §2).

A store the user is not a member of is indistinguishable from a store that does not exist: both raise Http404.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404

from ecomops.models import Membership, Store

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class StoreAccess:
    store: Store
    membership: Membership

    @property
    def can_write(self) -> bool:
        return self.membership.can_write


def store_access_for(user, slug: str) -> StoreAccess:
    """The user's access to the store with this slug, or Http404 (same answer for missing and foreign)."""
    if user is None or not user.is_authenticated:
        raise Http404("No such store.")
    membership = (
        Membership.objects.select_related("store").filter(user=user, store__slug=slug).first()
    )
    if membership is None:
        raise Http404("No such store.")
    return StoreAccess(store=membership.store, membership=membership)


def stores_for_user(user):
    if user is None or not user.is_authenticated:
        return Store.objects.none()
    return Store.objects.filter(memberships__user=user).order_by("name")


class StoreViewMixin(LoginRequiredMixin):
    """For every page under /stores/<store_slug>/. Resolves the store once in dispatch(), which subclasses
    must not override; unsafe methods need a writer role."""

    store_url_kwarg = "store_slug"
    store: Store
    access: StoreAccess

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.access = store_access_for(request.user, kwargs[self.store_url_kwarg])
        self.store = self.access.store
        request.store = self.store
        request.store_access = self.access
        if request.method not in SAFE_METHODS and not self.access.can_write:
            raise PermissionDenied("Analysts have read-only access.")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["store"] = self.store
        context["store_access"] = self.access
        return context
