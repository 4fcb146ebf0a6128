"""The one `Settings` object (environment prefix `VERITY_`), read once at the edge and passed in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.model_ids import Backend, model_key


class WatchDir(BaseModel):
    """A named source: a folder whose files become documents `<name>/<relative path>`."""

    name: str
    root: Path

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not value or "/" in value or value.strip() != value:
            raise ValueError(f"source name {value!r} must be non-empty, without '/' or padding")
        return value


def parse_watch_dirs(raw: str) -> list[WatchDir]:
    """Parse `name=path,name2=path2` (a bare `path` is named after its folder)."""
    dirs: list[WatchDir] = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, path = item.partition("=")
        if not sep:
            name, path = Path(item).name, item
        dirs.append(WatchDir(name=name.strip(), root=Path(path.strip())))
    names = [d.name for d in dirs]
    if len(set(names)) != len(names):
        raise ValueError(f"VERITY_WATCH_DIRS names a source twice: {names}")
    return dirs


class Settings(BaseSettings):
    """Every knob of the service. Environment: `VERITY_<FIELD>`; see README for each."""

    model_config = SettingsConfigDict(env_prefix="VERITY_", extra="ignore")

    data_dir: Path = Path(".verity")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite under data_dir"
    )
    watch_dirs: Annotated[list[WatchDir], NoDecode] = Field(default_factory=list)

    max_file_mb: float = Field(default=50.0, gt=0)
    max_request_kb: int = Field(
        default=64, ge=1, description="largest request body the API reads (uploads aside)"
    )
    max_inflated_mb: float = Field(default=200.0, gt=0, description="cap on bytes unzipped")
    parse_timeout_s: float = Field(default=60.0, gt=0)
    parse_memory_mb: int = Field(default=1024, gt=0, description="address space a parse may add")
    max_attempts: int = Field(default=3, ge=1)

    debounce_s: float = Field(default=0.5, ge=0)
    settle_s: float = Field(default=1.0, ge=0, description="a file must be still this long")
    reconcile_interval_s: float = Field(default=300.0, gt=0)

    chunk_max_words: int = Field(default=180, ge=20)
    chunk_min_words: int = Field(default=40, ge=1)

    embedding_model: str = "sentence-transformers/all-MiniLM-L6-v2"
    embedding_backend: Backend = Field(
        default="onnx-int8",
        description="onnx-int8 (default: as good on the dev sets, faster), onnx, or torch",
    )
    model_cache_dir: Path | None = Field(
        default=None, description="where ONNX exports are kept; unset: <data_dir>/models"
    )
    embed_batch_size: int = Field(default=8, ge=1, description="texts per forward pass")
    qdrant_url: str | None = Field(
        default=None, description="a Qdrant server; unset: the embedded Qdrant Edge index"
    )
    qdrant_collection: str = "verity_chunks"
    fusion: Literal["rrf", "dbsf", "convex"] = "rrf"
    rrf_k: int = Field(default=10, ge=1, description="tuned on the dev sets: bench/RESULTS.md")
    dense_weight: float = Field(default=1.0, ge=0, description="RRF weight of dense hits")
    sparse_weight: float = Field(default=1.0, ge=0, description="RRF weight of BM25 hits")
    prefetch: int = Field(default=50, ge=1, description="candidates per side before fusion")
    bm25_avg_len: float = Field(default=120.0, gt=0, description="tokens in a typical chunk")

    answer_k: int = Field(default=8, ge=1, le=50, description="passages read per answer")
    decline_below: float = Field(
        default=0.42, ge=0, le=1, description="confidence under which a question is declined"
    )
    escalate_below: float = Field(
        default=0.45,
        ge=0,
        le=1,
        description="confidence under which (and at or above decline_below) it is escalated",
    )
    resolution_match_at: float = Field(
        default=0.88,
        ge=0.5,
        le=1,
        description="cosine at which a question asks what a resolution answered (then served)",
    )
    snapshot_retries: int = Field(
        default=2, ge=0, le=5, description="re-retrievals when cited versions changed meanwhile"
    )
    snapshot_wait_s: float = Field(
        default=0.2,
        ge=0,
        le=5,
        description="wait before a re-retrieval (doubling each time): the index catching up",
    )
    llm_url: str | None = Field(
        default=None, description="an OpenAI-compatible endpoint (…/v1); unset: extractive only"
    )
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(default=20.0, gt=0)
    max_repairs: int = Field(default=2, ge=0, le=5, description="repair prompts per answer")
    prompts_dir: Path | None = Field(
        default=None,
        description="a folder of the team's own prompts (answer, repair, condense, with "
        "prompts.lock.json); unset: the shipped prompts/",
    )
    failure_posture: Literal["decline", "extractive"] = Field(
        default="decline",
        description="when the LLM's output stays invalid: decline (fail-closed) or extractive",
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    allow_local_without_key: bool = Field(
        default=True,
        description="requests from this machine need no API key (embedded default; "
        "off in docker-compose)",
    )
    allowed_hosts: str = Field(
        default="*",
        description="comma-separated host names the API answers (other Host headers: 400); "
        "`*` any. Loopback names are always answered; a name listed here also counts as "
        "this machine for VERITY_ALLOW_LOCAL_WITHOUT_KEY",
    )
    rate_per_min: int = Field(
        default=600,
        ge=0,
        description="requests a minute per API key (0: no limit; questions "
        "aside); an address gets VERITY_RATE_ADDRESS_FACTOR times as many",
    )
    rate_chat_per_min: int = Field(
        default=60, ge=0, description="questions (POST /v1/chat) a minute per API key (0: no limit)"
    )
    rate_address_factor: int = Field(
        default=5, ge=1, description="an address's rate as a multiple of a key's"
    )
    allowed_origins: str = Field(
        default="",
        description="comma-separated origins (https://console.example.com) whose pages may "
        "POST, PUT, PATCH or DELETE besides the API's own; every other origin's: 403",
    )

    broker_url: str | None = Field(
        default=None,
        description="Celery broker (redis://…): ingestion tasks go to `verity worker` processes; "
        "unset: the embedded in-process runner",
    )
    result_backend: str | None = Field(
        default=None,
        description="where Celery keeps task results; unset: the catalog database (db+URL)",
    )
    queue: str = Field(default="verity.ingest", description="the Celery queue of ingest tasks")
    worker_concurrency: int = Field(default=2, ge=1, description="task processes per worker")
    task_time_limit_s: float = Field(
        default=600.0, gt=0, description="a task running longer is killed (and redelivered)"
    )
    max_deliveries: int = Field(
        default=3, ge=1, description="deliveries without finishing before a task is dead-lettered"
    )
    task_retries: int = Field(
        default=5, ge=0, description="retries with backoff for transient errors (catalog, index)"
    )
    retry_backoff_s: float = Field(default=2.0, gt=0, description="first retry delay; doubles")
    lock_ttl_s: float = Field(
        default=30.0, gt=0, description="a per-document lock lapses this long after its holder died"
    )
    follow_interval_s: float = Field(
        default=1.0,
        gt=0,
        description="how often a process takes up others' changes: the catalog (workers with "
        "the embedded index), the alias (a rebuild by another process on a Qdrant server)",
    )

    log_format: Literal["text", "json"] = Field(
        default="text", description="json: one object per line with the trace id"
    )
    otlp_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP traces endpoint (…/v1/traces); unset: no export"
    )
    alert_webhook: str | None = Field(
        default=None, description="alerts (failures, dead letters, drift) POSTed here as JSON"
    )
    metrics_port: int | None = Field(
        default=None, ge=1, le=65535, description="a worker serves /metrics on this port"
    )
    drift_window: int = Field(default=200, ge=20, description="answers per drift window")
    drift_psi_alert: float = Field(
        default=0.25, gt=0, description="PSI past which a signal has drifted (alert)"
    )

    @field_validator("watch_dirs", mode="before")
    @classmethod
    def _watch_dirs(cls, value: object) -> object:
        return parse_watch_dirs(value) if isinstance(value, str) else value

    @property
    def catalog_url(self) -> str:
        """The catalog database: `database_url`, or SQLite in `data_dir`."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'catalog.db').resolve()}"

    @property
    def model_cache(self) -> Path:
        """Where derived model files (ONNX exports) are kept."""
        return self.model_cache_dir or self.data_dir / "models"

    @property
    def visibility_timeout_s(self) -> float:
        """How long Redis keeps a delivered, unacknowledged task before another worker gets it:
        longer than the time limit, so a slow task is not run twice at once."""
        return self.task_time_limit_s + 5.0

    @property
    def embedding_key(self) -> str:
        """The embedding model's identity with its runtime (`core.model_ids`)."""
        return model_key(self.embedding_model, self.embedding_backend)
