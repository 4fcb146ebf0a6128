"""A readers-writer lock: many holders at once, or one alone."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class SharedLock:
    """`shared` holders run together; an `exclusive` holder runs alone. A waiting exclusive
    holder goes before new shared ones, so it is not starved by a stream of searches.
    Not reentrant: a holder must not take it again."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._holders = 0
        self._alone = False
        self._waiting = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Hold it beside other shared holders."""
        with self._changed:
            while self._alone or self._waiting:
                self._changed.wait()
            self._holders += 1
        try:
            yield
        finally:
            with self._changed:
                self._holders -= 1
                if not self._holders:
                    self._changed.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold it alone, once the shared holders are done."""
        with self._changed:
            self._waiting += 1
            while self._alone or self._holders:
                self._changed.wait()
            self._waiting -= 1
            self._alone = True
        try:
            yield
        finally:
            with self._changed:
                self._alone = False
                self._changed.notify_all()
