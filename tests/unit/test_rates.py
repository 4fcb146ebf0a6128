"""Token buckets: a burst, then a wait that refill ends; made-up clients cannot grow memory."""

from __future__ import annotations

from verity.rates import Buckets, Rate


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_client_gets_its_burst_then_waits_for_the_refill() -> None:
    clock = Clock()
    buckets = Buckets(max_clients=10, clock=clock)
    rate = Rate(per_minute=60, burst=3)  # one a second
    for _ in range(3):
        assert buckets.wait(("chat", "a"), rate) == 0
        buckets.take(("chat", "a"), rate)
    assert buckets.wait(("chat", "a"), rate) == 1.0
    assert buckets.wait(("chat", "b"), rate) == 0  # another client is not held back
    clock.now += 0.5
    assert buckets.wait(("chat", "a"), rate) == 0.5
    clock.now += 0.5
    assert buckets.wait(("chat", "a"), rate) == 0
    clock.now += 3600  # a long pause refills to the burst, never beyond
    for _ in range(3):
        buckets.take(("chat", "a"), rate)
    assert buckets.wait(("chat", "a"), rate) > 0


def test_the_least_recently_seen_clients_are_forgotten_past_the_bound() -> None:
    buckets = Buckets(max_clients=100, clock=Clock())
    for n in range(5000):
        buckets.take(("other", f"key:{n}"), Rate.of(600))
    assert len(buckets) == 100


def test_a_rate_allows_bursts_of_a_sixth_of_a_minute() -> None:
    assert Rate.of(60) == Rate(60, 10)
    assert Rate.of(3).burst == 1
