"""The incremental reindex: only new or changed products are embedded; product writes queue the job on commit."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from ecomops.models import Job, JobStatus, Product
from ecomops.services.catalog import product_update
from search.models import SearchDocument, SearchIndexState
from search.services import REINDEX_KIND, search_reindex, search_reindex_start
from search.tasks import search_reindex_job
from tests.search.conftest import catalog_create

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_only_changed_products_are_re_embedded(store):
    catalog_create(store)
    first = search_reindex(store=store)
    assert first["embedded"] == first["products"] == 15
    kettle = Product.objects.get(store=store, sku="KET-1")
    untouched = bytes(SearchDocument.objects.get(product__sku="MUG-1", store=store).embedding)
    kettle.title = "Copperleaf Gooseneck Kettle 1.0 l, steel"
    kettle.save()
    Product.objects.filter(store=store, sku="MUG-1").update(stock=0)  # not searchable text: no re-embedding
    second = search_reindex(store=store)
    assert second["documents_updated"] == 1 and second["documents_unchanged"] == 14
    assert second["embedded"] == 1 and second["version"] == first["version"] + 1
    assert bytes(SearchDocument.objects.get(product__sku="MUG-1", store=store).embedding) == untouched
    third = search_reindex(store=store)
    assert third["embedded"] == 0 and third["version"] == second["version"]


def test_the_job_runs_with_progress_and_a_product_write_queues_the_next(store, django_capture_on_commit_callbacks):
    catalog_create(store)
    job = search_reindex_start(store=store)
    assert search_reindex_job.run_inline(str(job.pk), {}) == "succeeded"
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.progress == 100 and job.result["embedded"] == 15
    assert SearchIndexState.objects.get(store=store).documents == 15
    with django_capture_on_commit_callbacks(execute=True):
        product_update(product=Product.objects.get(store=store, sku="MUG-1"), title="Brightware Mug, cobalt")
    queued = Job.objects.filter(store=store, kind=REINDEX_KIND, status=JobStatus.QUEUED)
    assert queued.count() == 1
    next_job = queued.get()
    assert search_reindex_job.run_inline(str(next_job.pk), {}) == "succeeded"
    next_job.refresh_from_db()
    assert next_job.result["embedded"] == 1 and next_job.result["documents_updated"] == 1


def test_a_store_without_an_index_does_not_queue_jobs(store, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        catalog_create(store)
    assert not Job.objects.filter(store=store, kind=REINDEX_KIND).exists()


def test_reindex_command(store, capsys):
    catalog_create(store)
    call_command("reindex_search", "--store", "acme", verbosity=0)
    assert "15 new" in capsys.readouterr().out
    call_command("reindex_search", "--store", "acme", verbosity=0)
    assert "0 embedded" in capsys.readouterr().out
