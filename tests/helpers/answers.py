"""A small support knowledge base behind a real answer service (SQLite catalog, Qdrant Edge,
the real embedding model), for the answer and replay tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from answer.extractive import ExtractiveGenerator
from answer.llm import LlmGenerator
from answer.service import AnswerService
from index.active import Embedders
from index.indexer import Indexer
from index.sparse import Bm25Encoder
from ingest.tasks import IngestContext, ingest_file
from retrieve.hybrid import Retriever
from schemas.answer import ChatRequest
from schemas.tasks import IngestFile
from tests.helpers.documents import write
from tests.helpers.index import edge_index
from tests.helpers.llm_double import ChatDouble

DOCS = {
    "billing.md": "# Billing\n\nRefunds reach the original card within five business days.\n\n"
    "Invoices are emailed on the first day of each month, listing every seat.\n",
    "login.md": "# Sign-in\n\nAfter five failed sign-in attempts an account is locked for one "
    "hour.\n\nReset a forgotten password from the link on the sign-in page.\n",
    "shipping.md": "# Shipping\n\nParcels leave the warehouse within two business days.\n\n"
    "Tracking numbers are emailed once the courier collects the parcel.\n",
}

#: A good LLM reply; `{billing}` becomes the billing passage's marker (`llm_double.answer`).
GOOD = "Refunds reach the original card within five business days. [{billing}]"


@dataclass
class World:
    ctx: IngestContext
    kb: Path
    service: AnswerService

    def ask(self, question: str, conversation: str | None = None) -> object:
        return self.service.ask(ChatRequest(question=question, conversation_id=conversation))

    def edit(self, name: str, text: str) -> None:
        write(self.kb / name, text)
        ingest_file(self.ctx, IngestFile(source="kb", rel_path=name))


def answer_world(
    ctx: IngestContext,
    kb: Path,
    folder: Path,
    embedders: Embedders,
    docs: dict[str, str] | None = None,
) -> Iterator[World]:
    """`docs` (default `DOCS`) ingested, each a first version, and indexed (the index under
    `folder`), and an extractive service."""
    active = edge_index(folder / "index", embedders)
    ctx.indexer = Indexer(ctx.catalog, active)
    for name, text in (DOCS if docs is None else docs).items():
        write(kb / name, text)
        assert ingest_file(ctx, IngestFile(source="kb", rel_path=name)).versions_created == 1
    bm25 = Bm25Encoder()
    service = AnswerService(
        ctx.catalog, Retriever(ctx.catalog, active), ExtractiveGenerator(bm25), bm25
    )
    yield World(ctx, kb, service)
    service.close()
    active.close()


def with_llm(world: World, double: ChatDouble, timeout_s: float = 5.0) -> AnswerService:
    """The world's service, generating (and condensing) with the chat double."""
    service = world.service
    llm = LlmGenerator(
        double.url,
        "test-model",
        service.prompts["answer"],
        service.prompts["repair"],
        service.prompts["condense"],
        timeout_s=timeout_s,
    )
    service.llm = service.condenser = llm
    return service
