"""Every upload is capped in size (settings.UPLOAD_MAX_BYTES, read in chunks) and rows, with a clear error: the API's
bulk bodies answer 413 JSON naming the limit, the knowledge page's file upload a message; nothing is written."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ecomops.models import Event, Product
from ecomops.uploads import UploadTooLarge, read_stream_capped, read_upload_capped
from support.models import KnowledgeEntry
from support.services import knowledge

pytestmark = pytest.mark.django_db
EVENTS = "/api/v1/stores/acme/events/bulk"
PRODUCTS = "/api/v1/stores/acme/products/bulk"


def test_a_body_over_the_default_cap_is_a_json_413_not_an_html_400(api_client, settings):
    assert settings.UPLOAD_MAX_BYTES == 20 * 1024 * 1024
    body = json.dumps({"events": [{"type": "view", "session_id": "s" * 1000}] * 21_500})
    assert len(body) > settings.UPLOAD_MAX_BYTES
    r = api_client.generic("POST", EVENTS, body, content_type="application/json")
    assert r.status_code == 413
    assert r["Content-Type"].startswith("application/json")
    assert r.json()["detail"] == "The request body is larger than the limit of 20 MB; split it into smaller parts."
    assert Event.objects.count() == 0


@pytest.mark.parametrize("url", [EVENTS, PRODUCTS])
def test_both_bulk_apis_honour_the_configured_cap(api_client, settings, url):
    settings.UPLOAD_MAX_BYTES = 2048
    rows = [{"sku": f"SKU-{i}", "title": "A product with a long enough title"} for i in range(100)]
    payload = {"events": rows} if url == EVENTS else {"products": rows}
    r = api_client.post(url, payload, format="json")
    assert r.status_code == 413 and "limit of 2 KB" in r.json()["detail"]
    assert Product.objects.count() == 0 and Event.objects.count() == 0


def test_a_body_under_the_cap_is_parsed_as_before(api_client, store, settings):
    settings.UPLOAD_MAX_BYTES = 4096
    r = api_client.post(PRODUCTS, {"products": [{"sku": "SKU-1", "title": "Mug"}]}, format="json")
    assert r.status_code in (200, 201), r.content
    assert Product.objects.for_store(store).filter(sku="SKU-1").exists()
    bad = api_client.generic("POST", PRODUCTS, '{"products": [NaN]}', content_type="application/json")
    assert bad.status_code == 400 and "JSON parse error" in bad.json()["detail"]


def test_streams_are_read_only_up_to_the_cap():
    class CountingStream(io.BytesIO):
        read_bytes = 0

        def read(self, n=-1):
            chunk = super().read(n)
            CountingStream.read_bytes += len(chunk)
            return chunk

    stream = CountingStream(b"x" * 10_000_000)
    with pytest.raises(UploadTooLarge, match="limit of 100 KB"):
        read_stream_capped(stream, max_bytes=100 * 1024)
    assert CountingStream.read_bytes <= 100 * 1024 + 64 * 1024  # the cap plus at most one chunk
    assert read_stream_capped(io.BytesIO(b"small"), max_bytes=10) == b"small"
    upload = SimpleUploadedFile("faq.csv", b"question,answer\n" + b"q,a\n" * 1000)
    with pytest.raises(UploadTooLarge, match="The file 'faq.csv' is larger than the limit of 1 KB"):
        read_upload_capped(upload, max_bytes=1024)


def test_the_knowledge_upload_page_caps_size_and_rows(member_client, store, settings, monkeypatch):
    url = f"/stores/{store.slug}/support/knowledge/import/"
    settings.UPLOAD_MAX_BYTES = 1024
    big = SimpleUploadedFile("faq.csv", b"question,answer\n" + b"How long is shipping?,Three days.\n" * 100)
    r = member_client.post(url, {"file": big}, follow=True)
    assert "The file &#x27;faq.csv&#x27; is larger than the limit of 1 KB" in r.content.decode()
    assert not KnowledgeEntry.objects.for_store(store).exists()

    settings.UPLOAD_MAX_BYTES = 1024 * 1024
    monkeypatch.setattr(knowledge, "MAX_IMPORT_ROWS", 3)
    rows = b"".join(f"Question {i}?,Answer {i}.\n".encode() for i in range(4))
    r = member_client.post(url, {"file": SimpleUploadedFile("faq.csv", b"question,answer\n" + rows)}, follow=True)
    assert "faq.csv: 4 rows; at most 3 per file" in r.content.decode()
    assert not KnowledgeEntry.objects.for_store(store).exists()
    ok = b"question,answer\nHow long is shipping?,Three days.\n"
    r = member_client.post(url, {"file": SimpleUploadedFile("faq.csv", ok)}, follow=True)
    assert "Imported 1 rows" in r.content.decode()
