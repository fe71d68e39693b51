"""Fixtures for the lint and reference-page tests: tools, the spec, the built page."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")


def _load_build_docs() -> ModuleType:
    """Import scripts/build_docs.py, which is a script and not a package."""
    spec = importlib.util.spec_from_file_location(
        "build_docs", ROOT / "scripts" / "build_docs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up by name while the class is being built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


build_docs = _load_build_docs()


def running_in_ci() -> bool:
    """Tell whether CI is set, where a missing tool fails instead of skipping."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(condition: bool, reason: str) -> None:
    """Skip the test when ``condition`` is false, or fail it under CI."""
    if condition:
        return
    if running_in_ci():
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def require_node() -> None:
    """Skip or fail unless node and npm are installed."""
    require(
        shutil.which("node") is not None and shutil.which("npm") is not None,
        "node and npm are not installed; run scripts/setup_system.sh",
    )


def require_chromium() -> None:
    """Skip or fail unless Debian's chromium is installed."""
    require(
        CHROMIUM.exists(),
        f"{CHROMIUM} is not installed; run scripts/setup_system.sh",
    )


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
