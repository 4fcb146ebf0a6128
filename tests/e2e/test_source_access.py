"""Per-source access: a key limited to sources searches, reads and writes only those. Two real
sources (support and hr) in one real service (SQLite catalog, Qdrant Edge, the real model),
every role × scope asked the same things."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from ingest.reconcile import plan
from schemas.admin import Role
from tests.helpers.documents import write
from verity.wiring import build_app, build_ingest

#: one pytest-xdist process runs this module: its tests share a module-scoped service
pytestmark = pytest.mark.xdist_group("source_access")

SUPPORT = {
    "refunds.md": "# Refunds\n\nRefunds reach the original card within five business days.\n",
}
HR = {
    "salaries.md": "# Salaries\n\nSalaries are paid on the 25th of each month by bank transfer.\n",
}
REFUNDS = "How long do refunds take to reach the card?"
SALARIES = "When are salaries paid each month?"


@dataclass
class World:
    client: TestClient
    keys: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[who]}

    def ask(self, who: str, question: str, **filters: object) -> dict[str, object]:
        body: dict[str, object] = {"question": question}
        if filters:
            body["filters"] = filters
        response = self.client.post("/v1/chat", json=body, headers=self.headers(who))
        assert response.status_code == 200, response.text
        return dict(response.json())


#: who → the sources their key names (None: every source)
KEYS: dict[str, tuple[Role, list[str]]] = {
    "agent": (Role.AGENT, []),
    "support agent": (Role.AGENT, ["support"]),
    "hr agent": (Role.AGENT, ["hr"]),
    "support owner": (Role.OWNER, ["support"]),
    "owner": (Role.OWNER, []),
    "admin": (Role.ADMIN, []),
}
#: who reads which source
READS = {
    "agent": {"support", "hr"},
    "support agent": {"support"},
    "hr agent": {"hr"},
    "support owner": {"support"},
    "owner": {"support", "hr"},
    "admin": {"support", "hr"},
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("access")
    for source, docs in (("support", SUPPORT), ("hr", HR)):
        for name, text in docs.items():
            write(root / source / name, text)
    settings = Settings(data_dir=root / "data", settle_s=0, allow_local_without_key=False)
    service = build_ingest(settings)
    for source in ("support", "hr"):
        service.register(source, root / source)
        for task in plan(service.catalog, source, (root / source).resolve()):
            service.runner.submit(task)
    assert service.runner.join(120)
    keys = {
        who: service.catalog.keys.create(role, who, sources).key
        for who, (role, sources) in KEYS.items()
    }
    with TestClient(build_app(settings, service), raise_server_exceptions=False) as client:
        yield World(client, keys)
    service.close()


@pytest.mark.parametrize("who", list(KEYS))
def test_each_key_is_answered_only_from_the_sources_it_reads(world: World, who: str) -> None:
    for question, source, doc in (
        (REFUNDS, "support", "support/refunds.md"),
        (SALARIES, "hr", "hr/salaries.md"),
    ):
        answer = world.ask(who, question)
        cited = [c["doc_id"] for c in answer["citations"]]  # type: ignore[index]
        if source in READS[who]:
            assert answer["status"] == "answered" and cited[0] == doc, answer
        else:  # never retrieved, so never cited, and the answer does not hold the text
            assert answer["status"] == "declined" and cited == [], answer
            assert "25th" not in str(answer["text"]) and "five business" not in str(answer["text"])
        record = world.client.get(f"/v1/answers/{answer['answer_id']}", headers=world.headers(who))
        assert record.status_code == 200
        retrieved = {c["doc_id"].split("/")[0] for c in record.json()["retrieved"]}
        assert retrieved <= READS[who]
        scope = KEYS[who][1] if KEYS[who][0] is not Role.ADMIN else []
        assert record.json()["filters"]["sources"] == (sorted(scope) or None)


@pytest.mark.parametrize("who", list(KEYS))
def test_each_key_lists_and_reads_only_its_sources(world: World, who: str) -> None:
    listed = world.client.get("/v1/sources", headers=world.headers(who)).json()
    assert set(listed) == READS[who]
    for source, doc in (("support", "support/refunds.md"), ("hr", "hr/salaries.md")):
        version = world.client.get(f"/v1/documents/{doc}/versions/1", headers=world.headers(who))
        assert version.status_code == (200 if source in READS[who] else 404), version.text
        if version.status_code == 404:  # told as for a document that is not there
            assert "no version 1" in version.json()["detail"]


@pytest.mark.parametrize("who", list(KEYS))
def test_asking_a_source_outside_the_key_is_refused(world: World, who: str) -> None:
    for source in ("support", "hr"):
        asked = world.client.post(
            "/v1/chat",
            json={"question": SALARIES, "filters": {"source": source}},
            headers=world.headers(who),
        )
        if source in READS[who]:
            assert asked.status_code == 200
        else:
            assert asked.status_code == 403, asked.text
            assert "reads only the sources" in asked.json()["detail"]
    narrowed = world.client.post(
        "/v1/chat",
        json={"question": SALARIES, "filters": {"sources": ["support", "hr"]}},
        headers=world.headers(who),
    )
    assert narrowed.status_code == (200 if READS[who] == {"support", "hr"} else 403)


def test_an_answer_that_read_a_source_is_hidden_from_keys_without_it(world: World) -> None:
    answer = world.ask("agent", SALARIES)
    assert answer["citations"][0]["doc_id"] == "hr/salaries.md"  # type: ignore[index]
    path = f"/v1/answers/{answer['answer_id']}"
    full = world.client.get(path, headers=world.headers("admin")).json()
    read = {c["doc_id"].split("/")[0] for c in full["retrieved"]}
    assert read == {"support", "hr"}  # an unlimited key's answer read both
    for who in KEYS:
        record = world.client.get(path, headers=world.headers(who))
        assert record.status_code == (200 if read <= READS[who] else 404), who
    limited = world.ask("hr agent", SALARIES)
    for who in KEYS:
        record = world.client.get(f"/v1/answers/{limited['answer_id']}", headers=world.headers(who))
        assert record.status_code == (200 if "hr" in READS[who] else 404), who


@pytest.mark.parametrize("who", ["support owner", "owner", "admin", "support agent"])
def test_each_key_writes_only_the_sources_it_may(world: World, who: str) -> None:
    for source in ("support", "hr"):
        body = {
            "source": source,
            "path": f"by-{who.replace(' ', '-')}.md",
            "content_base64": base64.b64encode(b"# Note\n\nA note.\n").decode(),
        }
        sent = world.client.post("/v1/documents", json=body, headers=world.headers(who))
        if KEYS[who][0] is Role.AGENT:
            assert sent.status_code == 403  # agents never write
        else:
            assert sent.status_code == (202 if source in READS[who] else 403), sent.text


@pytest.mark.parametrize("who", ["support owner", "owner", "admin"])
def test_owners_follow_only_the_documents_of_their_sources(world: World, who: str) -> None:
    listed = world.client.get("/v1/documents", headers=world.headers(who)).json()
    assert {s["source"] for s in listed} == READS[who]
    hr = world.client.get("/v1/documents?doc_id=hr/salaries.md", headers=world.headers(who))
    assert hr.status_code == (200 if "hr" in READS[who] else 404)
