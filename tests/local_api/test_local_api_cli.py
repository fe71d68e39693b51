"""The command line: ``python -m qomplement_local_api serve`` in a subprocess."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from qomplement_local_api import LocalAPIControl

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 20.0


def environment() -> dict[str, str]:
    """The current environment with the in-repo packages importable."""
    paths = [str(ROOT / folder) for folder in ("generated", "local_api", "wrapper")]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
    return env


def read_lines(stream: object, lines: queue.Queue[str]) -> None:
    """Copy the lines of ``stream`` into ``lines`` until it closes."""
    for line in stream:  # type: ignore[attr-defined]
        lines.put(line)


@pytest.fixture
def server_process() -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """Run ``serve --port 0 --manual-clock``; yield it and the values it printed."""
    command = ["serve", "--port", "0", "--manual-clock"]
    process = subprocess.Popen(
        [sys.executable, "-m", "qomplement_local_api", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=read_lines, args=(process.stdout, lines), daemon=True
    ).start()
    printed: dict[str, str] = {}
    try:
        while "QOMPLEMENT_API_KEY" not in printed:
            line = lines.get(timeout=STARTUP_TIMEOUT)
            name, _, value = line.strip().partition("=")
            if value:
                printed[name] = value
        yield process, printed
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        for stream in (process.stdout, process.stderr):
            assert stream is not None
            stream.close()


def test_serve_prints_url_and_key_serves_and_stops_on_sigterm(
    server_process: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    process, printed = server_process
    base_url = printed["QOMPLEMENT_BASE_URL"]
    key = printed["QOMPLEMENT_API_KEY"]

    listing = httpx.get(
        f"{base_url}/v1/jobs", headers={"Authorization": f"Bearer {key}"}
    )
    with LocalAPIControl(base_url) as control:
        job_id = control.create_job(type="extract", duration=3.0)
        control.advance_clock(3.0)
        assert control.api_key == key
    job = httpx.get(
        f"{base_url}/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {key}"}
    )
    process.send_signal(signal.SIGTERM)
    returncode = process.wait(timeout=15)

    assert base_url.startswith("http://127.0.0.1:")
    assert key.startswith("sd_") and len(key) == 51
    assert listing.json()["total"] == 45
    assert job.json()["status"] == "completed"
    assert returncode == 0


def run_cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the command line to completion (bounded)."""
    return subprocess.run(
        [sys.executable, "-m", "qomplement_local_api", *arguments],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=30,
    )


def test_serve_refuses_a_host_that_is_not_loopback() -> None:
    result = run_cli("serve", "--host", "0.0.0.0", "--port", "0")

    assert result.returncode == 2
    assert "not a loopback address" in result.stderr
    assert "--allow-non-loopback" in result.stderr
    assert result.stdout == ""


def test_serve_reports_a_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--port", str(port))

    assert result.returncode == 1
    assert result.stderr.startswith("error:")


def test_main_is_the_console_entry_point() -> None:
    from qomplement_local_api.__main__ import main

    with pytest.raises(SystemExit) as caught:
        main(["--help"])

    assert caught.value.code == 0


@pytest.mark.parametrize("port", ["70000", "65536", "99999", "-1", "http"])
def test_serve_refuses_a_port_outside_0_to_65535(
    port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from qomplement_local_api.__main__ import main

    with pytest.raises(SystemExit) as caught:
        main(["serve", "--port", port])

    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "argument --port:" in err
    assert repr(port) in err or "port must be 0 to 65535" in err


def test_serve_refuses_port_70000_before_listening_anywhere() -> None:
    result = run_cli("serve", "--port", "70000")

    assert result.returncode == 2
    assert "port must be 0 to 65535, not 70000" in result.stderr
    assert result.stdout == ""


def test_serve_help_names_the_control_routes() -> None:
    result = run_cli("serve", "--help")

    assert result.returncode == 0
    assert "POST /_local/jobs creates a job" in " ".join(result.stdout.split())
