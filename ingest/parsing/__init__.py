"""Parsing: bytes of one file → text blocks with heading paths and pages, offline and sandboxed."""

from ingest.parsing.blocks import Block
from ingest.parsing.media import MEDIA_TYPES, media_type_for
from ingest.parsing.pool import ParserPool

__all__ = ["MEDIA_TYPES", "Block", "ParserPool", "media_type_for"]
