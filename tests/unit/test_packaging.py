"""The locks and pyproject agree, every locked file is hashed, and the wheel carries its data."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


LOCKS = ("requirements.lock", "requirements-test.lock")  # what Verity runs with; what tests add


def locked(*names: str) -> dict[str, str]:
    pins = {}
    for name in names or LOCKS:
        for line in (ROOT / name).read_text().splitlines():
            pin, sep, version = line.strip().removesuffix("\\").strip().partition("==")
            if sep:
                pins[pin.lower().replace("_", "-")] = version
    return pins


def test_every_declared_requirement_admits_its_locked_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    runtime = locked("requirements.lock")  # the image installs only this one
    for requirements, pins in (
        (project["dependencies"] + extras["pdf"], runtime),
        (extras["test"], locked()),
    ):
        for text in requirements:
            requirement = Requirement(text)
            version = pins.get(requirement.name.lower().replace("_", "-"))
            assert version is not None, f"{requirement.name} is not locked where it is needed"
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{text} does not admit the locked {version}"
            )


def test_torch_is_locked_to_the_cpu_wheel_on_disk_and_torchvision_is_absent() -> None:
    pins = locked()
    assert pins["torch"] == "2.13.0"
    assert "torchvision" not in pins and "timm" not in pins


def test_a_built_wheel_carries_prompts_migrations_and_the_chat_page(tmp_path: Path) -> None:
    """A non-editable install (a wheel) must run as the repository does: the prompts, the
    catalog's migrations and the chat page are data files, not modules."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    packages = ("core", "schemas", "catalog", "ingest", "index", "retrieve", "answer", "verity")
    for name in (*packages, "prompts"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("verity-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"prompts/answer.md", "prompts/repair.md", "prompts/condense.md"} <= names
    assert "prompts/prompts.lock.json" in names
    assert "verity/chat.html" in names and "catalog/migrations/env.py" in names
    assert {"verity/console.html", "verity/static/console.js", "verity/static/api.js"} <= names
    assert any(n.startswith("catalog/migrations/versions/0011") for n in names)

    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)  # a wheel unpacked is what pip installs
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "from answer.prompts import PROMPTS_DIR, load_required, lock_problems; "
            "p = load_required(); print(PROMPTS_DIR, sorted(p), lock_problems(p))",
        ],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == f"{site / 'prompts'} ['answer', 'condense', 'repair'] []"


def test_every_locked_package_is_pinned_once_with_its_hashes() -> None:
    for name in LOCKS:
        text = (ROOT / name).read_text()
        entries = [e for e in re.split(r"\n(?=\S)", text) if e.strip() and not e.startswith("#")]
        assert len(entries) == len(locked(name))
        for entry in entries:
            assert "==" in entry.split("\\")[0] and "--hash=sha256:" in entry, entry[:80]
    assert not set(locked(LOCKS[0])) & set(locked(LOCKS[1])), "a package locked twice"
