import pytest
from django.urls import reverse

pytestmark = pytest.mark.quick


def test_overview_renders_for_member(member_client, store):
    response = member_client.get(reverse("overview", kwargs={"store_slug": store.slug}))
    assert response.status_code == 200
    assert b"Revenue over time" in response.content


def test_foreign_store_is_404(member_client, other_store):
    response = member_client.get(reverse("overview", kwargs={"store_slug": other_store.slug}))
    assert response.status_code == 404
