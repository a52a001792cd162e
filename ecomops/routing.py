"""Websocket URL routes. Each app adds its own consumers here."""

from django.urls import path

from ecomops.consumers import StoreLiveConsumer
from support.consumers import WidgetChatConsumer

websocket_urlpatterns = [
    path("ws/stores/<slug:store_slug>/live/", StoreLiveConsumer.as_asgi()),
    path("ws/support/<slug:store_slug>/chat/", WidgetChatConsumer.as_asgi()),
]
