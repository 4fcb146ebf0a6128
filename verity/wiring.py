"""Builds the service's parts from `Settings`: catalog, parser, task context, runner, watcher."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from catalog import Catalog
from core.ports import Fusion, VectorIndex
from core.settings import Settings
from index.edge import EdgeIndex
from index.embedding import SentenceTransformerEmbedder
from index.indexer import Indexer
from index.sparse import Bm25Encoder
from ingest.chunking import ChunkPolicy
from ingest.parsing import ParserPool
from ingest.reconcile import plan
from ingest.runner import InProcessRunner
from ingest.tasks import IngestContext, Limits, run_task
from ingest.watcher import FolderWatcher
from retrieve.hybrid import Retriever
from schemas.tasks import SyncIndex

MB = 1024 * 1024


def open_catalog(settings: Settings) -> Catalog:
    """The catalog at `settings.catalog_url`, migrated to the newest schema."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(settings.catalog_url)
    catalog.migrate()
    return catalog


def open_index(settings: Settings, dimension: int) -> VectorIndex:
    """The vector index: a Qdrant server if `qdrant_url` is set, else Qdrant Edge on disk."""
    if settings.qdrant_url:
        from qdrant_client import QdrantClient

        from index.server import ServerIndex

        client = QdrantClient(url=settings.qdrant_url)
        return ServerIndex(
            client,
            settings.qdrant_collection,
            dimension,
            prefetch=settings.prefetch,
            fusion=fusion_of(settings),
        )
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", settings.embedding_model).strip("-")
    return EdgeIndex(
        settings.data_dir / "index" / slug,
        dimension,
        prefetch=settings.prefetch,
        fusion=fusion_of(settings),
    )


def fusion_of(settings: Settings) -> Fusion:
    """The fusion settings as the index takes them."""
    return Fusion(settings.fusion, settings.rrf_k, settings.dense_weight, settings.sparse_weight)


def build_indexer(settings: Settings, catalog: Catalog) -> Indexer:
    """Embedder, sparse encoder and vector index over `catalog`."""
    embedder = SentenceTransformerEmbedder(settings.embedding_model)
    index = open_index(settings, embedder.dimension)
    return Indexer(catalog, index, embedder, Bm25Encoder(settings.bm25_avg_len))


def retriever_for(indexer: Indexer) -> Retriever:
    """A retriever reading the same catalog, index and models the indexer writes."""
    return Retriever(indexer.catalog, indexer.index, indexer.embedder, indexer.sparse)


def build_retriever(settings: Settings) -> Retriever:
    """A retriever over the catalog and the index (close with `close_retriever`)."""
    return retriever_for(build_indexer(settings, open_catalog(settings)))


def close_retriever(retriever: Retriever) -> None:
    """Release what `build_retriever` opened."""
    retriever.index.close()
    retriever.catalog.close()


@dataclass
class IngestService:
    """The ingestion side, wired: close it to stop the parser process and the runner."""

    context: IngestContext
    runner: InProcessRunner

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
            periodic_tasks=(SyncIndex(),) if self.context.indexer is not None else (),
        )

    def register(self, source: str, root: Path) -> None:
        """Remember a source folder."""
        self.catalog.register_source(source, root.resolve())

    def close(self) -> None:
        """Stop the runner and the parser process, release the index and the database."""
        self.runner.close()
        self.context.parser.close()
        if self.context.indexer is not None:
            self.context.indexer.index.close()
        self.catalog.close()


def build_ingest(settings: Settings, with_index: bool = True) -> IngestService:
    """Catalog, parser pool, indexer, task context and in-process runner, from settings."""
    catalog = open_catalog(settings)
    parser = ParserPool(
        timeout_s=settings.parse_timeout_s,
        memory_mb=settings.parse_memory_mb,
        max_inflated_bytes=int(settings.max_inflated_mb * MB),
    )
    context = IngestContext(
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
    runner = InProcessRunner(lambda task: run_task(context, task), retry_delay_s=0.25)
    return IngestService(context, runner)
