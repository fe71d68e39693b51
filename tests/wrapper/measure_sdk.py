"""Measure the SDK against the local API in real time (not part of the test run).

1. Waiting: one ~20 s job with progress (5 steps), followed at the same time
   by `Client.wait` and by a fixed loop that sleeps 3 s before each look (the
   vendor SDK's habit). Prints requests and time-to-notice for each.
2. Downloading: peak RSS of a fresh process streaming a 100 MB file to disk
   with `Client.download`, and, for comparison, with `download_bytes`.

Run from the repository root:

    PYTHONPATH=generated:wrapper:local_api python tests/wrapper/measure_sdk.py
"""

from __future__ import annotations

import threading
import time

import httpx
from qomplement_jobs import Client
from qomplement_local_api import LocalAPI, serve
from test_vendor_comparison import measure_download as measure_peak_rss

DURATION = 20.0
STEPS = 5
FIXED_INTERVAL = 3.0
DOWNLOAD_SIZE = 100 * 1024 * 1024


def follow_with_sdk(api: LocalAPI, job_id: str, noticed: dict[str, float]) -> None:
    with Client(api_key=api.api_key, base_url=api.base_url) as client:
        client.wait(job_id, timeout=120)
    noticed["sdk"] = time.monotonic()


def follow_with_fixed_loop(
    api: LocalAPI, job_id: str, noticed: dict[str, float]
) -> None:
    headers = {"Authorization": f"Bearer {api.api_key}"}
    with httpx.Client(base_url=api.base_url, headers=headers, timeout=10) as http:
        while True:
            time.sleep(FIXED_INTERVAL)
            status = http.get(f"/v1/jobs/{job_id}").json()["status"]
            if status in ("completed", "failed"):
                noticed["fixed"] = time.monotonic()
                return


def measure_wait(api: LocalAPI) -> None:
    sdk_job = api.create_job(type="fill_pdf", duration=DURATION, progress_steps=STEPS)
    sdk_done = time.monotonic() + DURATION
    fixed_job = api.create_job(type="fill_pdf", duration=DURATION, progress_steps=STEPS)
    fixed_done = time.monotonic() + DURATION
    noticed: dict[str, float] = {}
    threads = [
        threading.Thread(target=follow_with_sdk, args=(api, sdk_job, noticed)),
        threading.Thread(target=follow_with_fixed_loop, args=(api, fixed_job, noticed)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    by_path = api.stats()["by_path"]
    print(f"wait for a {DURATION:.0f} s job with {STEPS} progress steps (real time):")
    for name, job_id, done in (
        ("Client.wait", sdk_job, sdk_done),
        (f"fixed {FIXED_INTERVAL:.0f} s loop, sleeps first", fixed_job, fixed_done),
    ):
        key = "sdk" if name == "Client.wait" else "fixed"
        print(
            f"  {name:32s} requests={by_path[f'/v1/jobs/{job_id}']:3d}  "
            f"noticed {noticed[key] - done:+.3f} s after it finished"
        )


def measure_download(api: LocalAPI) -> None:
    job_id = api.create_job(type="fill_pdf", duration=0.0, file_size=DOWNLOAD_SIZE)
    print(f"download of {DOWNLOAD_SIZE // (1024 * 1024)} MB (fresh process, VmHWM):")
    for mode, name in (("stream", "Client.download"), ("bytes", "download_bytes")):
        measured = measure_peak_rss(api, job_id, mode)
        print(
            f"  {name:32s} size={measured['size']}  "
            f"peak RSS {measured['peak_kib'] / 1024:.1f} MiB "
            f"(+{measured['growth_kib'] / 1024:.1f} MiB after imports)"
        )


def main() -> None:
    with serve() as api:
        measure_wait(api)
        measure_download(api)


if __name__ == "__main__":
    main()
