"""Where the contract suite looks for the documented JSON bodies, and if they are gone.

The folder lives outside the repository (``../shared/reference/examples/``): a
checkout without it skips those checks with a reason naming the path, unless
``CI`` is set, where a missing folder is a failure.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

from contract_tests._reference import (  # noqa: E402
    EXAMPLES_DIR,
    no_reference_files,
    reference_files,
)


def test_reference_examples_are_found_beside_the_repository() -> None:
    """The folder is ../shared/reference/examples/ from the repository root."""
    assert ROOT.parent / "shared" / "reference" / "examples" == EXAMPLES_DIR


def test_only_complete_examples_are_checked(tmp_path: Path) -> None:
    """*.abridged.json files and other files are left out; the rest come sorted."""
    for name in ("job-b.json", "job-a.json", "job-c.abridged.json", "notes.txt"):
        (tmp_path / name).write_text("{}", encoding="utf-8")

    names = [path.name for path in reference_files(tmp_path)]

    assert names == ["job-a.json", "job-b.json"]


def test_missing_folder_skips_with_a_reason_naming_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside CI, no folder means a skip that says where it looked."""
    missing = tmp_path / "examples"
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception, match=f"{missing} .* is absent"):
        no_reference_files(missing)

    assert reference_files(missing) == []


def test_missing_folder_fails_in_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In CI a missing folder must not pass unnoticed."""
    missing = tmp_path / "examples"
    monkeypatch.setenv("CI", "true")

    with pytest.raises(pytest.fail.Exception, match=str(missing)):
        no_reference_files(missing)
