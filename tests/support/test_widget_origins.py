"""Which sites may embed the chat widget: this site and the origins the merchant lists; others are refused."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from django.urls import reverse

from ecomops.asgi import application
from support.services import widget

pytestmark = pytest.mark.quick


def test_origins_are_validated_line_by_line_and_nothing_saved_on_error(store):
    saved = widget.widget_origins_set(store=store, text="https://shop.example.com/\n\nhttp://Shop.Example.com:8080\n")
    assert saved == ["https://shop.example.com", "http://shop.example.com:8080"]
    with pytest.raises(widget.OriginsInvalid, match="Line 2"):
        widget.widget_origins_set(store=store, text="https://ok.example.com\nhttps://bad.example.com/path\n")
    store.refresh_from_db()
    assert widget.widget_origins_get(store=store) == saved


def test_origin_check(store, settings):
    settings.ALLOWED_HOSTS = ["ops.example.com"]
    widget.widget_origins_set(store=store, text="https://shop.example.com")
    allowed = lambda o: widget.widget_origin_allowed(store=store, origin=o)  # noqa: E731
    assert allowed("https://shop.example.com")
    assert allowed("https://shop.example.com:443")
    assert allowed("https://ops.example.com")  # the dashboard's own pages (try-it page)
    assert allowed(None)  # not a browser
    assert not allowed("https://evil.example.com")
    assert not allowed("http://shop.example.com")  # another scheme is another origin
    assert not allowed("null")


def test_page_saves_origins_for_writers_and_shows_line_errors(member_client, store, analyst):
    url = reverse("support:try", kwargs={"store_slug": store.slug})
    bad = member_client.post(url, {"origins": "shop.example.com"})
    assert bad.status_code == 400 and "Line 1" in bad.content.decode()
    ok = member_client.post(url, {"origins": "https://shop.example.com"})
    assert ok.status_code == 302
    store.refresh_from_db()
    assert widget.widget_origins_get(store=store) == ["https://shop.example.com"]
    assert "https://shop.example.com" in member_client.get(url).content.decode()
    member_client.force_login(analyst)
    assert member_client.post(url, {"origins": ""}).status_code == 403
    store.refresh_from_db()
    assert widget.widget_origins_get(store=store) == ["https://shop.example.com"]


async def _connect(path: str, origin: bytes):
    communicator = WebsocketCommunicator(application, path, headers=[(b"origin", origin), (b"host", b"testserver")])
    connected, code = await communicator.connect(timeout=10)
    await communicator.disconnect()
    return connected, code


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_real_asgi_app_checks_the_widget_origin_per_store(store, settings):
    from asgiref.sync import sync_to_async

    settings.ALLOWED_HOSTS = ["testserver"]
    await sync_to_async(widget.widget_origins_set)(store=store, text="https://shop.example.com")
    path = f"/ws/support/{store.slug}/chat/"
    assert (await _connect(path, b"https://shop.example.com"))[0] is True
    assert await _connect(path, b"https://evil.example.com") == (False, 4403)
    # The dashboard's own socket still only accepts this site's hosts, whatever the store lists.
    assert (await _connect(f"/ws/stores/{store.slug}/live/", b"https://shop.example.com"))[0] is False
