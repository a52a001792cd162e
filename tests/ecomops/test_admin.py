"""The admin: every ecomops model's changelist, search and change page load; job retry/cancel actions work."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from ecomops.models import Job, JobStatus
from tests.factories import EventFactory, JobFactory, MembershipFactory, OrderLineFactory, UserFactory

pytestmark = [pytest.mark.quick, pytest.mark.django_db]

ECOMOPS_MODELS = [model for model in admin.site._registry if model._meta.app_label == "ecomops"]


@pytest.fixture
def staff_client(client):
    user = UserFactory(username="ops", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


@pytest.fixture
def data(store):
    line = OrderLineFactory(order__store=store)
    EventFactory(store=store, customer=line.order.customer, product=line.product, properties={"device": "mobile"})
    MembershipFactory(store=store)
    JobFactory(store=store, status=JobStatus.SUCCEEDED, progress=100)
    from ecomops.services.rollups import rollups_refresh

    rollups_refresh(store=store)
    return store


def test_every_ecomops_model_is_registered():
    from django.apps import apps

    missing = {m.__name__ for m in apps.get_app_config("ecomops").get_models()} - {m.__name__ for m in ECOMOPS_MODELS}
    assert not missing


@pytest.mark.parametrize("model", ECOMOPS_MODELS, ids=lambda m: m.__name__)
def test_changelist_search_and_change_page_load(staff_client, data, model):
    prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    changelist = reverse(f"{prefix}_changelist")
    response = staff_client.get(changelist)
    assert response.status_code == 200
    assert response.content.count(b'class="action-checkbox"') >= 1  # at least one row rendered
    assert staff_client.get(changelist, {"q": "a"}).status_code == 200
    obj = model.objects.first()
    assert staff_client.get(reverse(f"{prefix}_change", args=[obj.pk])).status_code == 200


def test_computed_columns(staff_client, data):
    response = staff_client.get(reverse("admin:ecomops_order_changelist"))
    assert b"field-line_count" in response.content
    response = staff_client.get(reverse("admin:ecomops_store_changelist"))
    # acme: the owner from MembershipFactory in `data`, and one product.
    assert b'<td class="field-member_count">1</td>' in response.content
    assert b'<td class="field-product_count">1</td>' in response.content


def test_job_actions_retry_and_cancel(staff_client, store):
    finished = JobFactory(store=store, status=JobStatus.FAILED, error="boom", params={"start": "2026-01-01"})
    queued = JobFactory(store=store)
    url = reverse("admin:ecomops_job_changelist")

    response = staff_client.post(url, {"action": "cancel_jobs", "_selected_action": [queued.pk]}, follow=True)
    assert response.status_code == 200
    queued.refresh_from_db()
    assert queued.status == JobStatus.CANCELLED

    staff_client.post(url, {"action": "retry_jobs", "_selected_action": [finished.pk]}, follow=True)
    new = Job.objects.exclude(pk__in=[finished.pk, queued.pk]).get()
    assert (new.kind, new.params, new.status) == ("kpi_rollup", {"start": "2026-01-01"}, JobStatus.QUEUED)
    assert new.created_by.username == "ops"


def test_admin_requires_staff(member_client):
    response = member_client.get(reverse("admin:ecomops_job_changelist"))
    assert response.status_code == 302
