"""Store memberships: grant, change the role, remove. Every change that narrows or alters a member's rights
closes that member's open sockets to the store after commit (ecomops.realtime.user_sockets_revoke), so a removed
member stops receiving the store's live messages at once and a changed one reconnects with the new role."""

from __future__ import annotations

from django.db import transaction

from ecomops.models import Membership, Role, Store
from ecomops.realtime import CLOSE_ACCESS_CHANGED, CLOSE_FORBIDDEN, CLOSE_SESSION_ENDED, user_sockets_revoke


class MembershipInvalid(ValueError):
    pass


def _role(role: str) -> str:
    if role not in Role.values:
        raise MembershipInvalid(f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.")
    return role


def membership_grant(*, store: Store, user, role: str) -> Membership:
    """Add the user to the store with `role`, or change the role of an existing membership."""
    role = _role(role)
    with transaction.atomic():
        membership = Membership.objects.select_for_update().filter(store=store, user=user).first()
        if membership is None:
            return Membership.objects.create(store=store, user=user, role=role)
    return membership_role_change(membership=membership, role=role)


def membership_role_change(*, membership: Membership, role: str) -> Membership:
    role = _role(role)
    with transaction.atomic():
        previous = Membership.objects.select_for_update().values_list("role", flat=True).get(pk=membership.pk)
        membership.role = role
        membership.save(update_fields=["role"])
        if previous != role:
            user_sockets_revoke(membership.user_id, store_id=membership.store_id, code=CLOSE_ACCESS_CHANGED,
                                reason=f"Your role in this store changed to {membership.get_role_display()}.")
    return membership


def membership_remove(*, membership: Membership) -> None:
    with transaction.atomic():
        user_id, store_id = membership.user_id, membership.store_id
        membership.delete()
        user_sockets_revoke(user_id, store_id=store_id, code=CLOSE_FORBIDDEN,
                            reason="You are no longer a member of this store.")


def membership_deleted(*, user_id: int, store_id: int) -> None:
    """A membership row went away without membership_remove (a deleted user or store cascades): revoke anyway."""
    user_sockets_revoke(user_id, store_id=store_id, code=CLOSE_FORBIDDEN,
                        reason="You are no longer a member of this store.")


def user_session_ended(*, user_id: int, session_key: str | None) -> None:
    """Logout: close the sockets opened with that session (the user's other sessions stay signed in)."""
    user_sockets_revoke(user_id, session_key=session_key or None, code=CLOSE_SESSION_ENDED,
                        reason="You were logged out.")
