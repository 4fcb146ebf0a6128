"""Admin contracts: API keys and their roles, reindex jobs and their progress, uploads."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict


class Role(StrEnum):
    """What a key may do: `agent` chats, `owner` also manages documents, `admin` everything."""

    AGENT = "agent"
    OWNER = "owner"
    ADMIN = "admin"


#: Each role and the roles whose routes it may also call.
GRANTS: dict[Role, frozenset[Role]] = {
    Role.AGENT: frozenset({Role.AGENT}),
    Role.OWNER: frozenset({Role.AGENT, Role.OWNER}),
    Role.ADMIN: frozenset(Role),
}


class ApiKey(BaseModel):
    """A stored key: its public id and role (the secret is kept only as a hash)."""

    key_id: str
    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None = None
    sources: list[str] = Field(
        default_factory=list,
        description="the key reads (an agent key) or writes and reads (an owner key) only these "
        "sources; empty: all",
    )

    def may_write(self, source: str) -> bool:
        """True when this key may add or remove documents of `source`."""
        return self.role is Role.ADMIN or not self.sources or source in self.sources

    def may_read(self, source: str) -> bool:
        """True when this key may search and read documents of `source`."""
        return self.may_write(source)

    @property
    def scope(self) -> list[str] | None:
        """The sources this key is limited to (None: every source)."""
        return sorted(self.sources) if self.sources and self.role is not Role.ADMIN else None


class NewApiKey(ApiKey):
    """A key just created: the only time its full value is shown."""

    key: str


#: "Exactly one scope" as JSON Schema, so the published contract says what the validator does.
def _given(field: str, schema: JsonDict) -> JsonDict:
    return {"required": [field], "properties": {field: schema}}


_REBUILD = _given("rebuild", {"const": True})
_ONE_SCOPE: JsonDict = {
    "allOf": [
        {
            "oneOf": [
                _given("doc_id", {"type": "string"}),
                _given("source", {"type": "string"}),
                _given("all", {"const": True}),
                _REBUILD,
            ]
        },
        {"anyOf": [{"not": _given("embedding_model", {"type": "string"})}, _REBUILD]},
        {"anyOf": [{"not": _given("gate", {"type": "object"})}, _REBUILD]},
    ]
}


class GateQuestion(BaseModel):
    """A question the team knows the answer's documents of."""

    model_config = ConfigDict(extra="ignore")

    question: str = Field(min_length=1, max_length=2000, pattern=r"\S")
    relevant_doc_ids: list[str] = Field(
        min_length=1,
        max_length=50,
        description="the documents that answer it: document ids, or paths inside their source",
    )


class RolloverGate(BaseModel):
    """The questions a rebuild is judged on, and how much worse it may be."""

    model_config = ConfigDict(extra="forbid")

    questions: list[GateQuestion] = Field(min_length=1, max_length=5000)
    margin: float = Field(
        default=0.01, ge=0.0, le=1.0, description="largest nDCG@10 drop allowed, per search mode"
    )


class GateFigures(BaseModel):
    """One collection's retrieval of the gate's questions."""

    collection: str
    embedding_model: str
    ndcg_at_10: dict[str, float] = Field(description="per search mode: hybrid, dense")
    recall_at_10: dict[str, float]


class GateReport(BaseModel):
    """The live collection and the rebuilt one, compared on the gate's questions."""

    questions: int
    margin: float
    old: GateFigures
    new: GateFigures
    passed: bool
    verdict: str


class ReindexRequest(BaseModel):
    """`POST /admin/reindex`: exactly one of a document, a source, everything, or a rebuild."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_ONE_SCOPE)

    doc_id: str | None = Field(default=None, min_length=1, max_length=1200)
    source: str | None = Field(default=None, min_length=1, max_length=200)
    all: bool = False
    rebuild: bool = False
    embedding_model: str | None = Field(default=None, min_length=1, max_length=300)
    gate: RolloverGate | None = Field(
        default=None,
        description="with rebuild: swap in the new collection only if it retrieves these "
        "questions about as well as the live one",
    )

    @model_validator(mode="after")
    def _one_scope(self) -> ReindexRequest:
        chosen = [self.doc_id is not None, self.source is not None, self.all, self.rebuild]
        if sum(chosen) != 1:
            raise ValueError("give exactly one of doc_id, source, all: true, rebuild: true")
        if self.embedding_model is not None and not self.rebuild:
            raise ValueError("embedding_model goes with rebuild: true")
        if self.gate is not None and not self.rebuild:
            raise ValueError("gate goes with rebuild: true")
        return self

    @property
    def kind(self) -> Literal["reindex", "rebuild"]:
        """What the job does."""
        return "rebuild" if self.rebuild else "reindex"


#: `refused`: a gated rebuild the gate turned down (the live collection kept serving).
JobStatus = Literal["queued", "running", "done", "failed", "refused"]


class JobError(BaseModel):
    """One item of a job that failed."""

    item: str
    error: str


class Job(BaseModel):
    """A long admin operation and how far it has got."""

    job_id: str
    kind: Literal["reindex", "rebuild"]
    request: ReindexRequest
    status: JobStatus
    stage: str
    done: int
    total: int
    errors: list[JobError] = Field(default_factory=list)
    comparison: GateReport | None = Field(
        default=None, description="a gated rebuild: the collections compared"
    )
    created_at: datetime
    updated_at: datetime


#: Padded standard base64.
BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$"
#: A relative path of names that are neither hidden, temporary nor `..`, without control
#: characters or backslashes, ending in a type Verity reads.
UPLOAD_PATH = (
    r"^(?!/)(?!.*(?:^|/)(?:\.|~\$|#))(?!.*(?:~|\.tmp|\.temp|\.swp|\.part|\.lock)(?:/|$))"
    r"[^\x00-\x1f\x7f\\]*\.(?:[mM][dD]|[mM][aA][rR][kK][dD][oO][wW][nN]|[hH][tT][mM][lL]?"
    r"|[tT][xX][tT]|[tT][eE][xX][tT]|[rR][sS][tT]|[pP][dD][fF]|[dD][oO][cC][xX])$"
)


class DocumentUpload(BaseModel):
    """`POST /v1/documents`: a file's bytes (base64) for a path inside a source folder."""

    model_config = ConfigDict(extra="forbid", regex_engine="python-re")

    source: str = Field(min_length=1, max_length=200)
    path: str = Field(
        min_length=1,
        max_length=1000,
        pattern=UPLOAD_PATH,
        description="relative to the source folder: no '..', no hidden names, a type Verity "
        "reads; a name over 200 bytes in UTF-8 is refused (422)",
    )
    content_base64: str = Field(min_length=4, pattern=BASE64)


class DocumentAccepted(BaseModel):
    """An upload or deletion written to the source folder and queued for ingestion."""

    doc_id: str
    source: str
    path: str
    action: Literal["ingest", "delete"]
    status_url: str = Field(
        default="", description="where to follow what becomes of it (GET, the same key)"
    )
