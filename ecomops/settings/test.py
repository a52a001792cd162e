"""Test settings: the real database and Redis from the environment, fast password hashing."""

from .base import *  # noqa: F403
from .base import CHANNEL_LAYERS

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = "ecomops-test"
REST_FRAMEWORK_THROTTLE_OVERRIDE = None
