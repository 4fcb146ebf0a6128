"""Prompts are versioned: id + semantic version + sha of the text, held to a lock file."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from answer.prompts import (
    PROMPTS_DIR,
    load_prompts,
    load_required,
    lock_problems,
    parse_prompt,
    write_lock,
)
from core.errors import ConfigError
from core.settings import Settings
from verity.wiring import load_prompts_checked

#: The shipped answer prompt's version, and the one a team raises it to in these tests.
SHIPPED = load_prompts()["answer"].version
RAISED = "9.0.0"


def test_the_shipped_prompts_are_all_locked_at_their_versions() -> None:
    prompts = load_prompts()
    assert set(prompts) == {"answer", "repair", "condense"}
    assert lock_problems(prompts) == []


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    copy = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, copy)
    return copy


def test_changing_a_prompt_without_raising_its_version_fails(folder: Path) -> None:
    path = folder / "answer.md"
    path.write_text(path.read_text() + "Be brief.\n")
    prompts = load_prompts(folder)
    assert lock_problems(prompts, folder) == [
        f"answer: the text changed but the version is still {SHIPPED}; raise the version, "
        "then run `verity prompts --lock`"
    ]
    with pytest.raises(ConfigError, match=f"still {SHIPPED}"):
        write_lock(prompts, folder)


def test_a_raised_version_is_locked_with_its_new_sha(folder: Path) -> None:
    path = folder / "answer.md"
    path.write_text(path.read_text().replace(SHIPPED, RAISED) + "Be brief.\n")
    prompts = load_prompts(folder)
    assert lock_problems(prompts, folder) == [
        f"answer: version {RAISED} is not in prompts.lock.json; run `verity prompts --lock`"
    ]
    write_lock(prompts, folder)
    assert lock_problems(load_prompts(folder), folder) == []
    assert prompts["answer"].sha != load_prompts(PROMPTS_DIR)["answer"].sha


@pytest.mark.parametrize(
    "raw",
    ["no front matter\n", "---\nid: x\n---\nbody", "---\nid: x\nversion: 1\n---\nbody"],
)
def test_a_prompt_without_id_and_semantic_version_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match="front matter"):
        parse_prompt(raw, "bad.md")


def test_render_fills_named_marks_and_keeps_json_braces() -> None:
    prompt = parse_prompt('---\nid: t\nversion: 1.0.0\n---\nQ: {question} {"a": 1}\n', "t.md")
    assert prompt.render(question="why?") == 'Q: why? {"a": 1}\n'


def test_a_prompts_folder_missing_a_prompt_or_missing_itself_is_refused(
    folder: Path, tmp_path: Path
) -> None:
    (folder / "repair.md").unlink()
    with pytest.raises(ConfigError, match="lacks the prompt"):
        load_required(folder)
    with pytest.raises(ConfigError, match="does not exist"):
        load_required(tmp_path / "nowhere")


def test_the_service_reads_the_teams_prompts_folder_and_logs_an_unlocked_one(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = folder / "answer.md"
    path.write_text(path.read_text().replace(SHIPPED, RAISED) + "Answer in French.\n")
    settings = Settings(prompts_dir=folder)
    with caplog.at_level(logging.WARNING):
        prompts = load_prompts_checked(settings)
    assert prompts["answer"].version == RAISED and "French" in prompts["answer"].body
    assert f"answer: version {RAISED} is not in prompts.lock.json" in caplog.text
    caplog.clear()
    write_lock(prompts, folder)
    with caplog.at_level(logging.WARNING):
        load_prompts_checked(settings)
    assert "not locked" not in caplog.text
