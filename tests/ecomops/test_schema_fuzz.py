"""Schemathesis fuzzes the whole OpenAPI schema against a live server for a bounded time; any 5xx fails.

A Daphne server runs on the test database with a store full of data; schemathesis (pinned in
requirements-dev.txt) reads /api/schema/, generates valid and invalid requests for every operation (the store
slug is fixed to that store so requests get past the tenancy check) and runs only the `not_a_server_error`
check. The time budget is SCHEMA_FUZZ_SECONDS (default 150 s), so `make test` (and `.ci/run`) stays bounded;
set it higher for a deeper run. On failure the report names each operation and a curl line to reproduce it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
from rest_framework.authtoken.models import Token

from ecomops.services.jobs import job_create
from tests.ecomops.live_servers import start_daphne, subprocess_env
from tests.factories import CustomerFactory, EventFactory, MembershipFactory, OrderFactory, ProductFactory, StoreFactory

pytestmark = [pytest.mark.django_db(transaction=True)]

FUZZ_SECONDS = int(os.environ.get("SCHEMA_FUZZ_SECONDS", "150"))


def seed_store():
    store = StoreFactory(slug="fuzz-shop", name="Fuzz shop")
    owner = MembershipFactory(store=store).user
    products = [ProductFactory(store=store, sku=f"FZ-{i}", attributes={"colour": "red", "material": "cotton"})
                for i in range(5)]
    customers = [CustomerFactory(store=store, external_id=f"c{i}") for i in range(5)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(20):
        OrderFactory(store=store, customer=customers[i % 5], placed_at=start + timedelta(days=i))
        EventFactory(store=store, customer=customers[i % 5], product=products[i % 5],
                     occurred_at=start + timedelta(days=i, hours=1))
    job_create(store=store, kind="kpi_rollup", created_by=owner)
    return store, Token.objects.create(user=owner).key


@pytest.fixture
def live_server_url():
    server, base = start_daphne()
    yield base
    server.stop()


def test_no_operation_of_the_schema_answers_5xx(live_server_url, tmp_path: Path):
    store, token = seed_store()
    config = tmp_path / "schemathesis.toml"
    config.write_text(f'[parameters]\n"path.store_slug" = "{store.slug}"\n', encoding="utf-8")
    report = tmp_path / "report"
    cmd = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
        f"{live_server_url}/api/schema/",
        "--url", live_server_url,
        "--header", f"Authorization: Token {token}",
        "--checks", "not_a_server_error",
        "--max-time", str(FUZZ_SECONDS),
        "--workers", "1",  # 2 workers crash schemathesis's coverage phase on CPython 3.11 (AST SystemError)
        "--seed", "20261202",
        "--request-timeout", "30",
        "--generation-database", "none",
        "--phases", "examples,coverage,fuzzing",
        "--no-color",
        "--report", "junit", "--report-dir", str(report),
    ]
    # cwd: schemathesis keeps a .schemathesis/ folder in its working directory; keep it out of the checkout.
    run = subprocess.run(cmd, cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True,
                         timeout=FUZZ_SECONDS + 240)
    output = run.stdout + run.stderr
    print(output[-4000:])  # the summary table, for `pytest -s`
    assert run.returncode == 0, f"schemathesis found server errors (exit {run.returncode}):\n{output[-15000:]}"
    junit = ElementTree.parse(next(report.glob("*.xml"))).getroot()
    cases = junit.findall(".//testcase")
    # it really exercised the API: (almost) every operation of the schema ran
    assert len(cases) >= 80, f"only {len(cases)} operations tested:\n{output[-3000:]}"
    assert not junit.findall(".//failure") and not junit.findall(".//error"), output[-15000:]
