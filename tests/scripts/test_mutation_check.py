"""The mutation check, scripts/mutation_check.py: its runs, its table, its verdict.

A bounded real run checks three deviations with few examples; the verdict's
rules (a deviation slipping through, a faithful server that deviates) are
checked on the script's own records of runs.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "mutation_check.py"
RUN_TIMEOUT_SECONDS = 240


def _load_script() -> ModuleType:
    """Import scripts/mutation_check.py as a module."""
    spec = importlib.util.spec_from_file_location("mutation_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


mutation_check = _load_script()


def _environment() -> dict[str, str]:
    """The caller's environment without any QOMPLEMENT_ settings."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("QOMPLEMENT_")
    }


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the script as a user would."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )


def test_three_deviations_are_caught_and_the_table_says_by_what(
    tmp_path: Path,
) -> None:
    output = tmp_path / "mutation-results.md"
    run = _run(
        "--deviation",
        "total_as_string",
        "--deviation",
        "pages_skip",
        "--deviation",
        "rate_limit_without_retry_after",
        "--max-examples",
        "3",
        "--output",
        str(output),
        "--reports",
        str(tmp_path / "reports"),
    )

    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 of 3 deviations caught; faithful local API clean" in run.stdout
    table = output.read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]]
        for line in table.splitlines()
        if line.startswith("| ") and not line.startswith(("| deviation", "| ---"))
    }
    assert set(rows) == {
        "(faithful)",
        "`total_as_string`",
        "`pages_skip`",
        "`rate_limit_without_retry_after`",
    }
    assert rows["(faithful)"][1:3] == ["clean", "-"]
    assert rows["`total_as_string`"][1] == "yes"
    assert "response_schema_conformance (list)" in rows["`total_as_string`"][2]
    assert rows["`pages_skip`"][1:3] == ["yes", "explicit_pages_add_up (list)"]
    limited = rows["`rate_limit_without_retry_after`"]
    assert limited[1] == "yes"
    assert "explicit_rate_limit_retry_after (" in limited[2]
    assert rows["`pages_skip`"][0] == (
        "Each page after the first starts a job late, skipping one."
    )
    assert all(row[3].endswith(" s") for row in rows.values())
    assert f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d}" in table
    assert f"{os.cpu_count()} CPUs" in table
    assert "3 generated examples per operation" in table
    for name in ("faithful", "total_as_string", "pages_skip"):
        results = tmp_path / "reports" / name / "run-1" / "conformance-results.json"
        assert results.is_file()


def test_an_unknown_deviation_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    output = tmp_path / "mutation-results.md"
    run = _run("--deviation", "no_such_deviation", "--output", str(output))

    assert run.returncode == 2
    assert "unknown deviation 'no_such_deviation'" in run.stdout
    assert not output.exists()


def test_the_main_job_refuses_a_deviation_it_cannot_apply(tmp_path: Path) -> None:
    conformance = [sys.executable, str(ROOT / "scripts" / "conformance.py")]
    reports = [
        "--results",
        str(tmp_path / "r.json"),
        "--junit",
        str(tmp_path / "j.xml"),
    ]
    unknown = subprocess.run(
        [*conformance, *reports, "--deviation", "no_such_deviation"],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )
    remote = subprocess.run(
        [*conformance, *reports, "--deviation", "total_as_string"],
        cwd=ROOT,
        env=_environment()
        | {
            "QOMPLEMENT_BASE_URL": "http://127.0.0.1:9",
            "QOMPLEMENT_API_KEY": "sd_" + "ab" * 24,
        },
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )

    assert unknown.returncode == 2
    assert "unknown deviation 'no_such_deviation'" in unknown.stdout
    assert remote.returncode == 2
    assert "--deviation applies to the bundled local API only" in remote.stdout


def _run_record(name: str | None, *, exit_status: int, failed: bool) -> Any:
    """One run as the script records it."""
    checks = [("GET /v1/jobs", "response_schema_conformance")] if failed else []
    return mutation_check.MainJobRun(name, exit_status, 1.5, failed_checks=checks)


def test_the_verdict_fails_when_a_deviation_slips_through() -> None:
    faithful = mutation_check.Verdict(
        "(faithful)", "", [_run_record(None, exit_status=0, failed=False)]
    )
    caught = mutation_check.Verdict(
        "total_as_string",
        "",
        [_run_record("total_as_string", exit_status=1, failed=True)],
    )
    missed_once = mutation_check.Verdict(
        "pages_skip",
        "",
        [
            _run_record("pages_skip", exit_status=1, failed=True),
            _run_record("pages_skip", exit_status=0, failed=False),
        ],
    )

    assert mutation_check.exit_status(faithful, [caught]) == 0
    assert mutation_check.exit_status(faithful, [caught, missed_once]) == 1
    assert missed_once.outcome == "1/2"
    assert mutation_check.summary_line(faithful, [caught, missed_once]) == (
        "1 of 2 deviations caught; faithful local API clean"
    )


def test_the_verdict_fails_when_the_faithful_server_deviates() -> None:
    faithful = mutation_check.Verdict(
        "(faithful)", "", [_run_record(None, exit_status=1, failed=True)]
    )
    caught = mutation_check.Verdict(
        "total_as_string",
        "",
        [_run_record("total_as_string", exit_status=1, failed=True)],
    )

    assert mutation_check.exit_status(faithful, [caught]) == 1
    assert mutation_check.summary_line(faithful, [caught]) == (
        "1 of 1 deviations caught; faithful local API NOT clean "
        "(response_schema_conformance (list))"
    )


def test_a_run_that_could_not_be_set_up_catches_nothing() -> None:
    broken = mutation_check.MainJobRun(
        "total_as_string", 2, 0.4, problem="setup error (exit 2)"
    )
    verdict = mutation_check.Verdict("total_as_string", "", [broken])

    assert not verdict.caught
    assert verdict.outcome == "setup error (exit 2)"
