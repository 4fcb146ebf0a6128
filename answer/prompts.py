"""Versioned prompts: one file each in `prompts/`, front matter with `id` and `version`.

A prompt's identity in an audit record is (id, version, sha-256 of the file's text). The
lock file records the last version and sha of each; a text change under the same version is
refused, so two different prompts never share one version.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError

# Installed beside the packages (package data), as in the repository.
PROMPTS_DIR = Path(__file__).resolve().parents[1] / "prompts"
LOCK_FILE = "prompts.lock.json"
REQUIRED = ("answer", "repair", "condense")
_FRONT = re.compile(r"\A---\n(?P<head>.*?)\n---\n(?P<body>.*)\Z", re.DOTALL)
_VERSION = re.compile(r"\A\d+\.\d+\.\d+\Z")


@dataclass(frozen=True)
class Prompt:
    """One prompt file: its id, semantic version, body and the sha of the whole file."""

    id: str
    version: str
    body: str
    sha: str

    def render(self, **values: str) -> str:
        """The body with each `{name}` replaced (other braces, as in JSON examples, kept)."""
        text = self.body
        for name, value in values.items():
            text = text.replace("{" + name + "}", value)
        return text


def parse_prompt(raw: str, where: str) -> Prompt:
    """A prompt from its file text; `where` names it in errors."""
    match = _FRONT.match(raw)
    if match is None:
        raise ConfigError(f"{where}: a prompt opens with front matter between '---' lines")
    head = dict(line.split(":", 1) for line in match["head"].splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in head.items()}
    if not fields.get("id") or not _VERSION.match(fields.get("version", "")):
        raise ConfigError(f"{where}: front matter needs `id` and a semantic `version` (1.2.3)")
    sha = hashlib.sha256(raw.encode("utf-8")).hexdigest()
    return Prompt(fields["id"], fields["version"], match["body"], sha)


def load_prompts(folder: Path = PROMPTS_DIR) -> dict[str, Prompt]:
    """Every prompt in `folder` by id."""
    prompts: dict[str, Prompt] = {}
    for path in sorted(folder.glob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        prompt = parse_prompt(path.read_text(encoding="utf-8"), str(path))
        if prompt.id in prompts:
            raise ConfigError(f"{path}: prompt id {prompt.id!r} is used twice")
        prompts[prompt.id] = prompt
    return prompts


def load_required(folder: Path = PROMPTS_DIR) -> dict[str, Prompt]:
    """The prompts of `folder`, refusing a folder that lacks one the service calls."""
    if not folder.is_dir():
        raise ConfigError(f"prompts folder {folder} does not exist")
    prompts = load_prompts(folder)
    missing = [name for name in REQUIRED if name not in prompts]
    if missing:
        raise ConfigError(f"prompts folder {folder} lacks the prompt(s) {', '.join(missing)}")
    return prompts


def lock_problems(prompts: dict[str, Prompt], folder: Path = PROMPTS_DIR) -> list[str]:
    """What differs between the prompts and their lock file (empty: all recorded)."""
    lock = _read_lock(folder)
    unlocked = [
        f"{p.id}: version {p.version} is not in {LOCK_FILE}; run `verity prompts --lock`"
        for p in prompts.values()
        if lock.get(p.id, {}).get("version") != p.version
    ]
    return [*_changed_under_same_version(prompts, lock), *unlocked]


def write_lock(prompts: dict[str, Prompt], folder: Path = PROMPTS_DIR) -> None:
    """Record every prompt's version and sha; refuses a text change under the same version."""
    refused = _changed_under_same_version(prompts, _read_lock(folder))
    if refused:
        raise ConfigError("; ".join(refused))
    lock = {p.id: {"version": p.version, "sha": p.sha} for p in prompts.values()}
    (folder / LOCK_FILE).write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")


def _changed_under_same_version(
    prompts: dict[str, Prompt], lock: dict[str, dict[str, str]]
) -> list[str]:
    return [
        f"{p.id}: the text changed but the version is still {p.version}; raise the version, "
        "then run `verity prompts --lock`"
        for p in prompts.values()
        if lock.get(p.id, {}).get("version") == p.version and lock[p.id]["sha"] != p.sha
    ]


def _read_lock(folder: Path) -> dict[str, dict[str, str]]:
    path = folder / LOCK_FILE
    if not path.exists():
        return {}
    lock: dict[str, dict[str, str]] = json.loads(path.read_text())
    return lock
