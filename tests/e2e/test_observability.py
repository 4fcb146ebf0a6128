"""Observability through the real API: Prometheus metrics per route and stage, one trace from
the request through retrieval, generation and validation, JSON logs with the trace id,
alerts to a real webhook (retried), and the drift monitor."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from answer.drift import DriftMonitor, psi
from core.alerts import raise_alert, set_sink
from core.settings import Settings
from core.telemetry import TRACE_ID
from ingest.reconcile import plan
from tests.helpers.documents import write
from tests.helpers.index import ingested
from verity.alerts import WebhookSink
from verity.api import create_app
from verity.telemetry import JsonFormatter
from verity.wiring import build_answer_service, build_ingest, readiness

#: one pytest-xdist process runs this module: its tests share a module-scoped service
pytestmark = pytest.mark.xdist_group("observability")

DOCS = {
    "billing.md": "# Billing\n\nRefunds reach the original card within five business days.\n",
    "broken.pdf": "%PDF-1.4 truncated",
}
SPANS = InMemorySpanExporter()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(SPANS))
    trace.set_tracer_provider(provider)  # the process's provider, as `VERITY_OTLP_ENDPOINT` does
    root = tmp_path_factory.mktemp("obs")
    settings = Settings(data_dir=root / "data")
    service = ingested(root, DOCS, settings)
    indexer = service.context.indexer
    assert indexer is not None
    app = create_app(
        build_answer_service(settings, indexer), lambda: readiness(indexer), catalog=indexer.catalog
    )
    with TestClient(app) as test_client:
        yield test_client
    service.close()


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` with `labels` in Prometheus' text format (0 when
    absent): other labels may split a count into several series (declines by reason)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_count_answers_stages_routes_and_ingest(client: TestClient) -> None:
    before = client.get("/metrics").text
    client.post("/v1/chat", json={"question": "How long do refunds take?"})
    client.post("/v1/chat", json={"question": "Who painted the Mona Lisa?"})
    client.post("/v1/chat", json={"question": ""})
    after = client.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text

    def grew(name: str, **labels: str) -> float:
        return metric(text, name, **labels) - metric(before, name, **labels)

    assert grew("verity_answers_total", status="answered") == 1
    assert grew("verity_answers_total", status="declined") == 1
    for stage in ("condense", "retrieve", "generate", "validate", "answer"):
        assert grew("verity_stage_seconds_count", stage=stage) >= 1, stage
    assert grew("verity_http_request_seconds_count", route="/v1/chat", status="200") == 2
    assert grew("verity_http_request_seconds_count", route="/v1/chat", status="422") == 1
    # ingestion in this process: versions created, the broken PDF failed, index lag observed
    assert metric(text, "verity_ingest_events_total", kind="ingest_file", outcome="created") >= 1
    assert metric(text, "verity_ingest_failures_total", reason="pdf_corrupt") >= 1
    assert metric(text, "verity_index_lag_seconds_count") >= 1


def test_one_trace_spans_the_request_retrieval_generation_and_validation(
    client: TestClient,
) -> None:
    SPANS.clear()
    caller = "4bf92f3577b34da6a3ce929d0e0e4736"
    reply = client.post(
        "/v1/chat",
        json={"question": "How long do refunds take?"},
        headers={"traceparent": f"00-{caller}-00f067aa0ba902b7-01"},
    )
    assert reply.headers["X-Trace-Id"] == caller
    assert reply.json()["trace_id"] == caller
    finished = SPANS.get_finished_spans()
    spans = {span.name: span for span in finished}
    for name in ("POST /v1/chat", "verity.answer", "verity.condense", "verity.retrieve"):
        assert name in spans, sorted(spans)
    assert {"verity.generate", "verity.validate"} <= set(spans)
    assert {format(span.context.trace_id, "032x") for span in spans.values()} == {caller}
    by_id = {span.context.span_id: span for span in finished}

    def ancestors(name: str) -> list[str]:
        chain, span = [], spans[name]
        while span.parent is not None and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
            chain.append(span.name)
        return chain

    assert ancestors("verity.retrieve")[0] == "verity.answer"
    assert ancestors("verity.validate")[0] == "verity.answer"
    assert "POST /v1/chat" in ancestors("verity.answer")  # the request's server span
    audit = client.get(f"/v1/answers/{reply.json()['answer_id']}").json()
    assert audit["answer"]["trace_id"] == caller


def test_json_logs_carry_the_trace_id() -> None:
    record = logging.LogRecord("verity.test", logging.INFO, __file__, 1, "hello %s", ("x",), None)
    token = TRACE_ID.set("abc123")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        TRACE_ID.reset(token)
    assert line["message"] == "hello x" and line["level"] == "info"
    assert line["trace_id"] == "abc123" and line["logger"] == "verity.test"


class Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []
    fail_first = 1

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if Hook.fail_first > 0:
            Hook.fail_first -= 1
            self.send_response(500)
        else:
            Hook.received.append(body)
            self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    Hook.received, Hook.fail_first = [], 1
    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts"
    server.shutdown()
    server.server_close()


def test_alerts_reach_the_webhook_after_a_failed_delivery(webhook: str) -> None:
    sink = WebhookSink(webhook, backoff_s=0.05)
    set_sink(sink)
    try:
        raise_alert("dead_letter", "task t-1 given up", task_id="t-1")
        assert sink.flush(30)
    finally:
        set_sink(None)
        sink.close()
    [alert] = Hook.received  # the first POST got a 500 and was retried
    assert alert["kind"] == "dead_letter" and alert["details"] == {"task_id": "t-1"}


def test_an_ingest_failure_raises_an_alert(client: TestClient, tmp_path: Path) -> None:
    alerts: list[dict[str, Any]] = []
    set_sink(alerts.append)
    SPANS.clear()
    try:
        settings = Settings(data_dir=tmp_path / "data")
        write(tmp_path / "kb" / "bad.pdf", "%PDF-1.4 nothing else")
        service = build_ingest(settings, with_index=False)
        service.register("kb", tmp_path / "kb")
        for task in plan(service.catalog, "kb", (tmp_path / "kb").resolve()):
            service.runner.submit(task)
        assert service.runner.join(60)
        service.close()
    finally:
        set_sink(None)
    [alert] = alerts
    assert alert["kind"] == "ingest_failure" and alert["details"]["doc_id"] == "kb/bad.pdf"
    # the ingest task is traced too: the task span holds the parse span
    spans = {span.name: span for span in SPANS.get_finished_spans()}
    assert spans["verity.task"].attributes == {"kind": "ingest_file"}
    parse = spans["verity.parse"]
    assert parse.parent is not None and parse.parent.span_id == spans["verity.task"].context.span_id


def test_psi_is_near_zero_for_the_same_distribution_and_large_for_a_shift() -> None:
    base = [i / 100 for i in range(100)]
    assert psi(base, base) < 0.01
    assert psi(base, [0.5 + i / 200 for i in range(100)]) > 0.25
    assert psi([0.0] * 90 + [1.0] * 10, [0.0] * 88 + [1.0] * 12) < 0.1  # a binary signal
    assert psi([0.0] * 90 + [1.0] * 10, [0.0] * 40 + [1.0] * 60) > 0.25


def test_the_drift_monitor_learns_a_baseline_then_alerts_once_per_episode(
    tmp_path: Path,
) -> None:
    alerts: list[tuple[str, dict[str, Any]]] = []
    monitor = DriftMonitor(
        tmp_path / "baseline.json",
        window=50,
        alert=lambda kind, message, **details: alerts.append((kind, details)),
    )

    def answered(i: int) -> dict[str, float]:
        return {
            "top_score": 0.6 + (i % 10) / 50,
            "confidence": 0.7 + (i % 7) / 50,
            "declined": float(i % 10 == 0),
            "answer_words": 30.0 + i % 20,
            "citations": 1.0 + i % 2,
        }

    for i in range(50):
        monitor.add(answered(i))
    assert (tmp_path / "baseline.json").exists() and alerts == []
    for i in range(50, 100):
        monitor.add(answered(i))
    assert alerts == [] and max(monitor.last.values()) < 0.25
    declined = {"top_score": 0.2, "confidence": 0.1, "declined": 1.0, "answer_words": 0.0}
    for _ in range(100):
        monitor.add({**declined, "citations": 0.0})
    kinds = sorted(details["signal"] for kind, details in alerts if kind == "drift")
    assert kinds == ["answer_words", "citations", "confidence", "declined", "top_score"]
    # a new monitor (a restart) keeps the stored baseline
    assert DriftMonitor(tmp_path / "baseline.json", window=50).baseline == monitor.baseline
