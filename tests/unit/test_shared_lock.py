"""The readers-writer lock the embedded index is used under."""

from __future__ import annotations

import threading
import time

from index.shared_lock import SharedLock


def test_shared_holders_run_together_and_an_exclusive_one_waits_for_them() -> None:
    lock = SharedLock()
    events: list[str] = []
    inside = threading.Barrier(2, timeout=5)

    def reader(name: str) -> None:
        with lock.shared():
            inside.wait()  # both inside at once, or this times out
            time.sleep(0.2)
            events.append(f"{name} out")

    def writer() -> None:
        time.sleep(0.05)
        with lock.exclusive():
            events.append("writer in")

    threads = [threading.Thread(target=reader, args=(n,)) for n in ("a", "b")]
    threads.append(threading.Thread(target=writer))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert events[-1] == "writer in" and sorted(events[:2]) == ["a out", "b out"]


def test_a_waiting_exclusive_holder_goes_before_new_shared_ones() -> None:
    lock = SharedLock()
    events: list[str] = []
    first = threading.Event()

    def long_reader() -> None:
        with lock.shared():
            first.set()
            time.sleep(0.3)
        events.append("long reader out")

    def writer() -> None:
        with lock.exclusive():
            events.append("writer in")

    def late_reader() -> None:
        with lock.shared():
            events.append("late reader in")

    reader = threading.Thread(target=long_reader)
    reader.start()
    first.wait(5)
    waiting = threading.Thread(target=writer)
    waiting.start()
    time.sleep(0.1)  # the writer is waiting now
    late = threading.Thread(target=late_reader)
    late.start()
    for thread in (reader, waiting, late):
        thread.join(5)
    assert events.index("writer in") < events.index("late reader in")
