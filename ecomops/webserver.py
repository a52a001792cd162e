"""The HTTP tier: gunicorn supervising several uvicorn worker processes, each serving the whole ASGI application
(Django views and API over HTTP, Channels consumers over websockets).

Django runs sync views on one thread per process (asgiref's thread-sensitive executor), so one process uses one
core at most: throughput comes from processes. `make run` starts 2 workers; production sets WEB_CONCURRENCY
(about 2 per core: a worker waiting on PostgreSQL or Redis leaves its core to another).

    python -m gunicorn ecomops.asgi:application -k ecomops.webserver.Worker -w 4 -b 0.0.0.0:8000
"""

from __future__ import annotations

import os
import sys
from typing import Any

from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):
    # uvloop + httptools: the fast C event loop and HTTP parser. Django's ASGI handler has no lifespan support,
    # so lifespan is off instead of a warning per worker boot.
    # "websockets": the implementation every browser and devserver test ran on (uvicorn now warns that it will
    # point at "websockets-sansio"; switching is worth a run of the browser tests).
    # proxy_headers off: uvicorn would otherwise rewrite the client address from X-Forwarded-For for any peer in
    # --forwarded-allow-ips (default 127.0.0.1, so a local client could pick its own address), on top of our rule.
    # The one rule is ecomops.client_identity (settings.NUM_PROXIES, applied to the real peer and the raw header),
    # for HTTP and websockets alike; https behind a proxy comes from SECURE_PROXY_SSL_HEADER (production settings).
    CONFIG_KWARGS: dict[str, Any] = {"loop": "uvloop", "http": "httptools", "ws": "websockets", "lifespan": "off",
                                     "proxy_headers": False}


def default_workers() -> int:
    return int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1))


def gunicorn_command(host: str, port: int | str, *, workers: int | None = None, access_log: bool = False) -> list[str]:
    """argv (starting with this Python) for the web tier on host:port."""
    args = [
        sys.executable, "-m", "gunicorn", "ecomops.asgi:application",
        "--worker-class", "ecomops.webserver.Worker",
        "--workers", str(workers or default_workers()),
        "--bind", f"{host}:{port}",
        # A worker's in-flight requests and open websockets get this long on shutdown (Ctrl-C, deploy).
        "--graceful-timeout", "5",
        "--keep-alive", "5",
        "--log-level", "warning",
        # Trust no peer's forwarding headers at this layer (gunicorn's default trusts 127.0.0.1): the client address
        # is settings.NUM_PROXIES' business (ecomops.client_identity), see Worker.CONFIG_KWARGS.
        "--forwarded-allow-ips", "",
    ]
    if access_log:
        args += ["--access-logfile", "-"]
    return args
