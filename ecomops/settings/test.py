"""Test settings: the database and Redis from the environment (DATABASE_URL / REDIS_URL; a session without them
gets an embedded PostgreSQL and Redis from tests/embedded_services.py), fast password hashing."""

from .base import *  # noqa: F403
from .base import CHANNEL_LAYERS
from .env import env_bool

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = "ecomops-test"
REST_FRAMEWORK_THROTTLE_OVERRIDE = None
# Each test's transaction must see the impression rows its requests logged: written at once, not by the flusher
# thread (tests/recommender/test_impressions.py turns batching on to test it).
RECOMMENDER_IMPRESSION_BATCH = env_bool("RECOMMENDER_IMPRESSION_BATCH", False)
