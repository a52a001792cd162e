"""Settings shared by every environment. Everything configurable comes from the environment (see env.py)."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from redis.exceptions import ConnectionError as RedisConnectionError

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
    "inventory",
    "search",
    "categories",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "ecomops.middleware.RequestGuardMiddleware",  # NUL in query strings, oversized API bodies -> clean 4xx
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

# PostgreSQL only (SQLite support was removed: analytics SQL, COPY and concurrent writers differ there). Without
# DATABASE_URL this is the embedded PostgreSQL that `make run` starts on 127.0.0.1:ECOMOPS_PG_PORT (var/postgres);
# the test session starts its own and sets DATABASE_URL (tests/embedded_services.py).
EMBEDDED_PG_PORT = env_int("ECOMOPS_PG_PORT", 54329)
DATABASE_URL = env_str("DATABASE_URL", f"postgres://postgres@127.0.0.1:{EMBEDDED_PG_PORT}/ecomops")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"DATABASE_URL must be a postgres:// URL (SQLite support was removed), not {DATABASE_URL.split(':', 1)[0]}://."
    )
# Connections: Django's ASGI handler runs each request's sync code in a thread of its own (ThreadSensitiveContext),
# and a thread's connection is its own, so persistent connections (CONN_MAX_AGE > 0) pile up with the threads. With
# DATABASE_POOL_SIZE > 0 (the default) each process keeps a psycopg 3 pool instead: a request borrows a connection
# and gives it back when it ends (CONN_MAX_AGE must be 0 then); a request finding all of them busy waits up to
# DATABASE_POOL_TIMEOUT seconds. DATABASE_POOL_SIZE=0 turns the pool off and falls back to DATABASE_CONN_MAX_AGE:
# 0 = a new connection per request (PgBouncer in front), N = keep each thread's connection N seconds.
DATABASE_POOL_SIZE = env_int("DATABASE_POOL_SIZE", 10)
if DATABASE_POOL_SIZE > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_SIZE,
        # A request waits this long for a free connection before failing, instead of piling up on the server.
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
        "max_idle": 300,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 0)
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
        # retry_on_error: after Redis restarts, each pooled connection fails once ("Connection closed by server");
        # retrying on a fresh connection keeps the first websocket connect after recovery from answering 500.
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": 30, "socket_connect_timeout": 2,
                       "retry_on_error": [RedisConnectionError]}],
            "prefix": env_str("CHANNEL_PREFIX", "ecomops"),
        },
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
# How often beat runs the reaper (stale heartbeats, lost task messages).
ECOMOPS_JOB_REAP_INTERVAL = env_int("ECOMOPS_JOB_REAP_INTERVAL", 30)
# Message expiry is `expire_seconds`: django-celery-beat's DatabaseScheduler silently drops an `expires` option
# (tests/ecomops/test_beat_schedule.py sends every entry through it and checks).
CELERY_BEAT_SCHEDULE = {
    "reap-stale-jobs": {
        "task": "ecomops.jobs_reap_stale", "schedule": float(ECOMOPS_JOB_REAP_INTERVAL),
        "options": {"queue": "default", "expire_seconds": 25},
    },
    "network-advance": {
        "task": "network.advance_all", "schedule": 1.0, "options": {"queue": "simulation", "expire_seconds": 2},
    },
    # Queues a demand forecast job (and the KPI anomaly check) for each store with nightly forecasts on.
    "inventory-nightly-forecast": {
        "task": "inventory.nightly_forecast", "schedule": crontab(hour=3, minute=15), "options": {"queue": "default"},
    },
    # Queues a training job for each store that turned the nightly retrain on (recommender dashboard).
    "recommender-nightly-retrain": {
        "task": "recommender.nightly_retrain", "schedule": crontab(hour=2, minute=30), "options": {"queue": "default"},
    },
}

# Jobs whose worker has not sent a heartbeat for this long are marked failed by the reaper.
ECOMOPS_JOB_HEARTBEAT_TIMEOUT = env_int("ECOMOPS_JOB_HEARTBEAT_TIMEOUT", 120)
# When a queued job's task message is presumed lost with a restarted broker and sent again (a duplicate is
# harmless: a job is claimed once).
ECOMOPS_JOB_REQUEUE_AFTER = env_int("ECOMOPS_JOB_REQUEUE_AFTER", 600)
ECOMOPS_MODEL_DIR = Path(env_str("ECOMOPS_MODEL_DIR", str(VAR_DIR / "models")))
# The Bitext intent set, when this machine has it; support trains on the team's shipped examples either way. Job
# parameters never carry file paths: this is where the server-side training set comes from.
SUPPORT_BITEXT_CSV = Path(env_str("SUPPORT_BITEXT_CSV", str(
    BASE_DIR.parent / "shared" / "datasets" / "bitext-support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv")))
# Called as fn(store_id) after events or orders are ingested and committed (API bulk, import_* commands).
ECOMOPS_INGEST_HOOKS = ["recommender.analytics.live.on_events_ingested", "ecomops.hotcache.on_data_ingested",
                        "search.receivers.on_catalog_ingested"]

# --- REST API ----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "ecomops.api.pagination.StandardPagination",
    # DRF's parsers, refusing NUL characters anywhere in a body (400 naming where).
    "DEFAULT_PARSER_CLASSES": [
        "ecomops.api.parsers.JSONParser", "ecomops.api.parsers.FormParser", "ecomops.api.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    # The user throttle, falling back to process memory when the cache (Redis) is down (ecomops.api.throttling).
    # One Redis counter per user and window (ecomops.api.throttling); API_USER_THROTTLE=…SlidingLogUserRateThrottle
    # is DRF's own list of request times (bench/http.py's baseline: what ran before).
    "DEFAULT_THROTTLE_CLASSES": [env_str("API_USER_THROTTLE", "ecomops.api.throttling.UserRateThrottle")],
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
        "SuggestionStatusEnum": "categories.models.SuggestionStatus",
    },
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_PREFIX", "ecomops"),
        # Fail fast while Redis is down (the throttles then count in process memory), and retry once on a fresh
        # connection after it restarts instead of failing the first request on a stale pooled one.
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 3, "retry_on_error": [RedisConnectionError]},
    }
}
# Hot read endpoints keep results in each process's memory under per-store stamps in Redis (ecomops/hotcache.py).
ECOMOPS_HOT_CACHE = env_bool("ECOMOPS_HOT_CACHE", True)
# The hot GET endpoints' cache hits answered by an ASGI route in front of Django (ecomops/fastpath.py); needs the
# hot cache. Off: every request goes through Django + DRF (bench/http.py's "ours-no-fastpath").
ECOMOPS_FAST_PATH = env_bool("ECOMOPS_FAST_PATH", True)
# Served lists' impression rows written in batches by a thread per process (recommender/services/impressions.py).
RECOMMENDER_IMPRESSION_BATCH = env_bool("RECOMMENDER_IMPRESSION_BATCH", True)


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# The public storefront search (search/api): requests per client address per store.
SEARCH_STOREFRONT_RATE = env_str("SEARCH_STOREFRONT_RATE", "120/min")

# --- Client identity behind proxies, and login protection ------------------------------------------------
# How many trusted reverse proxies append to X-Forwarded-For in front of the app server (0: none; the header
# is then client-chosen and ignored). The one knob for DRF's throttles, the login lockout and the chat
# widget's limits (ecomops/client_identity.py); set the ASGI server's proxy-header option to match (README).
NUM_PROXIES = env_int("NUM_PROXIES", 0)
if NUM_PROXIES < 0:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"NUM_PROXIES={NUM_PROXIES} must be 0 or more.")
REST_FRAMEWORK["NUM_PROXIES"] = NUM_PROXIES

from datetime import timedelta as _timedelta  # noqa: E402 - kept in this block

# django-axes: repeated failed logins lock out the username and, separately, the client address, on every door
# that calls django.contrib.auth.authenticate with the request (/login/, /admin/login/, /api/v1/auth/token/).
INSTALLED_APPS += ["axes"]
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last, as axes requires
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = _timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one reaching the limit locks
AXES_CLIENT_IP_CALLABLE = "ecomops.client_identity.client_ip_for_request"
AXES_LOCKOUT_CALLABLE = "ecomops.lockout.login_lockout_response"
AXES_HTTP_RESPONSE_CODE = 429

# The chat widget's limits per store + client address (support/services/widget.py; the client from NUM_PROXIES).
SUPPORT_WIDGET_MESSAGES_PER_CLIENT_PER_MIN = env_int("SUPPORT_WIDGET_MESSAGES_PER_CLIENT_PER_MIN", 60)
SUPPORT_WIDGET_NEW_CONVERSATIONS_PER_CLIENT_PER_10_MIN = env_int("SUPPORT_WIDGET_NEW_CONVERSATIONS_PER_CLIENT_PER_10_MIN", 10)
# Every upload (API bulk bodies, knowledge files) is read in chunks up to this many bytes (ecomops/uploads.py);
# past it the answer is a clear 413 / form error. Rows are capped per endpoint as well.
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_MB", 20) * 1024 * 1024
# One limit for every request body: the request guard (a JSON 413 on /api/) and the capped upload readers.
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES
