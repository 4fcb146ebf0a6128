"""One retry policy for the whole service: exponential backoff with jitter.

Attempt `n` (0-based) waits between half and all of `base_s * 2**n`, capped at `cap_s`: the
random half spreads out callers that failed together (a webhook down for every alert, every
task of a burst meeting the same outage) so they do not all come back at the same instant.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """How long to wait before each retry."""

    base_s: float
    cap_s: float = 300.0
    jitter: bool = True

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt `attempt` (0-based)."""
        ceiling = min(self.cap_s, self.base_s * 2.0**attempt)
        if not self.jitter:
            return ceiling
        return ceiling * (0.5 + 0.5 * random.random())


#: Another writer changed the same document meanwhile: try again shortly.
CONFLICT = Backoff(0.1, cap_s=2.0)
