"""Settings come from VERITY_ variables, validated."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import Settings, parse_watch_dirs


def test_watch_dirs_are_named_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERITY_WATCH_DIRS", "help=/srv/help, /srv/manuals")
    settings = Settings()
    assert [(d.name, d.root) for d in settings.watch_dirs] == [
        ("help", Path("/srv/help")),
        ("manuals", Path("/srv/manuals")),
    ]


def test_a_source_named_twice_is_an_error() -> None:
    with pytest.raises(ValueError, match="twice"):
        parse_watch_dirs("a=/x,a=/y")


def test_bad_numbers_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERITY_MAX_FILE_MB", "-1")
    with pytest.raises(ValidationError):
        Settings()


def test_catalog_defaults_to_sqlite_in_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path))
    assert Settings().catalog_url == f"sqlite:///{tmp_path / 'catalog.db'}"
    monkeypatch.setenv("VERITY_DATABASE_URL", "postgresql+psycopg://h/db")
    assert Settings().catalog_url == "postgresql+psycopg://h/db"
