"""Dashboard pages of the shared domain render what they promise (server side; the browser test covers JS)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ecomops.models import Job, JobStatus
from tests.factories import JobFactory, OrderLineFactory, ProductFactory

pytestmark = [pytest.mark.quick, pytest.mark.django_db]


def test_jobs_page_lists_jobs_with_progress_and_cancel_for_writers(member_client, store):
    running = JobFactory(store=store, status=JobStatus.RUNNING, progress=37, message="Rolling up")
    JobFactory(store=store, status=JobStatus.FAILED, error="The worker stopped responding.")
    response = member_client.get(reverse("jobs", kwargs={"store_slug": store.slug}))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-job-id="{running.pk}"' in html and 'value="37"' in html and "Rolling up" in html
    assert "The worker stopped responding." in html
    assert 'id="run-demo-job"' in html and "data-cancel-url=" in html
    assert html.count(">Cancel</button>") == 1  # only the unfinished job


def test_analysts_see_jobs_but_cannot_start_or_cancel(client, analyst, store):
    client.force_login(analyst)
    job = JobFactory(store=store)
    html = client.get(reverse("jobs", kwargs={"store_slug": store.slug})).content.decode()
    assert 'id="run-demo-job"' not in html and "data-cancel-url=" not in html and ">Cancel</button>" not in html
    assert client.post(reverse("job-demo", kwargs={"store_slug": store.slug})).status_code == 403
    assert client.post(reverse("job-cancel", kwargs={"store_slug": store.slug, "job_id": job.pk})).status_code == 403


def test_run_demo_job_creates_a_queued_rollup_job(member_client, store, owner):
    response = member_client.post(reverse("job-demo", kwargs={"store_slug": store.slug}))
    job = Job.objects.for_store(store).get()
    assert response.status_code == 302 and response["Location"].endswith(f"#job-{job.pk}")
    assert (job.kind, job.status, job.created_by) == ("kpi_rollup", JobStatus.QUEUED, owner)


def test_job_detail_shows_result_and_error(member_client, store):
    job = JobFactory(store=store, status=JobStatus.SUCCEEDED, progress=100, result={"days": 12, "chunks": 1})
    html = member_client.get(reverse("job-detail", kwargs={"store_slug": store.slug, "job_id": job.pk})).content.decode()
    assert "&quot;days&quot;: 12" in html and 'id="job-error" hidden' in html
    assert "ecomopsJobsPage" not in html  # the detail page must not collect other jobs' rows


def test_product_detail_shows_readable_attributes_orders_and_events(member_client, store):
    product = ProductFactory(store=store, attributes={"battery_life": "30 h", "colour": "sand"}, description="Quiet.")
    OrderLineFactory(order__store=store, product=product)
    html = member_client.get(reverse("product-detail", kwargs={"store_slug": store.slug, "sku": product.sku})).content.decode()
    assert "<dt>Battery life</dt><dd>30 h</dd>" in html and "<dt>Colour</dt>" in html
    assert "(1 in total)" in html and "Quiet." in html
