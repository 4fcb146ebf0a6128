"""Fixtures the answer tests share: a small knowledge base behind a real answer service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from answer.prompts import load_prompts
from index.active import Embedders
from ingest.tasks import IngestContext
from tests.helpers.answers import World, answer_world


@pytest.fixture
def world(ctx: IngestContext, kb: Path, tmp_path: Path, embedders: Embedders) -> Iterator[World]:
    """`tests.helpers.answers.DOCS` ingested, indexed and answered from."""
    yield from answer_world(ctx, kb, tmp_path, embedders)


@pytest.fixture
def prompts(world: World) -> None:
    """The shipped prompts on the world's service (for the LLM generator)."""
    world.service.prompts = load_prompts()
