"""ASGI entry point: HTTP through Django, websockets through Channels (session-authenticated)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomops.settings.local")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from ecomops.fastpath import FastPath  # noqa: E402
from ecomops.realtime import ChannelLayerGuard  # noqa: E402
from ecomops.routing import websocket_urlpatterns  # noqa: E402

# Public websockets (the embeddable chat widget, opened from the merchant's own site) check the browser's Origin
# against the store's own allow-list in their consumer; every other socket only accepts this site's hosts.
PUBLIC_WEBSOCKET_PREFIXES = ("/ws/support/",)


class OriginValidatorExceptPublic:
    def __init__(self, app):
        self.app = app
        self.validated = AllowedHostsOriginValidator(app)

    async def __call__(self, scope, receive, send):
        if scope["path"].startswith(PUBLIC_WEBSOCKET_PREFIXES):
            return await self.app(scope, receive, send)
        return await self.validated(scope, receive, send)


application = ProtocolTypeRouter(
    {
        # The hot GET endpoints' repeated requests answered from this process's memory (ecomops/fastpath.py).
        "http": FastPath(django_asgi_app),
        # Redis down: sockets close with 4503 "unavailable, try again" rather than a 500 handshake (ChannelLayerGuard).
        "websocket": ChannelLayerGuard(OriginValidatorExceptPublic(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))),
    }
)
