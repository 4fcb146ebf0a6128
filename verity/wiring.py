"""Builds the service's parts from `Settings`: catalog, parser, task context, runner, watcher."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from answer.drift import DriftMonitor
from answer.extractive import ExtractiveGenerator
from answer.llm import LlmGenerator
from answer.perimeter import Perimeter
from answer.prompts import PROMPTS_DIR, Prompt, load_required, lock_problems
from answer.resolutions import ResolutionBook
from answer.service import AnswerPolicy, AnswerService
from catalog import Catalog, database_problem
from catalog.admin import Jobs
from core.errors import CatalogError, ConfigError, NoCatalog, RolloverRefused
from core.model_ids import split_backend
from core.ports import CollectionStore, Embedder, Fusion, TaskRunner
from core.settings import Settings
from core.topology import Topology
from index.active import ActiveIndex, Embedders
from index.edge_store import EdgeCollections
from index.embedding import SentenceTransformerEmbedder
from index.indexer import Indexer
from index.sparse import Bm25Encoder
from ingest.chunking import ChunkPolicy
from ingest.parsing import ParserPool
from ingest.reconcile import plan
from ingest.runner import InProcessRunner
from ingest.tasks import IngestContext, Limits, run_task
from ingest.watcher import FolderWatcher
from retrieve.gate import gated
from retrieve.hybrid import Retriever
from schemas.admin import GateReport
from schemas.tasks import SyncIndex

if TYPE_CHECKING:
    from celery import Celery
    from fastapi import FastAPI

MB = 1024 * 1024
log = logging.getLogger(__name__)


def open_catalog(settings: Settings, *, must_exist: bool = False) -> Catalog:
    """The catalog at `settings.catalog_url`, migrated to the newest schema. `must_exist`
    (commands that only read it): `NoCatalog` rather than an empty one in the wrong folder."""
    embedded = settings.data_dir / "catalog.db"
    if must_exist and not settings.database_url and not embedded.exists():
        raise NoCatalog(
            f"no catalog in {settings.data_dir.resolve()} (VERITY_DATA_DIR): nothing was "
            "ingested there. Run this where the service's data folder is (or set "
            "VERITY_DATA_DIR), or `verity ingest FOLDER` first"
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(settings.catalog_url)
    catalog.migrate()
    return catalog


def open_store(settings: Settings) -> CollectionStore:
    """The index's collections: on a Qdrant server if `qdrant_url` is set, else Qdrant Edge."""
    if settings.qdrant_url:  # Topology.index == "server"
        from qdrant_client import QdrantClient

        from index.server import ServerCollections

        return ServerCollections(
            QdrantClient(url=settings.qdrant_url),
            settings.qdrant_collection,
            prefetch=settings.prefetch,
            fusion=fusion_of(settings),
        )
    return EdgeCollections(
        settings.data_dir / "index", prefetch=settings.prefetch, fusion=fusion_of(settings)
    )


def fusion_of(settings: Settings) -> Fusion:
    """The fusion settings as the index takes them."""
    return Fusion(settings.fusion, settings.rrf_k, settings.dense_weight, settings.sparse_weight)


def build_indexer(settings: Settings, catalog: Catalog) -> Indexer:
    """The active collection (with its own embedding model) and its writer, over `catalog`."""
    active = ActiveIndex.open(
        open_store(settings),
        Embedders(lambda key: load_embedder(settings, key)),
        model_id=settings.embedding_key,
        bm25_avg_len=settings.bm25_avg_len,
        generation=catalog.generations.current(),
        # On a Qdrant server other processes (replicas, workers, a CLI rebuild) share the alias.
        follow_every_s=settings.follow_interval_s if Topology.of(settings).alias_shared else None,
    )
    indexed_with = active.current.spec.embedding_model
    if indexed_with != settings.embedding_key:
        log.warning(
            "the index holds vectors of %s, not %s (VERITY_EMBEDDING_MODEL, "
            "VERITY_EMBEDDING_BACKEND): queries use %s until `verity reindex --rebuild` "
            "(or `verity up`) builds the new collection",
            indexed_with,
            settings.embedding_key,
            indexed_with,
        )
    return Indexer(catalog, active)


def load_embedder(settings: Settings, key: str) -> Embedder:
    """The embedder of `key`: a model id, run by torch or by onnxruntime (`#onnx`, `#onnx-int8`;
    the ONNX export is made once and cached under the data folder)."""
    model_id, backend = split_backend(key)
    if backend == "torch":
        return SentenceTransformerEmbedder(model_id, settings.embed_batch_size)
    from index.onnx_embedding import OnnxEmbedder

    return OnnxEmbedder(
        model_id,
        settings.model_cache,
        int8=backend == "onnx-int8",
        batch_size=settings.embed_batch_size,
    )


def catalog_of(indexer: Indexer) -> Catalog:
    """The catalog an indexer built here writes to (the index layer sees only its
    `IndexRecords`; the composition root gave it the whole `Catalog`)."""
    catalog = indexer.catalog
    assert isinstance(catalog, Catalog), "indexers are built over a Catalog here"
    return catalog


def model_change_pending(settings: Settings, indexer: Indexer) -> bool:
    """True when the settings name a model the active collection was not built with."""
    return indexer.active.current.spec.embedding_model != settings.embedding_key


def rebuild_in_background(
    indexer: Indexer, model_id: str, job_id: str | None = None
) -> threading.Thread:
    """Rebuild the index for `model_id` in a thread; queries and edits go on meanwhile.
    With `job_id`, its progress and outcome are written to that admin job."""
    jobs = catalog_of(indexer).jobs

    def progress(done: int, total: int) -> None:
        _log_progress(done, total)
        if job_id is not None and (done == total or done % max(1, total // 50) == 0):
            jobs.progress(job_id, stage="filling the new collection", done=done, total=total)

    gate = jobs.get(job_id).request.gate if job_id is not None else None
    approve = None
    if gate is not None and job_id is not None:
        job = job_id

        def keep(report: GateReport) -> None:
            jobs.compared(job, report)

        approve = gated(gate, keep, lambda: _judging(jobs, job, len(gate.questions)))

    def run() -> None:
        try:
            report = indexer.rebuild(model_id, progress=progress, approve=approve)
        except RolloverRefused as exc:  # the live collection keeps serving; the job says why
            log.warning("rebuild for %s refused by its gate: %s", model_id, exc)
            assert job_id is not None
            job = jobs.get(job_id)
            verdict = job.comparison.verdict if job.comparison else str(exc)
            jobs.progress(job_id, stage=verdict, done=job.total, total=job.total, status="refused")
            return
        except Exception as exc:  # the old collection stays active; the job says why
            log.exception("rebuild for %s failed; the old collection stays active", model_id)
            if job_id is not None:
                job = jobs.get(job_id)
                jobs.progress(
                    job_id,
                    stage="failed",
                    done=job.done,
                    total=job.total,
                    status="failed",
                    error=f"{type(exc).__name__}: {exc}",
                )
            return
        log.info("rebuild done: %s is active (was %s)", report.new.name, report.old.name)
        if job_id is not None:
            total = jobs.get(job_id).total
            stage = f"done: {report.new.name} is active (was {report.old.name})"
            jobs.progress(job_id, stage=stage, done=total, total=total, status="done")

    thread = threading.Thread(target=run, name="verity-rebuild", daemon=True)
    thread.start()
    return thread


def _judging(jobs: Jobs, job_id: str, questions: int) -> None:
    job = jobs.get(job_id)
    stage = f"judging both collections on {questions} gate questions"
    jobs.progress(job_id, stage=stage, done=job.done, total=job.total)


def _log_progress(done: int, total: int) -> None:
    if done == total or done % max(1, total // 20) == 0:
        log.info("rebuild: %d/%d documents", done, total)


def retriever_for(indexer: Indexer) -> Retriever:
    """A retriever reading the same catalog and active collection the indexer writes."""
    return Retriever(catalog_of(indexer), indexer.active)


def build_answer_service(settings: Settings, indexer: Indexer) -> AnswerService:
    """The answer service over the indexer's catalog and active collection."""
    bm25 = Bm25Encoder()
    policy = AnswerPolicy(
        k=settings.answer_k,
        perimeter=Perimeter(
            settings.decline_below, max(settings.escalate_below, settings.decline_below)
        ),
        snapshot_retries=settings.snapshot_retries,
        snapshot_wait_s=settings.snapshot_wait_s,
        max_repairs=settings.max_repairs,
        on_invalid=settings.failure_posture,
    )
    prompts = load_prompts_checked(settings)
    llm = None
    if settings.llm_url:
        llm = LlmGenerator(
            settings.llm_url,
            settings.llm_model,
            prompts["answer"],
            prompts["repair"],
            prompts["condense"],
            timeout_s=settings.llm_timeout_s,
            api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        )
    catalog = catalog_of(indexer)
    return AnswerService(
        catalog,
        retriever_for(indexer),
        ExtractiveGenerator(bm25),
        bm25,
        policy,
        llm=llm,
        prompts=prompts,
        condenser=llm,
        monitor=DriftMonitor(
            settings.data_dir / "drift_baseline.json",
            window=settings.drift_window,
            threshold=settings.drift_psi_alert,
        ),
        resolutions=ResolutionBook(catalog, threshold=settings.resolution_match_at),
    )


def load_prompts_checked(settings: Settings) -> dict[str, Prompt]:
    """The deployment's prompts; one whose text differs from its locked version is logged
    (its sha still goes into every audit record, so answers stay explainable)."""
    folder = settings.prompts_dir or PROMPTS_DIR
    prompts = load_required(folder)
    for problem in lock_problems(prompts, folder):
        log.warning("prompt not locked: %s", problem)
    return prompts


def readiness(indexer: Indexer) -> dict[str, object]:
    """What a ready service reports; raises a `VerityError` when the catalog or index fails."""
    try:
        generation = indexer.catalog.generations.current()
    except SQLAlchemyError as exc:
        raise CatalogError(f"the catalog does not answer: {database_problem(exc)}") from exc
    with indexer.active.use() as collection:
        points = collection.index.count()
        spec = collection.spec
    return {
        "index_generation": generation,
        "embedding_model": spec.embedding_model,
        "collection": spec.name,
        "chunks": points,
    }


def build_retriever(settings: Settings) -> Retriever:
    """A retriever over the catalog and the index (close with `close_retriever`)."""
    return retriever_for(build_indexer(settings, open_catalog(settings, must_exist=True)))


def close_retriever(retriever: Retriever) -> None:
    """Release what `build_retriever` opened."""
    retriever.active.close()
    catalog = retriever.catalog
    assert isinstance(catalog, Catalog)  # what `build_retriever` gave it
    catalog.close()


@dataclass
class IngestService:
    """The ingestion side, wired: close it to stop the parser process and the runner."""

    context: IngestContext
    runner: TaskRunner
    topology: Topology

    @property
    def catalog(self) -> Catalog:
        """The catalog the tasks write to."""
        return self.context.catalog

    def watcher(self, settings: Settings) -> FolderWatcher:
        """A watcher over `settings.watch_dirs` feeding this service's runner."""
        sources = {d.name: d.root for d in settings.watch_dirs}
        for name, root in sources.items():
            # VERITY_WATCH_DIRS is the admin's word: a source may move to a new folder
            self.catalog.register_source(name, root.resolve(), allow_move=True)
        return FolderWatcher(
            sources,
            self.runner,
            lambda source, root: plan(self.catalog, source, root),
            debounce_s=settings.debounce_s,
            reconcile_interval_s=settings.reconcile_interval_s,
            periodic_tasks=(SyncIndex(),) if self.heals_index else (),
        )

    @property
    def heals_index(self) -> bool:
        """Whether this process's periodic reconcile also syncs the whole index."""
        return self.topology.heals_index(holds_index=self.context.indexer is not None)

    @property
    def indexer(self) -> Indexer:
        """The index this process writes; `ConfigError` for a service built without one."""
        if self.context.indexer is None:
            raise ConfigError("this process holds no index: build the ingest service with it")
        return self.context.indexer

    def register(self, source: str, root: Path) -> None:
        """Remember a source folder."""
        self.catalog.register_source(source, root.resolve())

    def close(self) -> None:
        """Stop the runner and the parser process, release the index and the database."""
        self.runner.close()
        self.context.close()


def build_ingest(settings: Settings, with_index: bool = True) -> IngestService:
    """Catalog, parser pool, indexer, task context and runner, from settings: the in-process
    runner, or Celery workers (`Topology.tasks`)."""
    topology = Topology.of(settings)
    context = build_context(settings, with_index)
    runner: TaskRunner
    if topology.tasks == "workers":
        from ingest.celery_app import create_app
        from ingest.celery_runner import CeleryRunner

        runner = CeleryRunner(create_app(settings))
    else:
        runner = InProcessRunner(lambda task: run_task(context, task), retry_delay_s=0.25)
    return IngestService(context, runner, topology)


def build_context(settings: Settings, with_index: bool = True) -> IngestContext:
    """What the task functions run with: catalog, parser pool, limits, chunking, indexer."""
    catalog = open_catalog(settings)
    parser = ParserPool(
        timeout_s=settings.parse_timeout_s,
        memory_mb=settings.parse_memory_mb,
        max_inflated_bytes=int(settings.max_inflated_mb * MB),
    )
    return IngestContext(
        catalog=catalog,
        parser=parser,
        limits=Limits(
            max_file_bytes=int(settings.max_file_mb * MB),
            max_attempts=settings.max_attempts,
            settle_s=settings.settle_s,
        ),
        policy=ChunkPolicy(settings.chunk_max_words, settings.chunk_min_words),
        indexer=build_indexer(settings, catalog) if with_index else None,
    )


def build_worker_app(settings: Settings) -> Celery:
    """The Celery app of a `verity worker`: each task process builds its own context."""
    from ingest.celery_app import create_app

    with_index = Topology.of(settings).workers_index
    return create_app(settings, lambda: build_context(settings, with_index))


def build_app(settings: Settings, service: IngestService) -> FastAPI:
    """The HTTP API over a wired ingest service: answers, admin routes, API keys."""
    from answer.replay import replay
    from verity.admin import AdminSide
    from verity.api import create_app
    from verity.auth import Auth
    from verity.origins import Origins
    from verity.rates import Rates

    indexer = service.indexer
    answers = build_answer_service(settings, indexer)
    return create_app(
        answers,
        lambda: readiness(indexer),
        catalog=service.catalog,
        auth=Auth(
            service.catalog,
            allow_local=settings.allow_local_without_key,
            origins=Origins.from_settings(settings.allowed_hosts, settings.allowed_origins),
        ),
        admin=AdminSide(
            catalog=service.catalog,
            runner=service.runner,
            indexer=indexer,
            start_rebuild=lambda model, job: rebuild_in_background(indexer, model, job),
            default_model=settings.embedding_key,
            max_upload_bytes=int(settings.max_file_mb * MB),
            replay=lambda answer_id, now: replay(answers, answer_id, now),
        ),
        max_request_bytes=settings.max_request_kb * 1024,
        rates=Rates(
            settings.rate_per_min, settings.rate_chat_per_min, settings.rate_address_factor
        ),
    )
