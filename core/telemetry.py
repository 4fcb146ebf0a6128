"""Metrics (Prometheus) and traces (OpenTelemetry) every stage reports to.

The domain calls `stage("retrieve")` around a step: one histogram observation and one span.
Spans cost nothing until the edge configures an exporter (`verity.telemetry`); metrics are
served at `/metrics` by the API and by a worker's own port. The trace id of the request at
hand sits in a context variable, so every log line can carry it.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.trace import Span
from prometheus_client import Counter, Gauge, Histogram

TRACER_NAME = "verity"
_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

#: The trace id of the request or task being handled ("" outside one).
TRACE_ID: contextvars.ContextVar[str] = contextvars.ContextVar("verity_trace_id", default="")

REQUEST_SECONDS = Histogram(
    "verity_http_request_seconds",
    "HTTP request latency by route",
    ["method", "route", "status"],
    buckets=_FAST,
)
STAGE_SECONDS = Histogram(
    "verity_stage_seconds",
    "Time spent per stage (condense, retrieve, generate, validate; parse, commit, index)",
    ["stage"],
    buckets=_FAST,
)
ANSWERS = Counter(
    "verity_answers_total", "Answers by status and decline reason", ["status", "reason"]
)
VALIDATION_FAILURES = Counter(
    "verity_validation_failures_total", "Drafts the trust layer refused", ["generator"]
)
REPAIRS = Counter("verity_repairs_total", "Repair prompts sent to the generator")
ANSWER_FAILURES = Counter(
    "verity_answer_failures_total", "Persisted trust-layer failures by outcome", ["outcome"]
)
SNAPSHOT_RETRIEVALS = Counter(
    "verity_snapshot_retrievals_total",
    "Re-retrievals because a cited version changed while answering",
)
INGEST_EVENTS = Counter(
    "verity_ingest_events_total", "Ingest tasks by kind and outcome", ["kind", "outcome"]
)
INGEST_FAILURES = Counter("verity_ingest_failures_total", "Files not ingested", ["reason"])
DEAD_LETTERS = Counter("verity_dead_letters_total", "Tasks the workers gave up on", ["reason"])
INDEX_LAG = Histogram(
    "verity_index_lag_seconds",
    "From a file's change to its new version being searchable",
    buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0),
)
QUEUE_DEPTH = Gauge("verity_queue_depth", "Ingest tasks waiting or running")
DRIFT_PSI = Gauge("verity_drift_psi", "Population stability index against the baseline", ["signal"])
ALERTS = Counter(
    "verity_alerts_total", "Alerts raised, by kind and delivery", ["kind", "delivered"]
)


def tracer() -> trace.Tracer:
    """The tracer (a no-op until an exporter is configured)."""
    return trace.get_tracer(TRACER_NAME)


@contextmanager
def stage(name: str, **attributes: str | int | float) -> Iterator[Span]:
    """Time one stage into `verity_stage_seconds` and trace it as a span."""
    started = time.perf_counter()
    with tracer().start_as_current_span(f"verity.{name}", attributes=attributes) as span:
        try:
            yield span
        finally:
            STAGE_SECONDS.labels(name).observe(time.perf_counter() - started)


def current_trace_id() -> str:
    """The active span's trace id (hex), else the request's, else ""."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        return format(context.trace_id, "032x")
    return TRACE_ID.get()
