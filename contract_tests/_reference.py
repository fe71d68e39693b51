"""The documented JSON bodies that live beside the repository.

They sit in ``../shared/reference/examples/`` from the repository root. A
checkout without them skips their checks with a reason naming that path,
except in CI (``CI`` set), where their absence fails the run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

from contract_tests._spec import ROOT

EXAMPLES_DIR = ROOT.parent / "shared" / "reference" / "examples"


def reference_files(folder: Path | None = None) -> list[Path]:
    """Return the non-abridged ``*.json`` files of ``folder``, sorted by name.

    ``folder`` defaults to :data:`EXAMPLES_DIR`; a missing folder has none.
    """
    folder = EXAMPLES_DIR if folder is None else folder
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.glob("*.json")
        if not path.name.endswith(".abridged.json")
    )


def no_reference_files(folder: Path | None = None) -> NoReturn:
    """Skip the current test because ``folder`` holds no example; fail in CI.

    Raises:
        pytest.skip.Exception: outside CI.
        pytest.fail.Exception: when ``CI`` is set.
    """
    folder = EXAMPLES_DIR if folder is None else folder
    where = f"{folder} (../shared/reference/examples/ from the repository root)"
    if folder.is_dir():
        message = f"reference examples folder {where} holds no example"
    else:
        message = f"reference examples folder {where} is absent"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
