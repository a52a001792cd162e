"""Who the client is, as far as limits are concerned: the address the trusted proxies saw.

One setting, `NUM_PROXIES` (env, default 0), says how many reverse proxies stand in front of the app server and
append to `X-Forwarded-For`. With 0 the header is client-chosen and ignored: the peer address is the client. With
N > 0 the N-th entry from the right is the client (each trusted proxy appended one entry; anything further left
was written by the client and is not believed). This is DRF's NUM_PROXIES rule, and the same function feeds
DRF's throttles (REST_FRAMEWORK["NUM_PROXIES"]), the login lockout (AXES_CLIENT_IP_CALLABLE) and the chat
widget's per-client limits (from the ASGI scope), so the three can never disagree.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

from django.conf import settings

UNKNOWN = "unknown"


def _valid(address: str | None) -> str | None:
    address = (address or "").strip()
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:  # a port, a name or garbage: not an address we can key on
        return None


def _pick(forwarded_for: str | None, peer: str | None, num_proxies: int) -> str | None:
    peer = _valid(peer)
    if num_proxies <= 0 or not forwarded_for:
        return peer
    addresses = [part.strip() for part in forwarded_for.split(",")]
    # An entry our own proxy wrote cannot be garbage; if it is, the proxy count is misconfigured: use the peer.
    return _valid(addresses[-min(num_proxies, len(addresses))]) or peer


def num_proxies() -> int:
    return int(getattr(settings, "NUM_PROXIES", 0) or 0)


def client_ip_from_meta(meta: Mapping[str, str]) -> str | None:
    return _pick(meta.get("HTTP_X_FORWARDED_FOR"), meta.get("REMOTE_ADDR"), num_proxies())


def client_ip_for_request(request) -> str | None:
    """A Django HttpRequest or a DRF Request (both have META); None when there is no address (a test's fake
    request). Used by django-axes, which stores it in an IP address field."""
    return client_ip_from_meta(request.META)


def client_ip_from_scope(scope: Mapping) -> str:
    """The same rule for an ASGI scope (websockets): the peer is scope["client"], the header comes raw."""
    headers: Iterable[tuple[bytes, bytes]] = scope.get("headers") or []
    # Several X-Forwarded-For headers are joined in order, as a proxy would have folded them.
    forwarded = ", ".join(value.decode("latin-1") for name, value in headers if name.lower() == b"x-forwarded-for")
    client = scope.get("client") or (None, None)
    return _pick(forwarded or None, client[0] if client else None, num_proxies()) or UNKNOWN
