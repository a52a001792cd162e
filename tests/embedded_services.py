"""pytest plugin (loaded with `-p tests.embedded_services` from pyproject's addopts): a test session without
DATABASE_URL gets an embedded PostgreSQL, one without REDIS_URL an embedded Redis, both started before Django's
settings are read and stopped when the session ends.

It has to be a `-p` plugin, not conftest.py: pytest-django reads the settings in its own
`pytest_load_initial_conftests`, before any conftest.py is imported; this hook runs first (tryfirst).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Durability buys nothing for a throw-away test database: these make migrations and fixtures several times faster.
TEST_SERVER_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "200"}

_started: list = []
_header: list[str] = []


def _import_quietly(module: str):
    # Importing `ecomops` imports its Celery app, which does os.environ.setdefault("DJANGO_SETTINGS_MODULE",
    # "ecomops.settings.local"); pytest-django ranks that variable above the ini's ecomops.settings.test.
    before = os.environ.get("DJANGO_SETTINGS_MODULE")
    imported = __import__(module, fromlist=["_"])
    if before is None:
        os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    return imported


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args) -> None:
    if early_config.getoption("help", False) or early_config.getoption("version", False):
        return
    workdir = Path(tempfile.mkdtemp(prefix="ecomops-test-services-"))
    _started.append(workdir)
    if not os.environ.get("DATABASE_URL"):
        embedded_postgres = _import_quietly("ecomops.embedded_postgres")
        server = embedded_postgres.EmbeddedPostgres(workdir / "postgres", settings=TEST_SERVER_SETTINGS).start()
        _started.append(server)
        os.environ["DATABASE_URL"] = server.url()
        _header.append(f"DATABASE_URL unset: embedded PostgreSQL 18 on {server.url()} (throw-away, {workdir})")
    if not os.environ.get("REDIS_URL"):
        embedded_redis = _import_quietly("ecomops.embedded_redis")
        redis_server = embedded_redis.EmbeddedRedis(workdir=workdir / "redis").start()
        _started.append(redis_server)
        os.environ["REDIS_URL"] = redis_server.url
        _header.append(f"REDIS_URL unset: embedded Redis on {redis_server.url}")


def pytest_report_header(config) -> list[str]:
    return list(_header)


def _stop_all() -> None:
    while _started:
        item = _started.pop()
        if isinstance(item, Path):
            shutil.rmtree(item, ignore_errors=True)
        else:
            item.stop()


def pytest_unconfigure(config) -> None:
    _stop_all()


atexit.register(_stop_all)  # an internal error that skips pytest_unconfigure still stops the servers
