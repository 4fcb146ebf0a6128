"""The parser process: parsing runs in a child with a time limit and a memory cap.

A parser that hangs or balloons (a hostile PDF, a huge table) is killed and reported as
`ParseTimeout` or `ParseMemoryExceeded`; the child is restarted for the next file. The
child is started with `spawn` (no threads or locks inherited), loads unstructured and
spaCy once, parses a warm-up document, and only then caps its address space.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import resource
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from core.errors import IngestError, ParseError, ParseMemoryExceeded, ParseTimeout, RejectedFile
from ingest.parsing.blocks import Block
from schemas import ReasonCode

DEFAULT_TARGET = "ingest.parsing.document:parse_document"
STARTUP_TIMEOUT_S = 180.0


def _resolve(target: str) -> Callable[..., list[Block]]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def _address_space() -> int:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[0])
    return pages * resource.getpagesize()


def _child_main(conn: Connection, target: str, memory_mb: int, max_inflated: int) -> None:
    from ingest.parsing.document import warm_up

    warm_up()
    parse = _resolve(target)
    cap = _address_space() + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    conn.send(("ready", None))
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        data, filename, media_type = request
        try:
            conn.send(("ok", parse(data, filename, media_type, max_inflated)))
        except IngestError as exc:
            conn.send(("error", (type(exc).__name__, exc.reason.value, str(exc))))
        except MemoryError:
            conn.send(
                (
                    "error",
                    (
                        "ParseMemoryExceeded",
                        ReasonCode.PARSE_MEMORY.value,
                        f"parser ran past its memory cap of {memory_mb} MB",
                    ),
                )
            )
            return  # the heap may be in a bad state: start afresh


class ParserPool:
    """One parser child process, restarted after a kill; safe to call from several threads."""

    def __init__(
        self,
        *,
        timeout_s: float,
        memory_mb: int,
        max_inflated_bytes: int,
        target: str = DEFAULT_TARGET,
    ) -> None:
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.max_inflated_bytes = max_inflated_bytes
        self.target = target
        self._ctx = mp.get_context("spawn")
        self._lock = threading.Lock()
        self._process: Any = None
        self._conn: Connection | None = None
        self.restarts = 0

    def parse(self, data: bytes, filename: str, media_type: str) -> list[Block]:
        """Parse in the child; raise `ParseTimeout`, `ParseMemoryExceeded` or `ParseError`."""
        with self._lock:
            conn = self._ensure_child()
            conn.send((data, filename, media_type))
            if not conn.poll(self.timeout_s):
                self._kill()
                raise ParseTimeout(f"parser ran past its {self.timeout_s:g} s limit and was killed")
            try:
                status, payload = conn.recv()
            except EOFError:
                code = self._reap()
                raise ParseError(
                    f"parser process died (exit code {code})", ReasonCode.PARSE_ERROR
                ) from None
        if status == "ok":
            return payload  # type: ignore[no-any-return]
        kind, reason, message = payload
        if kind == "ParseMemoryExceeded":
            self._reap()
            raise ParseMemoryExceeded(message)
        error_type = RejectedFile if kind == "RejectedFile" else ParseError
        raise error_type(message, ReasonCode(reason))

    def start(self) -> None:
        """Start and warm the child now (seconds), so the first file is not kept waiting."""
        with self._lock:
            self._ensure_child()

    def close(self) -> None:
        """Stop the child process."""
        with self._lock:
            self._kill()

    def _ensure_child(self) -> Connection:
        if self._process is not None and self._process.is_alive() and self._conn is not None:
            return self._conn
        self._reap()
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_child_main,
            args=(child, self.target, self.memory_mb, self.max_inflated_bytes),
            name="verity-parser",
            daemon=True,
        )
        process.start()
        child.close()
        if not parent.poll(STARTUP_TIMEOUT_S):
            process.kill()
            raise ParseError("parser process did not start", ReasonCode.PARSE_ERROR)
        try:
            parent.recv()
        except EOFError:
            process.join()
            raise ParseError(
                f"parser process failed to start (exit code {process.exitcode})",
                ReasonCode.PARSE_ERROR,
            ) from None
        self._process, self._conn = process, parent
        self.restarts += 1
        return parent

    def _kill(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
        self._reap()

    def _reap(self) -> int | None:
        code = None
        if self._process is not None:
            self._process.join(timeout=10)
            code = self._process.exitcode
        if self._conn is not None:
            self._conn.close()
        self._process, self._conn = None, None
        return code
