"""The main job, scripts/conformance.py, run as a user runs it.

Against the faithful local API it must conform; against a local API told to
break the spec in one way it must exit 1 and name the operation and the check
that caught it; it must never print the key; a run it cannot set up exits 2.
Every run is bounded: few examples per operation and a timeout.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "conformance.py"
RUN_TIMEOUT_SECONDS = 240
MAX_EXAMPLES = "5"

for folder in ("generated", "local_api", "wrapper"):
    if str(ROOT / folder) not in sys.path:
        sys.path.append(str(ROOT / folder))

from qomplement_local_api import serve  # noqa: E402
from qomplement_local_api.deviations import Exchange  # noqa: E402


@dataclass
class MainJobRun:
    """What one run of the main job left behind."""

    returncode: int
    stdout: str
    stderr: str
    results: dict[str, Any] | None
    junit: Path
    log: Path

    def status_of(self, operation: str, check: str) -> str | None:
        """The status the results file gives ``check`` for ``operation``."""
        assert self.results is not None
        for outcome in self.results["results"]:
            if (outcome["operation"], outcome["check"]) == (operation, check):
                return str(outcome["status"])
        return None

    def outcome_of(self, operation: str, check: str) -> dict[str, Any]:
        """The results file's entry for ``check`` of ``operation``."""
        assert self.results is not None
        for outcome in self.results["results"]:
            if (outcome["operation"], outcome["check"]) == (operation, check):
                return dict(outcome)
        raise AssertionError(f"no outcome for {operation} / {check}")

    def everything_written(self) -> str:
        """Every byte the run printed or wrote, for leak checks."""
        parts = [self.stdout, self.stderr]
        for path in (self.junit, self.log):
            if path.is_file():
                parts.append(path.read_text(encoding="utf-8"))
        if self.results is not None:
            parts.append(json.dumps(self.results))
        return "\n".join(parts)


def run_main_job(
    tmp_path: Path, *args: str, env: Mapping[str, str] | None = None
) -> MainJobRun:
    """Run scripts/conformance.py with its reports in ``tmp_path``."""
    junit = tmp_path / "junit.xml"
    results = tmp_path / "results.json"
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("QOMPLEMENT_")
    }
    environment.update(env or {})
    completed = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--junit",
            str(junit),
            "--results",
            str(results),
            *args,
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )
    loaded = (
        json.loads(results.read_text(encoding="utf-8")) if results.is_file() else None
    )
    return MainJobRun(
        returncode=completed.returncode,
        stdout=completed.stdout,
        stderr=completed.stderr,
        results=loaded,
        junit=junit,
        log=tmp_path / "conformance-pytest.log",
    )


def test_main_job_conforms_against_the_faithful_local_api(tmp_path: Path) -> None:
    """The bundled local API passes every check, and the reports say so."""
    run = run_main_job(tmp_path, "--max-examples", MAX_EXAMPLES)

    assert run.returncode == 0, run.stdout + run.stderr
    assert "CONFORMS to openapi.yaml" in run.stdout
    assert "Target: the bundled local API" in run.stdout
    assert run.results is not None
    assert run.results["target"]["kind"] == "local"
    assert run.results["examples"]["total"] > 0
    assert run.results["errors"] == []
    failed = [o for o in run.results["results"] if o["status"] == "failed"]
    assert failed == []
    for operation in ("GET /v1/jobs", "GET /v1/jobs/{job_id}"):
        for check in ("response_schema_conformance", "ignored_auth"):
            assert run.status_of(operation, check) == "passed"
    download = "GET /v1/jobs/{job_id}/download"
    assert run.status_of(download, "negative_data_rejection") == "passed"
    assert run.status_of(download, "explicit_download_media_type") == "passed"
    assert run.status_of(download, "explicit_download_content_disposition") == "passed"
    assert run.status_of(download, "links_followed") == "passed"
    suite = ElementTree.parse(run.junit).getroot().iter("testsuite")
    totals = [(int(s.get("failures", 0)), int(s.get("errors", 0))) for s in suite]
    assert totals and all(total == (0, 0) for total in totals)


@dataclass
class ProcessingTimeAsText:
    """Sends a job's ``processing_time_ms`` as a string: ``"8000"``, not ``8000``."""

    name: str = "processing_time_ms_as_text"

    def rewrite(self, exchange: Exchange) -> Exchange:
        """Rewrite the body of a 200 ``GET /v1/jobs/{job_id}`` answer."""
        parts = exchange.path.strip("/").split("/")
        if exchange.status != 200 or exchange.body is None or len(parts) != 3:
            return exchange
        if parts[:2] != ["v1", "jobs"]:
            return exchange
        job = json.loads(exchange.body)
        job["processing_time_ms"] = str(job.get("processing_time_ms") or 0)
        body = json.dumps(job).encode()
        headers = [
            (name, str(len(body)).encode() if name.lower() == b"content-length" else v)
            for name, v in exchange.headers
        ]
        return replace(exchange, body=body, headers=headers)


@pytest.fixture
def deviating_api() -> Iterator[Any]:
    """A local API whose single-job answers carry a field of the wrong type."""
    with serve(deviations=[ProcessingTimeAsText()]) as api:
        yield api


def test_main_job_names_the_operation_and_check_a_wrong_field_type_breaks(
    tmp_path: Path, deviating_api: Any
) -> None:
    """A string where the spec says integer fails the single job's schema check."""
    run = run_main_job(
        tmp_path,
        "--base-url",
        deviating_api.base_url,
        "--max-examples",
        MAX_EXAMPLES,
        "--skip-drift",
        env={"QOMPLEMENT_API_KEY": deviating_api.api_key, "QOMPLEMENT_MAX_RPS": "1000"},
    )

    assert run.returncode == 1, run.stdout + run.stderr
    assert "DEVIATES from openapi.yaml" in run.stdout
    assert "FAIL GET /v1/jobs/{job_id} · response_schema_conformance" in run.stdout
    assert run.status_of("GET /v1/jobs/{job_id}", "response_schema_conformance") == (
        "failed"
    )
    # The list answers are untouched, so their schema check still passes.
    assert run.status_of("GET /v1/jobs", "response_schema_conformance") == "passed"
    failure = run.outcome_of("GET /v1/jobs/{job_id}", "response_schema_conformance")[
        "failure"
    ]
    assert "processing_time_ms" in failure["message"] or "integer" in failure["message"]
    assert failure["method"] == "GET"
    assert failure["url"].startswith(f"{deviating_api.base_url}/v1/jobs/")
    assert failure["curl"].startswith("curl -X GET")
    assert "Bearer [REDACTED]" in failure["curl"]
    assert f"reproduce: {failure['curl']}" in run.stdout
    assert deviating_api.api_key not in run.everything_written()


def test_main_job_refuses_a_base_url_without_a_key(tmp_path: Path) -> None:
    """Naming a running service but no key is a usage error, exit 2."""
    run = run_main_job(tmp_path, "--base-url", "http://127.0.0.1:9")

    assert run.returncode == 2
    assert "QOMPLEMENT_API_KEY" in run.stdout
    assert run.results is None


def test_main_job_reports_an_unreachable_target_as_a_setup_error(
    tmp_path: Path,
) -> None:
    """A target that refuses connections exits 2 and keeps the key to itself."""
    with socket.socket() as closed:
        # Bound but not listening: connections to it are refused at once.
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        key = "sd_" + "ab" * 24
        run = run_main_job(
            tmp_path,
            "--base-url",
            f"http://127.0.0.1:{port}",
            env={"QOMPLEMENT_API_KEY": key},
        )

    assert run.returncode == 2
    assert "cannot be reached" in run.stdout
    assert key not in run.everything_written()


@pytest.mark.parametrize(
    "args",
    [["--max-examples", "0"], ["--max-examples", "many"], ["--no-such-flag"]],
)
def test_main_job_exits_2_on_bad_arguments(tmp_path: Path, args: list[str]) -> None:
    """Arguments that make no sense are a usage error, not a verdict."""
    run = run_main_job(tmp_path, *args)

    assert run.returncode == 2
    assert run.results is None
