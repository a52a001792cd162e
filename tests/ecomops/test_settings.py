"""Production settings refuse to start without their secrets and pass Django's deployment checks."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from ecomops.settings.env import env_bool, env_int, env_list

pytestmark = pytest.mark.quick
BASE_DIR = Path(__file__).resolve().parents[2]


PRODUCTION_ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/ecomops_prod_check",
    "REDIS_URL": "redis://127.0.0.1:6379/9",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": "shop.example.com",
}


def _check_deploy(extra_env: dict[str, str]) -> subprocess.CompletedProcess:
    """`manage.py check --deploy` under the production settings with exactly `extra_env` of the four secrets."""
    env = {k: v for k, v in os.environ.items() if k not in {*PRODUCTION_ENV, "DEBUG"}}
    env.update(DJANGO_SETTINGS_MODULE="ecomops.settings.production", **extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize("missing", sorted(PRODUCTION_ENV))
def test_production_refuses_to_start_without_each_required_variable(missing):
    result = _check_deploy({k: v for k, v in PRODUCTION_ENV.items() if k != missing})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"Production refuses to start: the environment variable {missing} must be set." in result.stderr
    assert "no issues" not in result.stdout


def test_production_names_every_missing_variable_at_once():
    result = _check_deploy({"SECRET_KEY": PRODUCTION_ENV["SECRET_KEY"], "ALLOWED_HOSTS": "shop.example.com"})
    assert result.returncode != 0
    assert "DATABASE_URL must be set; the environment variable REDIS_URL must be set" in result.stderr


def test_production_refuses_an_empty_value_and_sqlite():
    empty = _check_deploy({**PRODUCTION_ENV, "REDIS_URL": "  "})
    assert empty.returncode != 0 and "REDIS_URL must be set" in empty.stderr
    sqlite = _check_deploy({**PRODUCTION_ENV, "DATABASE_URL": "sqlite:////tmp/x.sqlite3"})
    assert sqlite.returncode != 0 and "SQLite" in sqlite.stderr and "DATABASE_URL" in sqlite.stderr


def test_production_check_deploy_is_clean_with_its_secrets():
    result = _check_deploy(PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_uses_the_given_database_and_redis():
    code = ("from django.conf import settings as s; d = s.DATABASES['default']; "
            "print(d['ENGINE'], d['NAME'], s.CELERY_BROKER_URL, s.CACHES['default']['LOCATION'], "
            "s.CHANNEL_LAYERS['default']['CONFIG']['hosts'][0]['address'])")
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    env.update(DJANGO_SETTINGS_MODULE="ecomops.settings.production", **PRODUCTION_ENV)
    result = subprocess.run([sys.executable, "-c", "import django; django.setup(); " + code], cwd=BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    redis = PRODUCTION_ENV["REDIS_URL"]
    assert result.stdout.split() == ["django.db.backends.postgresql", "ecomops_prod_check", redis, redis, redis]


def test_env_helpers_parse_and_fail_fast(monkeypatch):
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", "a.com, b.com,")
    assert env_bool("X_BOOL") is True
    assert env_int("X_INT", 1) == 42
    assert env_list("X_LIST") == ["a.com", "b.com"]
    monkeypatch.setenv("X_BOOL", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL"):
        env_bool("X_BOOL")
    monkeypatch.setenv("X_INT", "ten")
    with pytest.raises(ImproperlyConfigured, match="X_INT"):
        env_int("X_INT", 1)


def test_one_num_proxies_setting_drives_drf_and_the_login_lockout():
    code = ("from django.conf import settings as s; from rest_framework.settings import api_settings; "
            "print(s.NUM_PROXIES, s.REST_FRAMEWORK['NUM_PROXIES'], api_settings.NUM_PROXIES, s.AXES_CLIENT_IP_CALLABLE)")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ecomops.settings.test", "NUM_PROXIES": "2"}
    result = subprocess.run([sys.executable, "-c", "import django; django.setup(); " + code], cwd=BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", "2", "2", "ecomops.client_identity.client_ip_for_request"]
    bad = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=BASE_DIR,
                         env={**env, "NUM_PROXIES": "-1"}, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "NUM_PROXIES=-1 must be 0 or more" in bad.stderr
