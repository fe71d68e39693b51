"""Fixtures for the lint and reference-page tests: tools, the spec, the built page."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from docs_support import ROOT, build_docs, require_node


@pytest.fixture(scope="session")
def redocly() -> Any:
    """Return the build_docs module once node_modules matches the lock file."""
    require_node()
    build_docs.ensure_node_modules()
    return build_docs


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    """Return openapi.yaml as parsed YAML."""
    with (ROOT / "openapi.yaml").open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.safe_load(handle)
    return loaded


@pytest.fixture(scope="session")
def built_page(redocly: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the reference page from the current spec into a fresh folder."""
    folder = tmp_path_factory.mktemp("docs")
    page: Path = redocly.build(folder / "index.html")
    return page


@pytest.fixture
def spec_copy(tmp_path: Path) -> Iterator[Path]:
    """Copy openapi.yaml into a temporary folder for a test to break."""
    copy = tmp_path / "openapi.yaml"
    shutil.copyfile(ROOT / "openapi.yaml", copy)
    yield copy
