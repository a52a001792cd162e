"""Knowledge: imports (the real datasets too), embeddings stored per entry, retrieval correct after edits/deletes."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from support.models import KnowledgeEntry, KnowledgeKind
from support.services.knowledge import (
    policy_page_save,
    products_sync,
)
from tests.factories import ProductFactory

from .conftest import FIXTURES

pytestmark = [pytest.mark.quick, pytest.mark.django_db]
DATASETS = Path(settings.BASE_DIR).parent / "shared" / "datasets"


def test_policy_pages_are_chunked_by_heading_and_rechunked_on_edit(store):
    page = policy_page_save(store=store, title="Shipping policy",
                            body="## Domestic\nOrders ship within 2 days.\n\n## International\nWe ship to 40 countries.")
    chunks = KnowledgeEntry.objects.for_store(store).filter(kind=KnowledgeKind.POLICY)
    assert sorted(chunks.values_list("title", flat=True)) == ["Shipping policy — Domestic", "Shipping policy — International"]
    policy_page_save(store=store, title="Shipping policy", body="## Domestic\nOrders ship within 3 days.", page=page)
    assert list(chunks.values_list("text", flat=True)) == ["Orders ship within 3 days."]


def test_products_sync_mirrors_the_catalog(store):
    product = ProductFactory(store=store, title="Trail running shoe", description="Grippy sole.")
    assert products_sync(store=store)["created"] == 1
    entry = KnowledgeEntry.objects.for_store(store).get(kind=KnowledgeKind.PRODUCT)
    assert "Trail running shoe" in entry.text and "19.99" in entry.text
    product.status = "archived"
    product.save()
    assert products_sync(store=store)["deleted"] == 1


def test_import_faq_command_validates_first_and_names_the_line(store, tmp_path):
    bad = tmp_path / "faq.csv"
    bad.write_text("question,answer\nHow?,Like this.\n,No question here\n", encoding="utf-8")
    with pytest.raises(CommandError, match="line 3"):
        call_command("import_faq", "--store", store.slug, str(bad))
    assert not KnowledgeEntry.objects.for_store(store).exists()  # nothing half-written
    with pytest.raises(CommandError, match="No store"):
        call_command("import_faq", "--store", "nope", str(bad))


def test_import_faq_command_loads_our_fixture_and_is_idempotent(store):
    call_command("import_faq", "--store", store.slug, str(FIXTURES / "faq_small.json"))
    call_command("import_faq", "--store", store.slug, str(FIXTURES / "faq_small.json"))
    assert KnowledgeEntry.objects.for_store(store).count() == 8


def test_demo_seeder_gives_the_demo_store_searchable_knowledge_once(store):
    from support.models import KnowledgeEntry, KnowledgeKind, PolicyPage
    from support.services.demo import DEMO_FAQ, support_demo_seed

    ProductFactory(store=store)
    first = support_demo_seed(store)
    assert first["faq"] == len(DEMO_FAQ) and first["policies"] == 1 and first["products"]["created"] == 1
    again = support_demo_seed(store)  # seed_demo run twice: nothing duplicated
    assert again["faq"] == 0 and again["policies"] == 0
    entries = KnowledgeEntry.objects.for_store(store)
    assert entries.filter(kind=KnowledgeKind.FAQ).count() == len(DEMO_FAQ)
    assert entries.filter(kind=KnowledgeKind.PRODUCT).count() == 1
    assert entries.filter(kind=KnowledgeKind.POLICY).count() >= 3  # chunked by heading
    assert PolicyPage.objects.for_store(store).count() == 1
