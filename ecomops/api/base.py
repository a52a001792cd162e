"""Base classes every store-scoped API view uses (STYLE.md §2).

`StoreScopedMixin.initial()` resolves `<store_slug>` once, checks membership (foreign store = 404, the same as a
missing one) and the role (analysts are read-only: unsafe methods get 403). `get_queryset()` always starts
from `Model.objects.for_store(store)`, so a lookup of another store's object is a 404 as well.
Subclasses set `queryset_model` (or override `scoped_queryset`) and never touch the store resolution.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import generics, viewsets
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.metadata import SimpleMetadata
from rest_framework.permissions import SAFE_METHODS
from rest_framework.serializers import as_serializer_error

from ecomops.scoping import store_access_for
from ecomops.services.jobs import JobLimitReached


class TooManyJobs(APIException):
    status_code = 429
    default_code = "too_many_jobs"
    default_detail = "Too many jobs of this kind are queued or running."


class StoreScopedMetadata(SimpleMetadata):
    """OPTIONS for views with no input serializer (e.g. POST-only actions): the actions are simply not described,
    instead of DRF's AssertionError on `get_serializer()`."""

    def determine_actions(self, request, view):
        if getattr(view, "serializer_class", None) is None and "get_serializer_class" not in type(view).__dict__:
            return {}
        lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", None)
        if hasattr(view, "get_object") and lookup and lookup not in view.kwargs:
            # A view that finds its object by another URL kwarg (e.g. a sku): DRF's PUT description would call
            # get_object() and assert on the missing `pk`; describe POST only instead of answering 500.
            def no_object():
                raise Http404

            view.get_object = no_object
        return super().determine_actions(request, view)


class StoreScopedMixin:
    store_url_kwarg = "store_slug"
    queryset_model = None
    metadata_class = StoreScopedMetadata

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication, permissions, throttling
        try:
            self.access = store_access_for(request.user, self.kwargs[self.store_url_kwarg])
        except Http404:
            raise NotFound("No such store.") from None
        self.store = self.access.store
        if request.method not in SAFE_METHODS and not self.access.can_write:
            raise PermissionDenied("Your role in this store is read-only (analyst).")

    def scoped_queryset(self):
        return self.queryset_model.objects.for_store(self.store)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no store
            return self.queryset_model.objects.none()
        return self.scoped_queryset()

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["store"] = getattr(self, "store", None)
        return context

    def handle_exception(self, exc):
        # Services raise Django's ValidationError (they know nothing of HTTP); the API answers 400 with the
        # same field -> messages shape a serializer error has.
        if isinstance(exc, DjangoValidationError):
            exc = ValidationError(as_serializer_error(exc))
        elif isinstance(exc, JobLimitReached):  # a per-store cap on concurrent jobs of a kind
            exc = TooManyJobs(str(exc))
        return super().handle_exception(exc)


class StoreScopedViewSet(StoreScopedMixin, viewsets.GenericViewSet):
    pass


class StoreScopedModelViewSet(StoreScopedMixin, viewsets.ModelViewSet):
    pass


class StoreScopedAPIView(StoreScopedMixin, generics.GenericAPIView):
    pass


def validated_data(serializer_class, data) -> dict:
    """`serializer_class(data=data)` validated: its validated_data, or a ValidationError (a 400 with field errors)."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
