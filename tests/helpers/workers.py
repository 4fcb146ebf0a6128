"""Real Celery workers and a private Redis server for the tests of the distributed mode."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import redis


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_worker(env: dict[str, str], log: Path, concurrency: int = 2) -> subprocess.Popen[bytes]:
    """`verity worker` as a real process (its output goes to `log`)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "verity", "worker", f"--concurrency={concurrency}"],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_worker(worker: subprocess.Popen[bytes], hard: bool = False) -> None:
    """SIGKILL (`hard`: the worker dies mid-task) or SIGTERM (a warm shutdown), then reap it."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)
    if hard:  # and whatever it started (its parser process), as a crash would
        with suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)


class PrivateRedis:
    """A redis-server of the test's own, on a free port, that the test may stop and start.
    With `persist`, it keeps an append-only file fsynced every second (as docker-compose's
    does) and comes back with it after a kill."""

    def __init__(self, folder: Path, persist: bool = False) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: run scripts/services.sh")
        self.binary, self.folder, self.port = binary, folder, free_port()
        self.persist = persist
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its URL, database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it and wait until it answers."""
        self.process = subprocess.Popen(
            [
                *(self.binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--dir", str(self.folder)),
                *(
                    ("--appendonly", "yes", "--appendfsync", "everysec")
                    if self.persist
                    else ("--appendonly", "no")
                ),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                return
            except (redis.ConnectionError, redis.exceptions.BusyLoadingError):
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL it, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=20)

    def stop(self) -> None:
        """Stop it (what it held is gone, like a crashed Redis without persistence)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@contextmanager
def private_redis(folder: Path) -> Iterator[PrivateRedis]:
    """A private Redis, stopped at the end."""
    server = PrivateRedis(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()
