"""Paths, the build script and tool checks shared by the docs tests."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

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
