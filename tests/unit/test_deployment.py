"""The deployment files: docker-compose.yml is valid Compose (checked against the Compose
Specification's JSON schema: no Docker engine runs here), passes only settings that exist,
builds every Verity role from the one Dockerfile; the alert rules watch real metrics."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft201909Validator
from prometheus_client import REGISTRY

import core.telemetry  # noqa: F401  (registers every metric)
from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads((ROOT / "tests" / "data" / "compose-spec.json").read_text())
    errors = sorted(Draft201909Validator(schema).iter_errors(compose()), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_schema_check_catches_a_mistake() -> None:
    schema = json.loads((ROOT / "tests" / "data" / "compose-spec.json").read_text())
    broken = compose()
    broken["services"]["api"]["healthcheck"]["retries"] = "five"
    broken["services"]["worker"]["restart_policy"] = "always"
    assert len(list(Draft201909Validator(schema).iter_errors(broken))) >= 2


def test_every_verity_setting_in_compose_exists() -> None:
    fields = {f"VERITY_{name.upper()}" for name in Settings.model_fields}
    passed = {
        key
        for service in compose()["services"].values()
        for key in (service.get("environment") or {})
        if key.startswith("VERITY_")
    }
    assert passed, "compose passes no settings"
    assert passed <= fields, sorted(passed - fields)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert set(re.findall(r"\b(VERITY_[A-Z_]+)=", dockerfile)) <= fields


def test_the_image_copies_every_package_the_project_installs() -> None:
    """The Dockerfile copies folders one by one: a package added to pyproject must be too."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {name.rstrip("*") for name in include}
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (ROOT / "Dockerfile").read_text(), re.M))
    assert packages <= copied, sorted(packages - copied)
    assert re.search(r"^COPY .*README\.md", (ROOT / "Dockerfile").read_text(), re.M)


@pytest.mark.parametrize("role", ["api", "worker", "watcher"])
def test_every_role_runs_the_one_image_with_health_checks(role: str) -> None:
    services = compose()["services"]
    service = services[role]
    assert service["build"] == "." and service["image"] == "verity:latest"
    assert service["command"][0] == {"api": "serve", "watcher": "watch"}.get(role, role)
    assert "healthcheck" in service
    env = service["environment"]
    assert env["VERITY_ALLOW_LOCAL_WITHOUT_KEY"] == "false"  # keys are required in compose
    assert env["VERITY_BROKER_URL"].startswith("redis://redis:")
    assert all(services[name].get("healthcheck") for name in service["depends_on"])
    assert "container_name" not in service  # workers scale: --scale worker=N


def test_settings_accept_what_compose_passes() -> None:
    env = {
        key.removeprefix("VERITY_").lower(): value
        for key, value in compose()["services"]["worker"]["environment"].items()
        if key.startswith("VERITY_") and not str(value).startswith("${")
    }
    settings = Settings(**env)
    assert settings.allow_local_without_key is False
    assert settings.metrics_port == 9100


def test_alert_rules_watch_metrics_that_exist() -> None:
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    assert len(exprs) >= 6
    known = {metric.name for metric in REGISTRY.collect()}
    used = {name for expr in exprs for name in re.findall(r"\b(verity_[a-z_]+)", expr)}
    base = {re.sub(r"_(bucket|count|sum|total)$", "", name) for name in used}
    assert base <= known | {n.removesuffix("_total") for n in known}, sorted(base - known)


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [n for n in Settings.model_fields if f"`VERITY_{n.upper()}`" not in readme]
    assert not missing, f"document these settings in README.md: {missing}"


def test_the_qdrant_server_is_new_enough_for_what_the_backend_sends() -> None:
    """Weighted RRF (`rrf: {k, weights}`) needs Qdrant 1.17; qdrant-client's check accepts a
    server one minor apart from it."""
    import importlib.metadata

    from packaging.version import Version

    image = compose()["services"]["qdrant"]["image"]
    server = Version(image.rsplit(":v", 1)[1])
    client = Version(importlib.metadata.version("qdrant-client"))
    assert server >= Version("1.17"), image
    assert abs(server.minor - client.minor) <= 1 and server.major == client.major, (image, client)
