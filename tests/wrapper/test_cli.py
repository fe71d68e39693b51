"""The `qomplement` command, run in-process through `main()` and once as a process."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from qomplement_jobs.cli import main
from qomplement_local_api import (
    SAMPLE_FAILED_JOB_ID,
    SAMPLE_FILL_PDF_JOB_ID,
    SAMPLE_PROCESSING_JOB_ID,
    LocalAPI,
    ManualClock,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def environment(api: LocalAPI, monkeypatch: pytest.MonkeyPatch) -> LocalAPI:
    monkeypatch.setenv("QOMPLEMENT_API_KEY", api.api_key)
    monkeypatch.setenv("QOMPLEMENT_BASE_URL", api.base_url)
    monkeypatch.setenv("COLUMNS", "200")
    return api


def test_get_prints_the_job_as_json(
    environment: LocalAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["get", SAMPLE_FILL_PDF_JOB_ID]) == 0

    job = json.loads(capsys.readouterr().out)
    assert job["id"] == SAMPLE_FILL_PDF_JOB_ID
    assert job["status"] == "completed"


def test_list_prints_a_table(
    environment: LocalAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list", "--limit", "5"]) == 0

    captured = capsys.readouterr()
    assert "of" in captured.out and "jobs" in captured.out
    assert captured.out.count("-4") + captured.out.count("-a") >= 5  # five UUID rows
    assert "--offset 5" in captured.err


def without_styling(printed: str) -> str:
    """`printed` with its ANSI colour and style codes removed."""
    return re.sub(r"\x1b\[[0-9;]*m", "", printed)


def table_cells(printed: str) -> list[list[str]]:
    """The cells of each body line of a printed table."""
    return [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in without_styling(printed).splitlines()
        if line.startswith("│")
    ]


def listed_jobs(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    """The jobs `list --json` prints for `argv`."""
    assert main(["list", "--json", *argv]) == 0
    jobs: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["jobs"]
    return jobs


def test_list_into_a_pipe_keeps_every_value_whole_on_one_line(
    environment: LocalAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    jobs = listed_jobs(capsys, "--status", "completed", "--limit", "100")
    monkeypatch.setenv("COLUMNS", "40")

    assert main(["list", "--status", "completed", "--limit", "100"]) == 0

    rows = table_cells(capsys.readouterr().out)
    assert [row[:3] for row in rows] == [
        [job["id"], job["type"], job["status"]] for job in jobs
    ]
    assert len(jobs) > 20


def test_list_on_a_narrow_terminal_folds_values_instead_of_cutting_them(
    environment: LocalAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    jobs = listed_jobs(capsys, "--limit", "8")
    terminal = TerminalOutput()
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setattr(sys, "stdout", terminal)

    assert main(["list", "--limit", "8"]) == 0

    printed = without_styling(terminal.getvalue())
    rows = table_cells(printed)
    assert max(len(line) for line in printed.splitlines()) <= 60
    assert "…" not in printed
    for column, key in enumerate(("id", "type", "status")):
        # A folded cell continues on the next lines, so each column, read
        # top to bottom, spells every value in order.
        assert "".join(row[column] for row in rows) == "".join(job[key] for job in jobs)


class TerminalOutput(io.StringIO):
    """Captured output that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_list_json_walks_every_page_with_all(
    environment: LocalAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list", "--json", "--limit", "1"]) == 0
    total = json.loads(capsys.readouterr().out)["total"]

    assert main(["list", "--json", "--all", "--limit", "10", "--status", "failed"]) == 0
    listed = json.loads(capsys.readouterr().out)

    assert total > 20
    assert listed["has_more"] is False
    assert {job["status"] for job in listed["jobs"]} == {"failed"}


def test_wait_exits_0_when_the_job_completed(
    environment: LocalAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["wait", SAMPLE_FILL_PDF_JOB_ID]) == 0
    assert f"Job {SAMPLE_FILL_PDF_JOB_ID} completed" in capsys.readouterr().out


def test_wait_exits_1_when_the_job_failed(
    environment: LocalAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["wait", SAMPLE_FAILED_JOB_ID]) == 1
    captured = capsys.readouterr()
    assert "no_form_fields" in captured.err
    assert captured.out == ""


def test_wait_json_prints_a_failed_job_and_still_exits_1(
    environment: LocalAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["wait", SAMPLE_FAILED_JOB_ID, "--json"]) == 1

    captured = capsys.readouterr()
    job = json.loads(captured.out)
    assert job["id"] == SAMPLE_FAILED_JOB_ID
    assert job["status"] == "failed"
    assert job["error"]["code"] == "no_form_fields"
    assert "no_form_fields" in captured.err


def test_wait_exits_3_when_it_times_out(
    environment: LocalAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["wait", SAMPLE_PROCESSING_JOB_ID, "--timeout", "0"]) == 3
    assert "did not finish" in capsys.readouterr().err


def test_wait_shows_progress_and_prints_the_job(
    environment: LocalAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = environment.create_job(duration=3.0, progress_steps=3)
    clock = environment.clock
    assert isinstance(clock, ManualClock)
    done = threading.Event()

    def run_time_fast() -> None:
        # The server's clock runs ten times faster than real time.
        while not done.wait(0.01):
            clock.advance(0.1)

    runner = threading.Thread(target=run_time_fast)
    runner.start()
    try:
        assert main(["wait", job_id, "--json", "--timeout", "30"]) == 0
    finally:
        done.set()
        runner.join()

    assert json.loads(capsys.readouterr().out)["status"] == "completed"


def test_api_errors_exit_2(
    environment: LocalAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["get", str(uuid.uuid4())]) == 2
    assert "Job not found" in capsys.readouterr().err
    assert main(["get", "not-a-uuid"]) == 2


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["list", "--status", "queued"]) == 2
    assert main(["--help"]) == 0
    assert "Exit codes" in capsys.readouterr().out


@pytest.mark.parametrize("timeout", ["-1", "nan", "inf", "soon"])
def test_wait_refuses_a_timeout_that_is_not_seconds_as_a_usage_error(
    timeout: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["wait", SAMPLE_PROCESSING_JOB_ID, "--timeout", timeout]) == 2

    err = capsys.readouterr().err
    assert "qomplement wait: error: argument --timeout:" in err
    assert repr(timeout) in err


@pytest.mark.parametrize("timeout", ["inf", "1e300", "1e10", "nan", "0", "-5"])
def test_an_unusable_request_timeout_is_a_usage_error(
    timeout: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--request-timeout", timeout, "list"]) == 2

    err = capsys.readouterr().err
    assert "qomplement: error: argument --request-timeout:" in err
    assert "at most 86400" in err
    assert "Traceback" not in err


def test_missing_key_exits_2_and_says_what_to_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["list"]) == 2

    err = " ".join(capsys.readouterr().err.split())
    assert "pass --api-key or set the QOMPLEMENT_API_KEY environment variable" in err
    assert "api_key=" not in err


def test_plain_http_is_refused_in_terms_of_the_cli_option(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QOMPLEMENT_API_KEY", "sd_" + "0" * 48)

    assert main(["--base-url", "http://example.com", "list"]) == 2

    err = " ".join(capsys.readouterr().err.split())
    assert "pass --allow-insecure-http if the network is trusted" in err
    assert "allow_insecure_http" not in err


def test_download_writes_the_file_and_prints_its_path(
    environment: LocalAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["download", SAMPLE_FILL_PDF_JOB_ID, str(tmp_path)]) == 0

    path = Path(capsys.readouterr().out.strip())
    assert path == tmp_path / "filled_form.pdf"
    assert path.read_bytes().startswith(b"%PDF")
    assert main(["download", SAMPLE_FILL_PDF_JOB_ID, str(tmp_path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{path} exists; pass --overwrite to replace it" in err
    assert "overwrite=True" not in err
    assert main(["download", SAMPLE_FILL_PDF_JOB_ID, str(tmp_path), "--overwrite"]) == 0


def test_download_to_a_missing_directory_names_it_and_writes_nothing(
    environment: LocalAPI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)

    assert main(["download", SAMPLE_FILL_PDF_JOB_ID, "nonexist/"]) == 2

    assert "Directory nonexist/ does not exist" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_into_a_pipe_each_message_is_one_line_and_success_writes_nothing(
    environment: LocalAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["download", SAMPLE_FILL_PDF_JOB_ID, str(tmp_path)]) == 0
    assert capsys.readouterr().err == ""
    assert main(["wait", SAMPLE_FILL_PDF_JOB_ID]) == 0
    assert capsys.readouterr().err == ""

    assert main(["wait", SAMPLE_FAILED_JOB_ID]) == 1
    assert capsys.readouterr().err == (
        f"Failed: Job {SAMPLE_FAILED_JOB_ID} failed "
        "(no_form_fields: The PDF has no fillable form fields)\n"
    )
    assert main(["download", SAMPLE_FILL_PDF_JOB_ID, str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"Error: {tmp_path / 'filled_form.pdf'} exists; "
        "pass --overwrite to replace it\n"
    )


def test_on_a_terminal_download_shows_a_progress_bar(
    environment: LocalAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = TerminalOutput()
    monkeypatch.setattr(sys, "stderr", terminal)

    assert main(["download", SAMPLE_FILL_PDF_JOB_ID, str(tmp_path)]) == 0

    assert "downloading" in without_styling(terminal.getvalue())


def test_into_a_pipe_a_long_error_is_not_wrapped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "40")

    assert main(["list"]) == 2

    assert capsys.readouterr().err == (
        "Error: No API key: pass --api-key or set the QOMPLEMENT_API_KEY "
        "environment variable\n"
    )


def test_the_cli_never_prints_the_key(
    environment: LocalAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = environment.api_key
    for argv in (
        ["-v", "get", SAMPLE_FILL_PDF_JOB_ID],
        ["-v", "list", "--json"],
        ["-v", "wait", SAMPLE_FAILED_JOB_ID],
        ["-v", "download", SAMPLE_PROCESSING_JOB_ID, str(tmp_path)],
        ["--api-key", environment.revoked_key, "get", SAMPLE_FILL_PDF_JOB_ID],
    ):
        main(argv)
    captured = capsys.readouterr()
    assert key not in captured.out + captured.err
    assert environment.revoked_key not in captured.out + captured.err


def test_a_key_given_as_the_base_url_is_not_printed(
    environment: LocalAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    key = environment.api_key

    assert main(["--base-url", key, "list"]) == 2
    assert main(["--base-url", f"{environment.base_url}/{key}", "list"]) == 2

    err = capsys.readouterr().err
    assert "Invalid base URL '[REDACTED]'" in err
    assert "GET /[REDACTED]/v1/jobs answered 404" in err
    assert key not in err


def test_the_console_script_runs_as_a_process(environment: LocalAPI) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            str(REPO / part) for part in ("generated", "wrapper", "local_api")
        ),
    }
    result = subprocess.run(
        [sys.executable, "-m", "qomplement_jobs.cli", "get", SAMPLE_FILL_PDF_JOB_ID],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id"] == SAMPLE_FILL_PDF_JOB_ID
    assert environment.api_key not in result.stdout + result.stderr
