"""Alerts: failures that a person must see (failure records, dead letters, drift).

The domain calls `raise_alert`; where alerts go is set once at the edge (`set_sink`: the
webhook of `VERITY_ALERT_WEBHOOK`). Without a sink they are logged, and always counted in
`verity_alerts_total`, which the shipped Prometheus rules watch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from core.telemetry import ALERTS, current_trace_id

log = logging.getLogger(__name__)

#: Receives each alert as a JSON-ready dict; returns at once (delivery is its business).
Sink = Callable[[dict[str, Any]], None]

_sinks: list[Sink] = []


def set_sink(sink: Sink | None) -> None:
    """Send alerts to `sink` from now on (None: log only)."""
    _sinks[:] = [sink] if sink is not None else []


def raise_alert(kind: str, message: str, **details: Any) -> dict[str, Any]:
    """Report one alert: `kind` (ingest_failure, answer_failure, dead_letter, drift)."""
    alert = {
        "kind": kind,
        "message": message,
        "at": datetime.now(UTC).isoformat(),
        "trace_id": current_trace_id(),
        "details": details,
    }
    log.warning("ALERT %s: %s", kind, message)
    if not _sinks:
        ALERTS.labels(kind, "logged").inc()
    for sink in _sinks:
        sink(alert)
    return alert
