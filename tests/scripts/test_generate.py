"""The drift check fails when openapi.yaml changes without regenerating.

Each test works on a copy of the repository's spec, generator config,
generated/ and scripts/generate.py in a temporary folder, so the real tree
is never touched.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of what scripts/generate.py reads and writes."""
    for name in ("openapi.yaml", "openapi-python-client.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(
        ROOT / "generated",
        tmp_path / "generated",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "generate.py", tmp_path / "scripts")
    return tmp_path


def _generate(checkout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the copied scripts/generate.py with the pinned generator."""
    return subprocess.run(
        [sys.executable, str(checkout / "scripts" / "generate.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_generated_code_matches_the_spec(checkout: Path) -> None:
    done = _generate(checkout, "--check")

    assert done.returncode == 0, done.stderr
    assert "matches openapi.yaml" in done.stdout


def test_a_schema_change_without_regenerating_fails_the_drift_check(
    checkout: Path,
) -> None:
    spec = checkout / "openapi.yaml"
    text = spec.read_text(encoding="utf-8")
    old = "          description: Form fields in the PDF.\n"
    assert text.count(old) == 1
    spec.write_text(
        text.replace(
            old,
            old + "        fields_skipped:\n"
            "          type: integer\n"
            "          description: Form fields left empty.\n",
        ),
        encoding="utf-8",
    )

    stale = _generate(checkout, "--check")
    regenerated = _generate(checkout)
    fresh = _generate(checkout, "--check")

    assert stale.returncode == 1
    assert "out of date" in stale.stderr
    assert "fill_pdf_result.py" in stale.stderr
    assert "fields_skipped" in stale.stderr
    assert regenerated.returncode == 0, regenerated.stderr
    assert fresh.returncode == 0, fresh.stderr
    model = checkout / "generated/qomplement_jobs_client/models/fill_pdf_result.py"
    assert "fields_skipped" in model.read_text(encoding="utf-8")
