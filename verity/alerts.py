"""The alert webhook: each alert POSTed as JSON to `VERITY_ALERT_WEBHOOK`, from a background
thread, retried with backoff; an alert that cannot be delivered is logged, never dropped
silently (and counted as `delivered="failed"`)."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from core.backoff import Backoff
from core.telemetry import ALERTS

log = logging.getLogger(__name__)


class WebhookSink:
    """Delivers alerts to one URL, in order, off the caller's thread."""

    def __init__(
        self, url: str, *, attempts: int = 5, backoff_s: float = 0.5, timeout_s: float = 5.0
    ) -> None:
        self.url, self.attempts = url, attempts
        self.backoff_s, self.timeout_s = backoff_s, timeout_s
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=10_000)
        self._thread = threading.Thread(target=self._run, name="verity-alerts", daemon=True)
        self._thread.start()

    def __call__(self, alert: dict[str, Any]) -> None:
        """Queue an alert for delivery."""
        try:
            self._queue.put_nowait(alert)
        except queue.Full:
            log.error("alert queue full; not delivered: %s", alert)
            ALERTS.labels(alert["kind"], "failed").inc()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued alert was delivered or given up on."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def close(self) -> None:
        """Deliver what is queued, then stop."""
        self._queue.put(None)
        self._thread.join(timeout=60)

    def _run(self) -> None:
        while (alert := self._queue.get()) is not None:
            try:
                delivered = self._deliver(alert)
                ALERTS.labels(alert["kind"], "webhook" if delivered else "failed").inc()
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _deliver(self, alert: dict[str, Any]) -> bool:
        body = json.dumps(alert).encode()
        for attempt in range(self.attempts):
            request = urllib.request.Request(
                self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    if response.status < 300:
                        return True
            except urllib.error.HTTPError as exc:
                exc.close()
                log.warning("alert webhook attempt %d failed: %s", attempt + 1, exc)
            except (urllib.error.URLError, OSError) as exc:
                log.warning("alert webhook attempt %d failed: %s", attempt + 1, exc)
            time.sleep(Backoff(self.backoff_s).delay(attempt))
        log.error("alert not delivered after %d attempts: %s", self.attempts, alert)
        return False
