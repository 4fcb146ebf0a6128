"""Wires telemetry at the edge: log format (JSON lines with the trace id), the OpenTelemetry
exporter (OTLP over HTTP, off unless `VERITY_OTLP_ENDPOINT` is set) and the alert webhook."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from core.alerts import set_sink
from core.settings import Settings
from core.telemetry import current_trace_id


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, trace id, error."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "trace_id": current_trace_id() or None,
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


#: Control characters (C0, DEL, C1, line and paragraph separators): a file name holding one
#: must not forge or break a log line.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    """`text` with control characters written as escapes (`\\n`, `\\x1b`)."""
    return _CONTROLS.sub(lambda m: repr(m.group(0))[1:-1], text)


class TextFormatter(logging.Formatter):
    """The text format; a message's control characters are escaped (tracebacks stay as they
    are, on their own lines)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


class TraceIdFilter(logging.Filter):
    """Adds `trace_id` to every record, for text formats that show it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.trace_id = current_trace_id() or "-"
        return True


def configure_logging(settings: Settings, level: int) -> None:
    """Root logging in the configured format."""
    handler = logging.StreamHandler()
    handler.addFilter(TraceIdFilter())
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            TextFormatter("%(asctime)s %(levelname)s %(name)s [%(trace_id)s]: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def configure(settings: Settings, service_name: str) -> Callable[[], None]:
    """Tracing exporter and alert webhook from settings; returns what flushes them at exit."""
    closers: list[Callable[[], None]] = []
    if settings.otlp_endpoint:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint))
        )
        trace.set_tracer_provider(provider)
        closers.append(provider.shutdown)
    if settings.alert_webhook:
        from verity.alerts import WebhookSink

        sink = WebhookSink(settings.alert_webhook)
        set_sink(sink)
        closers.append(sink.close)

    def close() -> None:
        for closer in closers:
            closer()

    return close
