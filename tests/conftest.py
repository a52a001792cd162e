"""Shared fixtures: a store with an owner, a second store (for isolation), members of each role, API clients."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from ecomops.models import Role
from tests.dashboard_browser import live_url  # noqa: F401 - a fixture: one Daphne per browser-test module
from tests.factories import MembershipFactory, StoreFactory, UserFactory


@pytest.fixture
def store(db):
    return StoreFactory(slug="acme", name="Acme")


@pytest.fixture
def other_store(db):
    return StoreFactory(slug="rival", name="Rival")


@pytest.fixture
def owner(store):
    return MembershipFactory(store=store, role=Role.OWNER, user=UserFactory(username="owner")).user


@pytest.fixture
def manager(store):
    return MembershipFactory(store=store, role=Role.MANAGER, user=UserFactory(username="manager")).user


@pytest.fixture
def analyst(store):
    return MembershipFactory(store=store, role=Role.ANALYST, user=UserFactory(username="analyst")).user


@pytest.fixture
def member(owner):
    """The default signed-in user of a test: the store's owner."""
    return owner


@pytest.fixture
def api_client(member):
    client = APIClient()
    client.force_authenticate(member)
    return client


@pytest.fixture
def analyst_api_client(analyst):
    client = APIClient()
    client.force_authenticate(analyst)
    return client


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client
