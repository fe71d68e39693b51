"""Downloading: `Client.download` against raw httpx streaming and reading it all.

Each measurement is a fresh worker process that imports, builds its
client, reads its peak resident memory (`ru_maxrss`, the idle mark), then
downloads one file to disk and reads the peak again. Throughput is the
file's size over the time from sending the request to the file being
complete on disk (for ours: fsynced and renamed into place, as it always
does). Every file is deleted as soon as it is measured.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from ._harness import LatencyProbe, LocalServer, mean, percentile, run_worker

# (label, bytes, runs of each strategy): small files vary more from run to run.
SIZES = (
    ("10 MB", 10_000_000, 5),
    ("100 MB", 100_000_000, 3),
    ("1 GB", 1_000_000_000, 3),
)
# (key, label), ours first; the last is a reference, not a baseline.
STRATEGIES = (
    ("sdk", "ours: `Client.download`"),
    ("stream", "raw httpx: stream to a file"),
    ("read_all", "read the whole body, then write (vendor SDK)"),
    ("stream_fsync", "raw httpx stream + fsync (reference)"),
)
MEMORY_TARGET_MIB = 32
THROUGHPUT_TARGET = 0.9
_HTTP_TIMEOUT = 60.0


def _peak_kib() -> int:
    """The process's peak resident set size so far, in KiB (Linux units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def work(arguments: dict[str, Any]) -> dict[str, Any]:
    """Worker: download one file with one strategy; time it and its peak memory."""
    from qomplement_jobs import Client

    strategy: str = arguments["strategy"]
    base_url: str = arguments["base_url"]
    key: str = arguments["api_key"]
    job_id: str = arguments["job_id"]
    directory = Path(arguments["directory"])
    path = directory / f"{strategy}.bin"
    url = f"/v1/jobs/{job_id}/download"
    headers = {"Authorization": f"Bearer {key}"}

    with (
        Client(api_key=key, base_url=base_url, timeout=_HTTP_TIMEOUT) as sdk,
        httpx.Client(base_url=base_url, headers=headers, timeout=_HTTP_TIMEOUT) as http,
    ):
        idle = _peak_kib()
        started, cpu_started = time.perf_counter(), time.process_time()
        if strategy == "sdk":
            path = sdk.download(job_id, path)
        elif strategy in ("stream", "stream_fsync"):
            with http.stream("GET", url) as response, path.open("wb") as target:
                response.raise_for_status()
                for chunk in response.iter_bytes():
                    target.write(chunk)
                if strategy == "stream_fsync":
                    target.flush()
                    os.fsync(target.fileno())
        elif strategy == "read_all":
            response = http.get(url)
            response.raise_for_status()
            path.write_bytes(response.content)
            del response
        else:
            raise ValueError(f"unknown strategy {strategy!r}")
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        peak = _peak_kib()
    size = path.stat().st_size
    path.unlink()
    return {
        "seconds": seconds,
        "cpu": cpu,
        "size": size,
        "idle_kib": idle,
        "peak_kib": peak,
    }


def run(
    server: LocalServer,
    probe: LatencyProbe,
    *,
    sizes: tuple[tuple[str, int, int], ...] = SIZES,
    repeats: int | None = None,
) -> dict[str, Any]:
    """Measure every strategy on every size, several times in rotating order.

    `repeats` overrides the number of runs each size asks for.
    """
    control = server.ctl()
    control.reset()
    directory = Path(tempfile.mkdtemp(prefix="qomplement-benchmark-"))
    results: dict[str, Any] = {"sizes": [], "skipped": []}
    try:
        with probe.phase() as load:
            for label, size, runs_of_size in sizes:
                free = shutil.disk_usage(directory).free
                if free < 3 * size:
                    results["skipped"].append(
                        f"{label}: only {free / 1e9:.1f} GB free in {directory}"
                    )
                    continue
                job_id = control.create_job(
                    type="fill_pdf", duration=0.0, file_size=size
                )
                _prepare(server, job_id)
                runs: dict[str, list[dict[str, Any]]] = {
                    key: [] for key, _ in STRATEGIES
                }
                for repeat in range(repeats or runs_of_size):
                    shift = repeat % len(STRATEGIES)
                    order = STRATEGIES[shift:] + STRATEGIES[:shift]
                    for strategy, _ in order:
                        answer = run_worker(
                            "download",
                            {
                                "strategy": strategy,
                                "base_url": server.base_url,
                                "api_key": server.api_key,
                                "job_id": job_id,
                                "directory": str(directory),
                            },
                            timeout=600,
                        )
                        if answer["size"] != size:
                            raise RuntimeError(
                                f"{strategy} wrote {answer['size']} bytes, not {size}"
                            )
                        runs[strategy].append(answer)
                results["sizes"].append(
                    {"label": label, "size": size, **_figures(runs)}
                )
        results["load"] = load.summary()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    results["targets"] = _targets(results["sizes"])
    return results


def _prepare(server: LocalServer, job_id: str) -> None:
    """Make the server write the job's file now, outside every measurement."""
    headers = {"Authorization": f"Bearer {server.api_key}"}
    with (
        httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as http,
        http.stream("GET", f"/v1/jobs/{job_id}/download") as response,
    ):
        response.raise_for_status()
        next(response.iter_raw(), None)


def _figures(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Median throughput and the largest memory growth of each strategy."""
    figures: dict[str, Any] = {}
    for strategy, answers in runs.items():
        rates = [answer["size"] / answer["seconds"] / 1e6 for answer in answers]
        growth = [(a["peak_kib"] - a["idle_kib"]) / 1024 for a in answers]
        figures[strategy] = {
            "mb_per_s": percentile(rates, 50),
            "mb_per_s_all": rates,
            # Client CPU seconds per GB, the median run.
            "cpu_s_per_gb": percentile(
                [1e9 * a["cpu"] / a["size"] for a in answers], 50
            ),
            "idle_mib": mean([a["idle_kib"] / 1024 for a in answers]),
            "growth_mib": max(growth),
        }
    return figures


def _targets(sizes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Memory within 32 MiB of idle, throughput at least 0.9x raw streaming."""
    targets = []
    for row in sizes:
        ours, raw = row["sdk"], row["stream"]
        targets.append(
            {
                "cell": row["label"],
                "target": f"peak memory <= idle + {MEMORY_TARGET_MIB} MiB",
                "measured": f"+{ours['growth_mib']:.1f} MiB",
                "met": ours["growth_mib"] <= MEMORY_TARGET_MIB,
            }
        )
        ratio = ours["mb_per_s"] / raw["mb_per_s"]
        targets.append(
            {
                "cell": row["label"],
                "target": f"throughput >= {THROUGHPUT_TARGET}x raw httpx",
                "measured": f"{ratio:.2f}x ({ours['mb_per_s']:.0f} vs "
                f"{raw['mb_per_s']:.0f} MB/s)",
                "met": ratio >= THROUGHPUT_TARGET,
            }
        )
    return targets
