"""Drift monitor: rolling windows of answer signals compared with a stored baseline.

Signals per answer: the top retrieval score, the confidence, whether it was declined, the
answer's length in words and its citation count. Each full window is compared with the
baseline by the population stability index (PSI, over the baseline's deciles); past the
threshold the signal has drifted: a gauge shows it and an alert goes out (once per episode).
"""

from __future__ import annotations

import json
import math
import threading
from collections import deque
from collections.abc import Callable, Sequence
from itertools import pairwise
from pathlib import Path

from core.alerts import raise_alert
from core.telemetry import DRIFT_PSI
from schemas.answer import AuditRecord

SIGNALS = ("top_score", "confidence", "declined", "answer_words", "citations")
_EPS = 1e-4


def signals_of(record: AuditRecord) -> dict[str, float]:
    """The drift signals of one answer."""
    answer = record.answer
    return {
        "top_score": max((r.score for r in record.retrieved), default=0.0),
        "confidence": answer.confidence,
        "declined": float(answer.status != "answered"),
        "answer_words": float(len(answer.text.split())) if answer.status == "answered" else 0.0,
        "citations": float(len(answer.citations)),
    }


def psi(expected: Sequence[float], actual: Sequence[float], bins: int = 10) -> float:
    """Population stability index of `actual` against `expected` (0: same; > 0.25: drifted)."""
    if not expected or not actual:
        return 0.0
    edges = _edges(sorted(expected), bins)
    return sum(
        (a - e) * math.log(a / e)
        for e, a in zip(_shares(expected, edges), _shares(actual, edges), strict=True)
    )


def _edges(ordered: list[float], bins: int) -> list[float]:
    """Bin edges at the baseline's quantiles (each distinct value its own bin when few)."""
    distinct = sorted(set(ordered))
    if len(distinct) <= bins:
        return [(a + b) / 2 for a, b in pairwise(distinct)]
    cuts = {ordered[int(len(ordered) * q / bins)] for q in range(1, bins)}
    return sorted(cuts)


def _shares(values: Sequence[float], edges: list[float]) -> list[float]:
    counts = [0] * (len(edges) + 1)
    for value in values:
        counts[sum(value > edge for edge in edges)] += 1
    return [max(count / len(values), _EPS) for count in counts]


class DriftMonitor:
    """Feeds on audit records; compares each full window with the baseline."""

    def __init__(
        self,
        baseline_file: Path,
        window: int = 200,
        threshold: float = 0.25,
        alert: Callable[..., object] = raise_alert,
    ) -> None:
        self.baseline_file, self.window, self.threshold = baseline_file, window, threshold
        self._alert = alert
        self._recent: dict[str, deque[float]] = {s: deque(maxlen=window) for s in SIGNALS}
        self._seen = 0
        self._drifted: set[str] = set()
        self._lock = threading.Lock()
        self.baseline = self._load()
        self.last: dict[str, float] = {}

    def __call__(self, record: AuditRecord) -> None:
        """Observe one answer."""
        self.add(signals_of(record))

    def add(self, values: dict[str, float]) -> None:
        """Observe one answer's signals; a full window is compared with the baseline."""
        with self._lock:
            for name in SIGNALS:
                self._recent[name].append(values[name])
            self._seen += 1
            if self._seen % self.window:
                return
            window = {name: list(self._recent[name]) for name in SIGNALS}
            if self.baseline is None:  # the first full window becomes the baseline
                self.set_baseline(window)
                return
            self._compare(window)

    def set_baseline(self, values: dict[str, list[float]]) -> None:
        """Store `values` (signal → observations) as the baseline."""
        self.baseline = {name: list(values[name]) for name in SIGNALS}
        self.baseline_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.baseline_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.baseline))
        temporary.replace(self.baseline_file)

    def _compare(self, window: dict[str, list[float]]) -> None:
        assert self.baseline is not None
        self.last = {name: psi(self.baseline[name], window[name]) for name in SIGNALS}
        for name, value in self.last.items():
            DRIFT_PSI.labels(name).set(value)
            if value > self.threshold and name not in self._drifted:
                self._drifted.add(name)
                self._alert(
                    "drift",
                    f"{name} drifted: PSI {value:.2f} over the last {self.window} answers "
                    f"(threshold {self.threshold})",
                    signal=name,
                    psi=round(value, 4),
                )
            elif value <= self.threshold:
                self._drifted.discard(name)

    def _load(self) -> dict[str, list[float]] | None:
        if not self.baseline_file.exists():
            return None
        stored = json.loads(self.baseline_file.read_text())
        return {name: [float(v) for v in stored[name]] for name in SIGNALS}
