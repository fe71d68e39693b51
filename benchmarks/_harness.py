"""What every comparison needs: the local API in its own process, a probe of
its latency, worker processes, and the arithmetic of the figures."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]
from qomplement_local_api import LocalAPIControl

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
PACKAGE_FOLDERS = ("generated", "wrapper", "local_api")

# How long the local API may take to print its address.
_SERVER_START_TIMEOUT = 30.0
# What a worker started with a handshake prints once it is set up.
READY = "ready"
# Seconds between two probes of the server's latency.
_PROBE_INTERVAL = 0.2


def worker_environment() -> dict[str, str]:
    """The environment of a worker: this repository's packages importable."""
    paths = [str(REPO), *(str(REPO / folder) for folder in PACKAGE_FOLDERS)]
    inherited = os.environ.get("PYTHONPATH")
    if inherited:
        paths.append(inherited)
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(paths),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


class WorkerError(RuntimeError):
    """Raised when a worker process fails or answers something unreadable."""


def start_worker(
    task: str, arguments: dict[str, Any], *, handshake: bool = False
) -> subprocess.Popen[str]:
    """Start `python -m benchmarks.worker TASK` with `arguments` on its stdin.

    With `handshake`, stdin stays open: the worker says it is ready once set
    up, and `release_worker` then sends it a last message (such as when to
    start). The worker's stderr goes to ours, so its failures are visible.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.worker", task],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=worker_environment(),
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps(arguments) + "\n")
    process.stdin.flush()
    if not handshake:
        _close_stdin(process)
    return process


def _close_stdin(process: subprocess.Popen[str]) -> None:
    """Close a worker's stdin for good."""
    assert process.stdin is not None
    process.stdin.close()
    # Closed: communicate() must not touch it again.
    process.stdin = None


def wait_until_ready(process: subprocess.Popen[str]) -> None:
    """Block until a worker started with `handshake` says it is ready.

    Raises:
        WorkerError: it ended or said something else.
    """
    assert process.stdout is not None
    line = process.stdout.readline()
    if line.strip() != READY:
        raise WorkerError(f"worker {process.args!r} did not get ready: {line!r}")


def release_worker(process: subprocess.Popen[str], message: dict[str, Any]) -> None:
    """Send a ready worker its last message."""
    assert process.stdin is not None
    process.stdin.write(json.dumps(message) + "\n")
    process.stdin.flush()
    _close_stdin(process)


def worker_ready() -> dict[str, Any]:
    """In a worker started with `handshake`: say so, and return the last message."""
    print(READY, flush=True)
    message: dict[str, Any] = json.loads(sys.stdin.readline())
    return message


def finish_worker(process: subprocess.Popen[str], *, timeout: float) -> Any:
    """Wait for a worker started by `start_worker` and return its JSON answer.

    Raises:
        WorkerError: it ran past `timeout`, failed, or printed no JSON.
    """
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_worker(process)
        raise WorkerError(f"worker {process.args!r} ran past {timeout:.0f} s") from None
    except BaseException:
        stop_worker(process)
        raise
    if process.returncode != 0:
        raise WorkerError(f"worker {process.args!r} exited {process.returncode}")
    try:
        return json.loads(output)
    except json.JSONDecodeError:
        raise WorkerError(f"worker {process.args!r} printed no JSON") from None


def stop_worker(process: subprocess.Popen[str]) -> None:
    """Kill a worker that is still running, and reap it."""
    if process.poll() is None:
        process.kill()
    process.wait()


def run_worker(task: str, arguments: dict[str, Any], *, timeout: float) -> Any:
    """Run one worker to its end and return its JSON answer."""
    return finish_worker(start_worker(task, arguments), timeout=timeout)


class LocalServer:
    """The local API in a process of its own, and its control surface.

    Started with `qomplement-local-api serve --port 0` (the module form),
    without sample data; stopped (SIGTERM, then SIGKILL) on exit.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.api_key = ""
        self.control: LocalAPIControl | None = None

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self._process is not None
        return self._process.pid

    def __enter__(self) -> LocalServer:
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "qomplement_local_api",
                "serve",
                "--port",
                "0",
                "--no-sample-data",
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=worker_environment(),
        )
        try:
            self._read_address()
        except BaseException:
            self._stop()
            raise
        self.control = LocalAPIControl(self.base_url)
        return self

    def _read_address(self) -> None:
        """Read the base URL and key the server prints when it is ready."""
        assert self._process is not None and self._process.stdout is not None
        found: dict[str, str] = {}

        def read() -> None:
            assert self._process is not None and self._process.stdout is not None
            for line in self._process.stdout:
                name, _, value = line.strip().partition("=")
                if name in ("QOMPLEMENT_BASE_URL", "QOMPLEMENT_API_KEY"):
                    found[name] = value
                if len(found) == 2:
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(_SERVER_START_TIMEOUT)
        if len(found) != 2:
            raise RuntimeError("the local API did not print its address in time")
        self.base_url = found["QOMPLEMENT_BASE_URL"]
        self.api_key = found["QOMPLEMENT_API_KEY"]

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.control is not None:
            self.control.close()
        self._stop()

    def _stop(self) -> None:
        """Stop the server process we started."""
        process = self._process
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def ctl(self) -> LocalAPIControl:
        """The control surface (only while running)."""
        assert self.control is not None
        return self.control

    def check_shared_clock(self) -> float:
        """Check that the server's job clock is this machine's monotonic clock.

        Job completion instants are computed on the server's clock and
        compared with `time.monotonic()` in the workers; that is valid only
        if a reading of the server's clock falls between two of ours.
        Returns the width of that bracket in seconds.

        Raises:
            RuntimeError: the server's clock is not ours.
        """
        before = time.monotonic()
        info = self.ctl().info()
        after = time.monotonic()
        now = float(info["now"])
        if info["clock"] != "monotonic" or not before <= now <= after:
            raise RuntimeError(
                f"the server's clock ({info['clock']}, {now}) is not this "
                f"machine's monotonic clock ({before}..{after})"
            )
        return after - before


@dataclass
class PhaseLoad:
    """How the server fared during one comparison."""

    latencies: list[float] = field(default_factory=list)
    server_cpu: float = 0.0
    wall: float = 0.0

    def summary(self) -> dict[str, float]:
        """p50, p95 and max probe latency (ms) and mean server CPU use (%)."""
        values = sorted(self.latencies)
        return {
            "probes": len(values),
            "p50_ms": 1000 * percentile(values, 50) if values else math.nan,
            "p95_ms": 1000 * percentile(values, 95) if values else math.nan,
            "max_ms": 1000 * values[-1] if values else math.nan,
            "server_cpu_percent": 100 * self.server_cpu / self.wall
            if self.wall
            else math.nan,
        }


class LatencyProbe:
    """Times a cheap request (`GET /_local/info`) to the server every 0.2 s.

    The probe runs in the orchestrating process, which is idle while
    workers run, so its round trip shows how long the server keeps a
    request waiting: a starved server shows up as slow probes.
    """

    def __init__(self, server: LocalServer) -> None:
        self._server = server
        self._process = psutil.Process(server.pid)
        self._phase: PhaseLoad | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LatencyProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        """Probe until stopped, filing each round trip under the current phase."""
        with httpx.Client(base_url=self._server.base_url, timeout=30) as http:
            while not self._stop.wait(_PROBE_INTERVAL):
                started = time.perf_counter()
                try:
                    http.get("/_local/info").raise_for_status()
                except httpx.HTTPError as error:
                    logger.warning("latency probe failed: %s", error)
                    continue
                elapsed = time.perf_counter() - started
                with self._lock:
                    if self._phase is not None:
                        self._phase.latencies.append(elapsed)

    @contextlib.contextmanager
    def phase(self) -> Iterator[PhaseLoad]:
        """Collect probe latencies and the server's CPU time for one comparison."""
        load = PhaseLoad()
        cpu_before = sum(self._process.cpu_times()[:2])
        started = time.monotonic()
        with self._lock:
            self._phase = load
        try:
            yield load
        finally:
            with self._lock:
                self._phase = None
            load.wall = time.monotonic() - started
            load.server_cpu = sum(self._process.cpu_times()[:2]) - cpu_before


def percentile(values: Sequence[float], rank: float) -> float:
    """The `rank`-th percentile of `values`, interpolating between neighbours."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * rank / 100
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values: Sequence[float]) -> float:
    """The arithmetic mean, NaN for no values."""
    return sum(values) / len(values) if values else math.nan


def machine() -> dict[str, str]:
    """What the run ran on: CPU, cores, memory, OS, Python, commit, load."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = _git("status", "--porcelain", "--", *PACKAGE_FOLDERS, "benchmarks")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "httpx": httpx.__version__,
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "load average (1, 5, 15 min) at start": load,
    }


def load_average() -> str:
    """The load average now, as `1 min, 5 min, 15 min`."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def _git(*arguments: str) -> str:
    """The output of a git command in this repository, or `unknown`."""
    try:
        result = subprocess.run(
            ["git", *arguments],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip()
