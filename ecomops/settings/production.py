"""Production settings. Refuses to start without DATABASE_URL, REDIS_URL, SECRET_KEY and ALLOWED_HOSTS: the
development fallbacks (a local database file, a local Redis, an insecure key) must never be what production
silently runs on."""

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_int, env_list, env_require, env_str

PRODUCTION_REQUIRED = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS")
# Checked before base.py is read, so none of its development defaults is ever used here.
env_require(*PRODUCTION_REQUIRED, context="Production refuses to start: ")

from .base import *  # noqa: E402,F403
from .base import CACHES, CHANNEL_LAYERS  # noqa: E402

DEBUG = False
SECRET_KEY = env_str("SECRET_KEY", required=True)
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("insecure"):
    raise ImproperlyConfigured("SECRET_KEY must be a random string of at least 50 characters.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", required=True)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [f"https://{host}" for host in ALLOWED_HOSTS])

# Re-derived from the required values (not inherited), so a change of base.py's development defaults can
# never leak into production.
_database_url = env_str("DATABASE_URL", required=True)
try:
    DATABASES = {
        "default": dj_database_url.parse(
            _database_url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0), conn_health_checks=True
        )
    }
except Exception as exc:  # dj_database_url raises a bare ValueError/KeyError on an unknown scheme
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL ({exc.__class__.__name__}: {exc}).") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    raise ImproperlyConfigured("DATABASE_URL points at SQLite; production runs on PostgreSQL (postgres://...).")

REDIS_URL = env_str("REDIS_URL", required=True)
if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(f"REDIS_URL={REDIS_URL!r} is not a Redis URL (redis://host:6379/0).")
CELERY_BROKER_URL = REDIS_URL
CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [{**CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0], "address": REDIS_URL}]
CACHES["default"]["LOCATION"] = REDIS_URL

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
