"""Where this SDK does better than the vendor's `qomplement` 0.1.0, one test each.

The vendor SDK sleeps 2 s before its first look, measures its deadline with
the wall clock, ignores Retry-After while waiting, raises one generic error
for a failed job, reads a whole download into memory, cannot page (no
offset), and is sync only.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from qomplement_jobs import (
    AsyncClient,
    Client,
    JobFailedError,
    Polling,
    QomplementError,
    WaitTimeoutError,
)
from qomplement_jobs_client.models import KnownJobStatus
from qomplement_local_api import SAMPLE_FILL_PDF_JOB_ID, Fault, LocalAPI
from wrapper_support import LinkedClock

REPO = Path(__file__).resolve().parents[2]


def test_first_look_is_immediate(
    api: LocalAPI, client: Client, clock: LinkedClock
) -> None:
    started = clock.monotonic()

    client.wait(SAMPLE_FILL_PDF_JOB_ID)

    assert clock.monotonic() == started
    assert clock.sleeps == []


def test_deadline_ignores_wall_clock_jumps(
    api: LocalAPI, server: LocalAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = api.create_job(duration=3600.0)
    real_time = time.time
    # The wall clock leaps a day forward on every reading.
    jumps = iter(range(1, 10_000))
    monkeypatch.setattr(time, "time", lambda: real_time() + 86_400 * next(jumps))
    polling = Polling(initial_interval=0.02, max_interval=0.05, min_interval=0.01)

    started = time.monotonic()
    with (
        Client(api_key=api.api_key, base_url=api.base_url, polling=polling) as client,
        pytest.raises(WaitTimeoutError),
    ):
        client.wait(job_id, timeout=0.3)
    waited = time.monotonic() - started

    assert 0.3 <= waited < 1.3


def test_retry_after_is_honoured_while_waiting(
    api: LocalAPI, client: Client, clock: LinkedClock
) -> None:
    job_id = api.create_job(duration=5.0)
    api.inject(Fault("status", path=f"/v1/jobs/{job_id}", status=429, retry_after=2))

    client.wait(job_id)

    assert clock.sleeps[0] >= 2.0


def test_a_failed_job_raises_a_typed_error_with_its_reason(
    api: LocalAPI, client: Client
) -> None:
    job_id = api.create_job(duration=1.0, outcome="failed", error_code="no_form_fields")

    with pytest.raises(JobFailedError) as caught:
        client.wait(job_id)

    assert isinstance(caught.value, QomplementError)
    assert caught.value.code == "no_form_fields"
    assert caught.value.job.status == KnownJobStatus.FAILED


MEASURE = """
import json, sys, tempfile
from qomplement_jobs import Client

def peak_rss_kib():
    # VmHWM belongs to this process image; getrusage's maxrss survives exec.
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])

base_url, key, job_id, mode = sys.argv[1:5]
before = peak_rss_kib()
client = Client(api_key=key, base_url=base_url)
with client, tempfile.TemporaryDirectory() as directory:
    if mode == "stream":
        size = client.download(job_id, directory).stat().st_size
    else:
        size = len(client.download_bytes(job_id))
after = peak_rss_kib()
print(json.dumps({"size": size, "growth_kib": after - before, "peak_kib": after}))
"""


def measure_download(api: LocalAPI, job_id: str, mode: str) -> dict[str, int]:
    """Download in a fresh process; return the size and the peak RSS growth."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            str(REPO / part) for part in ("generated", "wrapper", "local_api")
        ),
    }
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, api.base_url, api.api_key, job_id, mode],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    measured: dict[str, int] = json.loads(result.stdout)
    return measured


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_download_streams_with_flat_memory(api: LocalAPI) -> None:
    size = 48 * 1024 * 1024
    job_id = api.create_job(duration=0.0, file_size=size)

    streamed = measure_download(api, job_id, "stream")
    in_memory = measure_download(api, job_id, "bytes")

    assert streamed["size"] == in_memory["size"] == size
    # Streaming to disk grows the process by a few MiB at most; holding the
    # file in memory (what the vendor SDK does) grows it by the file's size.
    assert streamed["growth_kib"] < 8 * 1024
    assert in_memory["growth_kib"] > 40 * 1024


def test_paging_by_offset_reaches_every_job(api: LocalAPI, client: Client) -> None:
    first_page = client.list_jobs()
    assert first_page.has_more

    everything = list(client.iter_jobs(page_size=20))

    assert len(everything) == first_page.total > len(first_page.jobs)
    assert len({job.id for job in everything}) == first_page.total


def test_an_async_client_is_available(api: LocalAPI, clock: LinkedClock) -> None:
    job_id = api.create_job(duration=2.0)

    async def main() -> KnownJobStatus | str:
        async with AsyncClient(
            api_key=api.api_key, base_url=api.base_url, clock=clock
        ) as client:
            return (await client.wait(job_id)).status

    assert asyncio.run(main()) == KnownJobStatus.COMPLETED
