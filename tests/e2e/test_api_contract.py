"""The API keeps the contract its OpenAPI document states: schemathesis generates requests for
every operation (valid and invalid ones) against the real app over a real index and catalog,
and checks each response's status, content type, headers and body against the document."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from core.settings import Settings
from schemas.admin import Role
from tests.helpers.index import ingested
from verity.wiring import build_app

#: one pytest-xdist process runs this module: its tests share a module-scoped service
pytestmark = pytest.mark.xdist_group("api_contract")

DOCS = {
    "billing.md": "# Billing\n\nRefunds reach the original card within five business days.\n",
    "login.md": "# Sign-in\n\nAfter five failed sign-in attempts an account is locked.\n",
}
#: Examples per operation and mode: bounded and derandomized in CI; CONTRACT_EXAMPLES and
#: CONTRACT_RANDOM=1 explore further by hand.
EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "12"))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    root = tmp_path_factory.mktemp("contract")
    settings_ = Settings(
        data_dir=root / "data",
        settle_s=0,
        allow_local_without_key=False,
        rate_per_min=0,  # the rate limits have their own tests; here every request is served
        rate_chat_per_min=0,
        max_file_mb=0.01,
    )
    service = ingested(root, DOCS, settings_)
    key = service.catalog.keys.create(Role.ADMIN).key
    yield build_app(settings_, service), {"X-API-Key": key}
    assert service.runner.join(120)
    service.close()


@pytest.fixture(scope="module")
def api_schema(served: tuple[Any, dict[str, str]]) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", served[0])


def test_every_operation_keeps_its_contract(
    api_schema: Any, served: tuple[Any, dict[str, str]]
) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    failures: list[str] = []
    calls: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                calls += run(operation, mode, served[1])
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to get wrong: no inputs
            except (Exception, BaseExceptionGroup) as exc:  # every operation runs; listed together
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:3000])
    assert not failures, "\n\n".join(failures)
    assert set(calls) == {o.label for o in operations}  # every operation was called
    assert len(calls) >= 8 * len(operations)


def run(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> list[str]:
    """Call `operation` with up to EXAMPLES generated cases, checking every response."""
    calls: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=os.environ.get("CONTRACT_RANDOM") is None,
        database=None,
    )
    def keeps(case: schemathesis.Case) -> None:
        calls.append(operation.label)
        case.call_and_validate(headers=headers)

    keeps()
    return calls


def test_the_document_names_the_key_schemes_and_problem_responses(
    served: tuple[Any, dict[str, str]], api_schema: Any
) -> None:
    from fastapi.testclient import TestClient

    document = TestClient(served[0]).get("/openapi.json").json()
    assert set(document["components"]["securitySchemes"]) == {"ApiKey", "Bearer"}
    chat = document["paths"]["/v1/chat"]["post"]
    assert chat["security"] == [{"ApiKey": []}, {"Bearer": []}]
    for status in ("400", "401", "403", "404", "411", "413", "422", "429", "503"):
        content = chat["responses"][status]["content"]
        assert list(content) == ["application/problem+json"], status
    assert "security" not in document["paths"]["/healthz"]["get"]
    assert "Retry-After" in chat["responses"]["429"]["headers"]


def test_a_method_a_route_does_not_have_is_a_405_with_allow(
    served: tuple[Any, dict[str, str]],
) -> None:
    from fastapi.testclient import TestClient

    reply = TestClient(served[0]).put("/v1/chat", headers=served[1], json={})
    assert reply.status_code == 405
    assert reply.headers["allow"] == "POST"
    assert reply.headers["content-type"] == "application/problem+json"


def test_a_query_parameter_given_twice_is_a_422(served: tuple[Any, dict[str, str]]) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(served[0])
    reply = client.get("/admin/documents?source=kb&source=other", headers=served[1])
    assert reply.status_code == 422
    assert reply.json()["errors"] == [
        {"loc": ["query", "source"], "msg": "given more than once", "type": "repeated"}
    ]
    assert client.get("/admin/documents?source=kb", headers=served[1]).status_code == 200
