"""Upgrades of stored records: an older `schema_version` is brought to the current one on load.

Version 0 is the prototype's shape (before `schema_version` existed, so a record without
the field is version 0). Each step is a pure function `dict -> dict`; steps chain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from schemas.records import Chunk, DocumentVersion, IngestFailure, SourceDocument, Tombstone

Raw = dict[str, Any]
Step = Callable[[Raw], Raw]

MODELS: dict[str, type[BaseModel]] = {
    "source_document": SourceDocument,
    "document_version": DocumentVersion,
    "chunk": Chunk,
    "ingest_failure": IngestFailure,
    "tombstone": Tombstone,
}


def _document_v0(raw: Raw) -> Raw:
    deleted = bool(raw.pop("deleted", False))
    raw["rel_path"] = raw.pop("path")
    raw["status"] = "deleted" if deleted else "active"
    raw.setdefault("updated_at", raw["created_at"])
    return raw


def _version_v0(raw: Raw) -> Raw:
    raw["sha256"] = raw.pop("hash")
    raw["size_bytes"] = raw.pop("size")
    raw.setdefault("media_type", "application/octet-stream")
    raw.setdefault("chunk_count", 0)
    raw.setdefault("diff", {})
    return raw


def _chunk_v0(raw: Raw) -> Raw:
    raw["chunk_id"] = raw.pop("id")
    raw["ordinal"] = raw.pop("position")
    headings = raw.pop("headings", "") or ""
    raw["heading_path"] = [h.strip() for h in headings.split(">") if h.strip()]
    return raw


def _chunk_v1(raw: Raw) -> Raw:
    # Same fields; the raw text stays until the document is re-chunked (catalog.formats).
    return raw


def _failure_v0(raw: Raw) -> Raw:
    raw["sha256"] = raw.pop("sha")
    raw["reason"] = raw.pop("code")
    raw["first_seen"] = raw["last_seen"] = raw.pop("time")
    raw.setdefault("doc_id", f"{raw['source']}/{raw['path']}")
    return raw


STEPS: dict[str, dict[int, Step]] = {
    "source_document": {0: _document_v0},
    "document_version": {0: _version_v0},
    "chunk": {0: _chunk_v0, 1: _chunk_v1},
    "ingest_failure": {0: _failure_v0},
    "tombstone": {0: dict},  # the prototype's tombstones already had today's fields
}

CURRENT_VERSIONS: dict[str, int] = {
    kind: int(model.model_fields["schema_version"].default) for kind, model in MODELS.items()
}
for _kind, _current in CURRENT_VERSIONS.items():
    if sorted(STEPS[_kind]) != list(range(_current)):
        raise RuntimeError(f"schemas: {_kind} lacks an upgrade step below version {_current}")


def upgrade(kind: str, raw: Raw) -> Raw:
    """Bring a raw stored record of `kind` to the current schema version."""
    if kind not in STEPS:
        raise ValueError(f"unknown record kind {kind!r}; known: {sorted(STEPS)}")
    record = dict(raw)
    version = int(record.pop("schema_version", 0))
    current = CURRENT_VERSIONS[kind]
    if version > current:
        raise ValueError(f"{kind} schema_version {version} is newer than this build ({current})")
    while version < current:
        record = STEPS[kind][version](record)
        version += 1
    record["schema_version"] = version
    return record


def load_record(kind: str, raw: Raw) -> Any:
    """Validate a stored record of `kind`, upgrading it first if it is older."""
    return MODELS[kind].model_validate(upgrade(kind, raw))
