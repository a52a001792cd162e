"""Signal receivers of the shared domain: thin doors into services (connected in EcomopsConfig.ready)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save
from rest_framework.authtoken.models import Token

from ecomops import fastpath
from ecomops.models import Membership, Store
from ecomops.services.members import membership_deleted, user_session_ended


def on_user_logged_out(sender, request, user, **kwargs) -> None:
    if user is None:
        return
    session = getattr(request, "session", None)
    user_session_ended(user_id=user.pk, session_key=getattr(session, "session_key", None))


def on_membership_deleted(sender, instance: Membership, **kwargs) -> None:
    # membership_remove revokes itself; this catches cascades (a user or a store deleted) and bulk deletes of
    # querysets. A second revoke for the same socket is harmless.
    membership_deleted(user_id=instance.user_id, store_id=instance.store_id)


def connect() -> None:
    user_logged_out.connect(on_user_logged_out, dispatch_uid="ecomops.revoke_sockets_on_logout")
    post_delete.connect(on_membership_deleted, sender=Membership, dispatch_uid="ecomops.revoke_sockets_on_membership_delete")
    # The fast path's remembered tokens and memberships (ecomops/fastpath.py) stop counting in every process.
    for model in (Token, get_user_model(), Membership, Store):
        for signal in (post_save, post_delete):
            signal.connect(fastpath.on_identity_changed, sender=model, dispatch_uid=f"ecomops.fastpath.{model.__name__}")
