"""The HTTP API over a real index: chat, conversations, health, readiness, OpenAPI and RFC 9457
problems for every bad request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import Catalog
from core.settings import Settings
from index.indexer import Indexer
from schemas.answer import Answer
from tests.helpers.index import ingested
from verity.api import create_app
from verity.wiring import build_answer_service, readiness

#: one pytest-xdist process runs this module: its tests share a module-scoped service
pytestmark = pytest.mark.xdist_group("api")

DOCS = {
    "billing.md": "# Billing\n\nRefunds reach the original card within five business days.\n",
    "login.md": "# Sign-in\n\nAfter five failed sign-in attempts an account is locked for one "
    "hour.\n\nReset a forgotten password from the link on the sign-in page.\n",
}
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def indexer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Indexer]:
    root = tmp_path_factory.mktemp("api")
    service = ingested(root, DOCS, Settings(data_dir=root / "data"))
    assert service.context.indexer is not None
    yield service.context.indexer
    service.close()


@pytest.fixture(scope="module")
def client(indexer: Indexer) -> Iterator[TestClient]:
    app = create_app(
        build_answer_service(Settings(), indexer),
        lambda: readiness(indexer),
        catalog=indexer.catalog,
    )
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_chat_answers_with_citations_and_a_trace_id(client: TestClient) -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    response = client.post(
        "/v1/chat",
        json={"question": "How long do refunds take?"},
        headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"},
    )
    assert response.status_code == 200
    answer = Answer.model_validate(response.json())
    assert answer.status == "answered" and "five business days" in answer.text
    assert answer.citations[0].doc_id == "kb/billing.md" and answer.citations[0].version == 1
    assert answer.trace_id == trace == response.headers["x-trace-id"]


def test_a_conversation_continues_over_http(client: TestClient) -> None:
    first = client.post("/v1/chat", json={"question": "My account is locked after sign-ins"})
    conversation = first.json()["conversation_id"]
    follow = client.post(
        "/v1/chat", json={"question": "how long will that last?", "conversation_id": conversation}
    ).json()
    assert follow["status"] == "answered" and "one hour" in follow["text"]
    assert follow["conversation_id"] == conversation


def test_a_question_outside_the_documents_is_declined(client: TestClient) -> None:
    body = client.post("/v1/chat", json={"question": "Who painted the Mona Lisa?"}).json()
    assert body["status"] == "declined" and body["decline_reason"] == "unknown_name"
    assert body["text"].endswith("never mentions Mona Lisa.")
    assert body["citations"] == []


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ({}, ["body", "question"]),
        ({"question": ""}, ["body", "question"]),
        ({"question": "x" * 4001}, ["body", "question"]),
        ({"question": "refunds", "mood": "curious"}, ["body", "mood"]),
        ({"question": "refunds", "filters": {"colour": "red"}}, ["body", "filters", "colour"]),
        ({"question": 42}, ["body", "question"]),
        ({"question": "   \n\t "}, ["body", "question"]),  # blank
    ],
)
def test_a_malformed_request_is_a_problem_naming_the_field(
    client: TestClient, payload: dict[str, object], where: list[str]
) -> None:
    response = client.post("/v1/chat", json=payload)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["status"] == 422 and problem["title"] == "Invalid request"
    assert where in [e["loc"] for e in problem["errors"]]


def test_a_body_that_is_not_json_is_a_problem(client: TestClient) -> None:
    response = client.post(
        "/v1/chat", content=b"question=refunds", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and response.headers["content-type"].startswith(PROBLEM)


def test_unknown_routes_and_methods_are_problems(client: TestClient) -> None:
    missing = client.get("/v1/nothing")
    assert missing.status_code == 404 and missing.json()["title"] == "Not Found"
    wrong = client.get("/v1/chat")
    assert wrong.status_code == 405 and wrong.headers["content-type"].startswith(PROBLEM)


def test_health_readiness_docs_and_page(client: TestClient, indexer: Indexer) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["chunks"] >= len(DOCS)
    assert ready["index_generation"] == indexer.catalog.generations.current()
    assert "/v1/chat" in client.get("/openapi.json").json()["paths"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "cdn" not in docs.text.lower()
    assert "/static/docs/swagger-ui-bundle.js" in docs.text  # served here: works offline
    bundle = client.get("/static/docs/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and "SwaggerUIBundle" in bundle.text
    assert client.get("/static/docs/swagger-ui.css").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and "<form" in page.text and "/static/chat/chat.js" in page.text
    script = client.get("/static/chat/chat.js")
    assert script.status_code == 200 and "/v1/chat" in script.text
    for asset in ("markdown.js", "chat.css", "favicon.svg"):
        assert client.get(f"/static/chat/{asset}").status_code == 200


def test_a_conversation_is_listed_reopened_with_its_answers_and_its_feedback_read_back(
    client: TestClient,
) -> None:
    first = client.post("/v1/chat", json={"question": "How long do refunds take?"}).json()
    conversation = first["conversation_id"]
    client.post(
        "/v1/chat", json={"question": "And after sign-in fails?", "conversation_id": conversation}
    )
    listed = client.get("/v1/conversations").json()
    mine = next(c for c in listed if c["conversation_id"] == conversation)
    assert mine["title"] == "How long do refunds take?" and mine["turns"] == 4
    assert listed[0]["conversation_id"] == conversation  # newest first
    view = client.get(f"/v1/conversations/{conversation}").json()
    roles = [(t["role"], t["answer"] is not None) for t in view["turns"]]
    assert roles == [("user", False), ("agent", True), ("user", False), ("agent", True)]
    assert view["turns"][1]["answer"]["answer_id"] == first["answer_id"]
    assert view["turns"][1]["answer"]["citations"] == first["citations"]
    given = {"answer_id": first["answer_id"], "helpful": False, "comment": "missing the fee"}
    assert client.post("/v1/feedback", json=given).status_code == 201
    record = client.get(f"/v1/answers/{first['answer_id']}").json()
    assert [(f["helpful"], f["comment"]) for f in record["feedback"]] == [
        (False, "missing the fee")
    ]
    missing = client.get("/v1/conversations/nope")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    for bad in ("0", "201", "many"):
        refused = client.get(f"/v1/conversations?limit={bad}")
        assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
    assert client.get("/v1/sources").json() == ["kb"]


@pytest.mark.parametrize("version", ["0", "-1", str(2**31), str(2**64), "v2"])
def test_a_version_number_out_of_bounds_is_a_422_problem(client: TestClient, version: str) -> None:
    response = client.get(f"/v1/documents/kb/billing.md/versions/{version}")
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM


def test_made_up_http_methods_do_not_grow_the_metrics(client: TestClient) -> None:
    for n in range(50):
        client.request(f"BREW{n}", "/v1/chat")
        client.get(f"/no/such/page/{n}")
    metrics = client.get("/metrics").text
    assert "BREW" not in metrics and "/no/such/page" not in metrics
    assert 'method="other"' in metrics and 'route="unmatched"' in metrics


def test_readiness_fails_as_a_503_problem_when_the_catalog_is_down(indexer: Indexer) -> None:
    down = Indexer(Catalog("postgresql+psycopg://postgres@127.0.0.1:9/none"), indexer.active)
    app = create_app(
        build_answer_service(Settings(), indexer), lambda: readiness(down), catalog=indexer.catalog
    )
    with TestClient(app) as test_client:
        response = test_client.get("/readyz")
    assert response.status_code == 503 and response.headers["content-type"].startswith(PROBLEM)
    assert "catalog" in response.json()["detail"]


class Broken:
    name = "broken"

    def generate(self, *_: object) -> None:
        raise RuntimeError("the generator fell over")


def test_an_unexpected_error_is_a_500_problem_without_internals(indexer: Indexer) -> None:
    service = build_answer_service(Settings(), indexer)
    service.extractive = Broken()  # type: ignore[assignment]
    app = create_app(service, lambda: readiness(indexer), catalog=indexer.catalog)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.post("/v1/chat", json={"question": "How long do refunds take?"})
    assert response.status_code == 500 and response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert "fell over" not in body["detail"] and body["trace_id"] == response.headers["x-trace-id"]


def test_an_answers_audit_record_and_feedback_over_http(client: TestClient) -> None:
    answer = client.post("/v1/chat", json={"question": "How long do refunds take?"}).json()
    record = client.get(f"/v1/answers/{answer['answer_id']}").json()
    assert record["answer"] == answer and record["question"] == "How long do refunds take?"
    assert record["retrieved"] and record["attempts"][0]["problems"] == []
    stored = client.post(
        "/v1/feedback",
        json={"answer_id": answer["answer_id"], "helpful": False, "comment": "too short"},
    )
    assert stored.status_code == 201 and stored.json()["helpful"] is False
    missing = client.get("/v1/answers/no-such-answer")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(PROBLEM)
    unknown = client.post("/v1/feedback", json={"answer_id": "no-such-answer", "helpful": True})
    assert unknown.status_code == 404 and "no-such-answer" in unknown.json()["detail"]
    incomplete = client.post("/v1/feedback", json={"answer_id": answer["answer_id"]})
    assert incomplete.status_code == 422


def test_an_unknown_conversation_or_a_huge_question_is_a_clear_4xx(client: TestClient) -> None:
    unknown = client.post(
        "/v1/chat", json={"question": "and then?", "conversation_id": "never-started"}
    )
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith(PROBLEM)
    assert "never-started" in unknown.json()["detail"]
    long = client.post("/v1/chat", json={"question": "refund " * 700})  # ~5 kB: too long
    assert long.status_code == 422 and long.json()["errors"][0]["loc"] == ["body", "question"]
    huge = client.post("/v1/chat", json={"question": "refund " * 15_000})  # ~100 kB: unread
    assert huge.status_code == 413 and huge.headers["content-type"] == PROBLEM


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
BODIES = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries(
        {"question": st.one_of(st.text(max_size=200), JSON_VALUES)},
        optional={
            "conversation_id": st.one_of(st.text(max_size=120), JSON_VALUES),
            "filters": st.one_of(
                st.fixed_dictionaries({}, optional={"source": JSON_VALUES, "doc_id": JSON_VALUES}),
                JSON_VALUES,
            ),
        },
    ),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=BODIES)
def test_any_json_body_gets_an_answer_or_a_4xx_problem_never_a_500(
    client: TestClient, body: object
) -> None:
    response = client.post("/v1/chat", json=body)
    if response.status_code == 200:
        Answer.model_validate(response.json())
        return
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["status"] == response.status_code
