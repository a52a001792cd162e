import pytest
from django.core.management import CommandError, call_command

from ecomops.models import Membership, Role, Store
from tests.factories import UserFactory

pytestmark = [pytest.mark.quick, pytest.mark.django_db]


def test_create_store_with_owner():
    alice = UserFactory(username="alice")
    call_command("create_store", slug="grocery", name="Grocery Co", currency="usd", owner=["alice"])
    store = Store.objects.get(slug="grocery")
    assert store.currency == "USD"
    assert Membership.objects.get(store=store, user=alice).role == Role.OWNER


def test_create_store_rejects_bad_input_and_writes_nothing():
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("create_store", slug="g2", name="G2", owner=["ghost"])
    with pytest.raises(CommandError, match="timezone"):
        call_command("create_store", slug="g3", name="G3", timezone="Mars/Olympus")
    assert not Store.objects.filter(slug__in=["g2", "g3"]).exists()
