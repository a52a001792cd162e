from ecomops.ml.embedder import *  # noqa: F401,F403  -- moved to the shared core; private names below for bench/support.py
from ecomops.ml.embedder import _cache, _encode, _lock  # noqa: F401
