"""Settings shared by every environment. Everything configurable comes from the environment (see env.py)."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from celery.schedules import crontab

from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("ECOMOPS_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str("SECRET_KEY", "insecure-dev-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "django_celery_beat",
    "channels",
    "ecomops",
    "copywriter",
    "support",
    "recommender",
    "network",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ecomops.urls"
WSGI_APPLICATION = "ecomops.wsgi.application"
ASGI_APPLICATION = "ecomops.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ecomops.context_processors.stores",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'ecomops.sqlite3'}"),
        # 0 (a connection per request) by default: under ASGI every request runs in its own executor thread, and
        # persistent per-thread connections pile up to PostgreSQL's max_connections under concurrency.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the web process, the worker and beat share one SQLite file in development.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# plotly.js ships inside the plotly Python package; serve that copy so the dashboard works offline.
try:
    import plotly as _plotly

    STATICFILES_DIRS.append(("vendor/plotly", Path(_plotly.__file__).parent / "package_data"))
except ImportError:  # pragma: no cover - plotly is a hard requirement
    pass
WHITENOISE_USE_FINDERS = True

# --- Redis: broker, result backend, channel layer -------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # redis-py 8 reads with a 5 s socket timeout by default, the same as channels_redis's 5 s BZPOPMIN, so a
        # consumer whose event loop is briefly busy crashes with TimeoutError (seen under CPU load): allow 30 s.
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}], "prefix": env_str("CHANNEL_PREFIX", "ecomops")},
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_TIME_LIMIT = 60 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 55 * 60
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Every queue the project uses. A worker on another machine can consume a subset with -Q.
ECOMOPS_QUEUES = ["default", "inference", "training", "simulation"]
CELERY_BEAT_SCHEDULE = {
    "reap-stale-jobs": {"task": "ecomops.jobs_reap_stale", "schedule": 60.0, "options": {"queue": "default"}},
    "network-advance": {
        "task": "network.advance_all", "schedule": 1.0, "options": {"queue": "simulation", "expires": 2},
    },
    # Queues a training job for each store that turned the nightly retrain on (recommender dashboard).
    "recommender-nightly-retrain": {
        "task": "recommender.nightly_retrain", "schedule": crontab(hour=2, minute=30), "options": {"queue": "default"},
    },
}

# Jobs whose worker has not sent a heartbeat for this long are marked failed by the reaper.
ECOMOPS_JOB_HEARTBEAT_TIMEOUT = env_int("ECOMOPS_JOB_HEARTBEAT_TIMEOUT", 120)
ECOMOPS_MODEL_DIR = Path(env_str("ECOMOPS_MODEL_DIR", str(VAR_DIR / "models")))
# The Bitext intent set, when this machine has it; support trains on the team's shipped examples either way.
SUPPORT_BITEXT_CSV = Path(env_str("SUPPORT_BITEXT_CSV", str(
    BASE_DIR.parent / "shared" / "datasets" / "bitext-support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv")))
# Called as fn(store_id) after events or orders are ingested and committed (API bulk, import_* commands).
ECOMOPS_INGEST_HOOKS = ["recommender.analytics.live.on_events_ingested"]

# --- REST API ----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "ecomops.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env_str("API_THROTTLE_RATE", "6000/min")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ecomops API",
    "DESCRIPTION": "Operations API for e-commerce merchants: catalog, customers, orders, events, jobs and the AI apps.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the drf-spectacular-sidecar package: no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a `status` field with different choices; name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "ProductStatusEnum": "ecomops.models.catalog.ProductStatus",
        "OrderStatusEnum": "ecomops.models.orders.OrderStatus",
        "JobStatusEnum": "ecomops.models.jobs.JobStatus",
    },
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_PREFIX", "ecomops"),
    }
}

DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024  # bulk event uploads of 10,000 rows

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
