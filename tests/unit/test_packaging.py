"""The lock file and pyproject agree, so a fresh install resolves."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        name, sep, version = line.strip().partition("==")
        if sep:
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_every_declared_requirement_admits_its_locked_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = locked()
    requirements = project["dependencies"] + project["optional-dependencies"]["test"]
    for text in requirements:
        requirement = Requirement(text)
        version = pins.get(requirement.name.lower().replace("_", "-"))
        assert version is not None, f"{requirement.name} is not in requirements.lock"
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{text} does not admit the locked {version}"
        )


def test_torch_is_locked_to_the_cpu_wheel_on_disk_and_torchvision_is_absent() -> None:
    pins = locked()
    assert pins["torch"] == "2.13.0"
    assert "torchvision" not in pins and "timm" not in pins
