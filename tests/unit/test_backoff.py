"""The one retry policy: exponential, capped, jittered within the upper half."""

from __future__ import annotations

from core.backoff import Backoff


def test_each_retry_waits_up_to_twice_as_long_within_the_upper_half_and_the_cap() -> None:
    policy = Backoff(0.5, cap_s=3.0)
    for attempt, ceiling in enumerate([0.5, 1.0, 2.0, 3.0, 3.0]):
        waits = [policy.delay(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits), (attempt, min(waits), max(waits))
        assert max(waits) - min(waits) > ceiling / 10, "callers that failed together spread out"


def test_without_jitter_the_waits_are_exact() -> None:
    policy = Backoff(0.25, cap_s=1.0, jitter=False)
    assert [policy.delay(n) for n in range(4)] == [0.25, 0.5, 1.0, 1.0]
