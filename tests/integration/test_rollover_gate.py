"""Eval-gated model rollover: a rebuilt collection is judged against the live one on the
team's questions and swapped in only if it retrieves them about as well. Real catalog, real
Qdrant Edge, the real model and a deliberately worse one (MiniLM reading three tokens)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import ConfigError, RolloverRefused
from index.active import ActiveIndex, Embedders
from index.edge_store import EdgeCollections
from index.indexer import Indexer
from ingest.tasks import IngestContext, ingest_file
from retrieve.gate import gated, load_gate
from retrieve.hybrid import Retriever
from schemas.admin import GateQuestion, GateReport, RolloverGate
from schemas.tasks import IngestFile
from tests.helpers.documents import write
from tests.helpers.models import DEFAULT_KEY

# Every heading opens with the same word: a model that reads three tokens sees one text.
DOCS = {
    "billing.md": "# Guide to refunds\n\nRefunds reach the original card within five business "
    "days of the cancellation.\n",
    "login.md": "# Guide to locked accounts\n\nAfter five failed sign-in attempts an account is "
    "locked for one hour.\n",
    "shipping.md": "# Guide to parcels\n\nParcels leave the warehouse within two business days "
    "and a tracking number is emailed.\n",
    "privacy.md": "# Guide to personal data\n\nCustomers may download or erase the personal "
    "data we keep about them.\n",
    "seats.md": "# Guide to team plans\n\nEach extra seat on a team plan is billed monthly at "
    "the plan's per-user price.\n",
    "api.md": "# Guide to integrations\n\nDevelopers create tokens on the integrations page to "
    "call the REST interface.\n",
}
# Asked in other words than the pages use: the dense side has to carry them.
QUESTIONS = [
    ("When will I get my money back?", "billing.md"),
    ("I typed the wrong password too often and cannot get in", "login.md"),
    ("Where is my package?", "shipping.md"),
    ("Can I delete everything you store on me?", "privacy.md"),
    ("How much do additional colleagues cost?", "seats.md"),
    ("How do programmers connect to you?", "api.md"),
]


@pytest.fixture
def world(
    ctx: IngestContext, kb: Path, tmp_path: Path, embedders: Embedders
) -> Iterator[tuple[IngestContext, Indexer]]:
    active = ActiveIndex.open(
        EdgeCollections(tmp_path / "index"),
        embedders,
        model_id=DEFAULT_KEY,
        bm25_avg_len=20.0,
        generation=0,
    )
    ctx.indexer = indexer = Indexer(ctx.catalog, active)
    for name, text in DOCS.items():
        write(kb / name, text)
        ingest_file(ctx, IngestFile(source="kb", rel_path=name))
    yield ctx, indexer
    indexer.active.close()


def gate(margin: float = 0.01) -> RolloverGate:
    return RolloverGate(
        questions=[GateQuestion(question=q, relevant_doc_ids=[doc]) for q, doc in QUESTIONS],
        margin=margin,
    )


def test_a_worse_model_is_refused_and_the_live_collection_keeps_serving(
    world: tuple[IngestContext, Indexer], worse_model: str
) -> None:
    ctx, indexer = world
    store = indexer.active.store
    live = store.active()
    generation = ctx.catalog.generations.current()
    reports: list[GateReport] = []
    with pytest.raises(RolloverRefused, match=f"{live.name} keeps serving"):
        indexer.rebuild(worse_model, approve=gated(gate(), reports.append))
    assert store.active() == live and store.names() == [live.name]  # the rebuilt one dropped
    assert ctx.catalog.generations.current() == generation
    [report] = reports
    assert not report.passed and report.verdict.startswith("refused: ")
    assert "dense nDCG@10" in report.verdict
    assert (report.old.embedding_model, report.new.embedding_model) == (DEFAULT_KEY, worse_model)
    assert report.old.ndcg_at_10["dense"] - report.new.ndcg_at_10["dense"] > 0.2
    assert report.questions == len(QUESTIONS)
    found = Retriever(ctx.catalog, indexer.active).search("money back refund card", k=1)
    assert found.embedding_model == DEFAULT_KEY and found.collection == live.name
    assert found.hits[0].payload.path == "billing.md"


def test_a_model_that_retrieves_as_well_is_swapped_in(
    world: tuple[IngestContext, Indexer],
) -> None:
    _, indexer = world
    live = indexer.active.store.active()
    reports: list[GateReport] = []
    report = indexer.rebuild(approve=gated(gate(margin=0.0), reports.append))
    assert indexer.active.store.active() == report.new != live
    [compared] = reports
    assert compared.passed and compared.verdict.startswith("passed")
    assert compared.new.ndcg_at_10 == compared.old.ndcg_at_10  # the same model, the same ranks
    assert compared.old.ndcg_at_10["dense"] >= 0.8  # the questions are answerable by meaning


def test_gate_questions_name_documents_by_id_or_by_path(
    world: tuple[IngestContext, Indexer], tmp_path: Path
) -> None:
    _, indexer = world
    by_path = gate()
    by_id = RolloverGate(
        questions=[GateQuestion(question=q, relevant_doc_ids=[f"kb/{doc}"]) for q, doc in QUESTIONS]
    )
    reports: list[GateReport] = []
    with indexer.active.use() as live:
        for questions in (by_path, by_id):
            gated(questions, reports.append)(live, live)
    assert reports[0].old.ndcg_at_10 == reports[1].old.ndcg_at_10
    assert reports[0].old.recall_at_10["hybrid"] == 1.0


def test_a_gate_file_is_read_as_the_eval_files_are_and_bad_lines_are_named(
    tmp_path: Path,
) -> None:
    path = tmp_path / "gate.jsonl"
    rows = [
        {"id": "q1", "question": "When will I get my money back?", "relevant_doc_ids": ["b.md"]},
        {"id": "q2", "question": "What's the weather?", "answerable": False},
        {"id": "q3", "question": "Who are you?", "relevant_doc_ids": []},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    loaded = load_gate(path, 0.02)
    assert [q.question for q in loaded.questions] == ["When will I get my money back?"]
    assert loaded.margin == 0.02
    path.write_text(json.dumps(rows[0]) + "\n" + '{"question": "  ", "relevant_doc_ids": ["a"]}\n')
    with pytest.raises(ConfigError, match="line 2: question"):
        load_gate(path, 0.01)
    path.write_text("[1, 2]\n")
    with pytest.raises(ConfigError, match="line 1: not a JSON object"):
        load_gate(path, 0.01)
    path.write_text(json.dumps(rows[1]) + "\n")
    with pytest.raises(ConfigError, match="questions"):  # nothing to judge on
        load_gate(path, 0.01)
    with pytest.raises(ConfigError, match="No such file"):
        load_gate(tmp_path / "missing.jsonl", 0.01)
