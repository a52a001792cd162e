"""Test settings: the database and Redis from the environment (DATABASE_URL / REDIS_URL; a session without them
gets an embedded PostgreSQL and Redis from tests/embedded_services.py), fast password hashing."""

from .base import *  # noqa: F403
from .base import CHANNEL_LAYERS

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = "ecomops-test"
REST_FRAMEWORK_THROTTLE_OVERRIDE = None
