"""Noticing completion: `AsyncClient.wait` against fixed-interval loops.

Every strategy follows its own copy of the same job plans (durations
log-uniform between 1 s and 60 s, each duration once with `progress` and
once without), all strategies at the same time, each in its own worker
process. Job `i` of every strategy is created at the same instant
(`t0 + i * stagger`), by the worker that follows it, right before it starts
waiting.

Time-to-notice is the wait's return minus the job's completion instant,
both on this machine's monotonic clock. The server's job clock is that
clock (checked at the start of the run), and the server writes each job's
completion instant into `completed_at`, in microseconds, through a fixed
mapping from its clock to wall-clock time. The mapping is measured before
the run (`calibrate`): each of a few jobs made in turn was created between
two readings of our clock, and its `created_at` tells when on the server's
wall-clock scale; the offsets these allow intersect to within a fraction of
a millisecond. As a cross-check, `created + duration` (with `created` the
midpoint of the request that made the job) must agree with it to within
half that request's round trip. Requests per job are the server's count of
`GET /v1/jobs/{id}` for that job.
"""

from __future__ import annotations

import asyncio
import datetime
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from ._harness import (
    LatencyProbe,
    LocalServer,
    finish_worker,
    mean,
    percentile,
    release_worker,
    start_worker,
    stop_worker,
    wait_until_ready,
    worker_ready,
)

# (key, label) of each strategy, ours first.
STRATEGIES = (
    ("sdk", "ours: `AsyncClient.wait`"),
    ("seed", "seed loop: look, then sleep 3 s"),
    ("sleep_first", "3 s loop, sleeping first"),
    ("vendor", "vendor SDK schedule"),
)
BUCKETS = (("under 10 s", 0.0, 10.0), ("10-30 s", 10.0, 30.0), ("over 30 s", 30.0, 1e9))
SHORTEST, LONGEST = 1.0, 60.0
# Looks in the last seconds before a finish (and after it) show the cost of
# closing in on it.
END_WINDOW = 3.0
# From the moment every worker is ready to the first job's creation.
_START_DELAY = 0.5
_HTTP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Plan:
    """One job to create: how long it runs and whether it reports progress."""

    duration: float
    progress_steps: int | None
    type: str

    def to_json(self) -> dict[str, Any]:
        """The body of `POST /_local/jobs` for this plan."""
        return {
            "type": self.type,
            "duration": self.duration,
            "progress_steps": self.progress_steps,
        }


def make_plans(pairs: int, *, seed: int = 20250226) -> list[Plan]:
    """`pairs` durations, log-uniform in [1 s, 60 s], each with and without progress.

    The durations are stratified (one per equal slice of the log range, at a
    random point in it), so every run covers the range evenly; the order is
    shuffled so that short and long jobs are created throughout.
    """
    rng = random.Random(seed)
    low, high = math.log(SHORTEST), math.log(LONGEST)
    plans: list[Plan] = []
    for index in range(pairs):
        fraction = (index + rng.random()) / pairs
        duration = round(math.exp(low + (high - low) * fraction), 3)
        job_type = rng.choice(("extract", "fill_pdf", "fill_excel"))
        plans.append(Plan(duration, rng.randint(2, 10), job_type))
        plans.append(Plan(duration, None, job_type))
    rng.shuffle(plans)
    return plans


# -- the strategies -----------------------------------------------------------


async def _look(
    http: httpx.AsyncClient, job_id: str, looks: list[float]
) -> dict[str, Any]:
    """One look at a job; the job. Appends the time of the answer to `looks`."""
    response = await http.get(f"/v1/jobs/{job_id}")
    looks.append(time.monotonic())
    response.raise_for_status()
    job: dict[str, Any] = response.json()
    return job


async def seed_loop(
    http: httpx.AsyncClient, job_id: str, looks: list[float]
) -> dict[str, Any]:
    """The seed's published polling pattern: look, and if not done sleep 3 s.

    The same steps as its `wait_for_job(interval=3, timeout=300)`, on asyncio.
    Appends the time of each look to `looks`; returns the finished job.
    """
    interval, timeout, elapsed = 3, 300, 0
    while elapsed < timeout:
        job = await _look(http, job_id, looks)
        if job["status"] in ("completed", "failed"):
            return job
        await asyncio.sleep(interval)
        elapsed += interval
    raise TimeoutError(f"Job {job_id} did not complete in {timeout}s")


async def sleep_first_loop(
    http: httpx.AsyncClient, job_id: str, looks: list[float]
) -> dict[str, Any]:
    """The habit the seed loop is often described as: sleep 3 s, then look."""
    while True:
        await asyncio.sleep(3)
        job = await _look(http, job_id, looks)
        if job["status"] in ("completed", "failed"):
            return job


async def vendor_schedule(
    http: httpx.AsyncClient, job_id: str, looks: list[float]
) -> dict[str, Any]:
    """The vendor SDK's (`qomplement` 0.1.0) wait: sleep 2 s, then look.

    After each look taken more than 30 s (wall clock) after the start, the
    interval grows by 1 s, up to 5 s; it gives up after 600 s.
    """
    started = time.time()
    interval = 2
    while True:
        if time.time() - started > 600:
            raise TimeoutError(f"Job {job_id} did not complete within 600s")
        await asyncio.sleep(interval)
        job = await _look(http, job_id, looks)
        if job["status"] in ("completed", "failed"):
            return job
        if time.time() - started > 30:
            interval = min(interval + 1, 5)


# -- the worker ---------------------------------------------------------------


def work(arguments: dict[str, Any]) -> dict[str, Any]:
    """Worker: create and follow every planned job with one strategy."""
    return asyncio.run(_work(arguments))


async def _work(arguments: dict[str, Any]) -> dict[str, Any]:
    """Create job `i` at `t0 + i * stagger` and follow it; time each notice."""
    from qomplement_jobs import AsyncClient

    strategy: str = arguments["strategy"]
    base_url: str = arguments["base_url"]
    key: str = arguments["api_key"]
    plans: list[dict[str, Any]] = arguments["plans"]
    stagger: float = arguments["stagger"]
    headers = {"Authorization": f"Bearer {key}"}

    async with (
        httpx.AsyncClient(base_url=base_url, timeout=_HTTP_TIMEOUT) as control,
        httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=_HTTP_TIMEOUT
        ) as http,
        AsyncClient(api_key=key, base_url=base_url, timeout=_HTTP_TIMEOUT) as sdk,
    ):

        async def sdk_wait(
            _: httpx.AsyncClient, job_id: str, looks: list[float]
        ) -> dict[str, Any]:
            job = await sdk.wait(
                job_id,
                timeout=600,
                on_progress=lambda job: looks.append(time.monotonic()),
            )
            return job.to_dict()

        follow: Callable[
            [httpx.AsyncClient, str, list[float]], Awaitable[dict[str, Any]]
        ] = {
            "sdk": sdk_wait,
            "seed": seed_loop,
            "sleep_first": sleep_first_loop,
            "vendor": vendor_schedule,
        }[strategy]

        t0: float = worker_ready()["t0"]
        cpu_started = time.process_time()

        async def one(index: int, plan: dict[str, Any]) -> dict[str, Any]:
            await asyncio.sleep(max(0.0, t0 + index * stagger - time.monotonic()))
            before = time.monotonic()
            late = before - (t0 + index * stagger)
            response = await control.post("/_local/jobs", json=plan)
            after = time.monotonic()
            response.raise_for_status()
            job_id = response.json()["id"]
            looks: list[float] = []
            job = await follow(http, job_id, looks)
            noticed = time.monotonic()
            return {
                "index": index,
                "late": late,
                "job_id": job_id,
                "created_low": before,
                "created_high": after,
                "noticed": noticed,
                "completed_at": job["completed_at"],
                "looks": looks,
            }

        jobs = await asyncio.gather(
            *(one(index, plan) for index, plan in enumerate(plans))
        )
        cpu = time.process_time() - cpu_started
    return {"strategy": strategy, "jobs": jobs, "cpu": cpu}


# -- the comparison -----------------------------------------------------------


def calibrate(server: LocalServer, *, samples: int = 40) -> tuple[float, float]:
    """Measure `monotonic - wall` of the server's job timestamps.

    Each sample creates a job between two readings of our monotonic clock
    and reads its `created_at`; the offset is bounded by each pair, and the
    bounds of all samples are intersected. Returns the offset and the width
    of the interval it lies in.

    Raises:
        RuntimeError: the samples contradict each other (no common offset).
    """
    control = server.ctl()
    headers = {"Authorization": f"Bearer {server.api_key}"}
    low, high = -math.inf, math.inf
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as http:
        for _ in range(samples):
            before = time.monotonic()
            job_id = control.create_job(type="extract", duration=0.0)
            after = time.monotonic()
            response = http.get(f"/v1/jobs/{job_id}")
            response.raise_for_status()
            created = _epoch(response.json()["created_at"])
            low, high = max(low, before - created), min(high, after - created)
    if low > high:
        raise RuntimeError("the server's job timestamps do not follow its clock")
    return (low + high) / 2, high - low


def _polling_defaults() -> dict[str, Any]:
    """The SDK's default `Polling`, as the report shows it."""
    import attrs
    from qomplement_jobs import Polling

    return attrs.asdict(Polling())


def _epoch(timestamp: str) -> float:
    """Seconds since the epoch of an RFC 3339 timestamp."""
    return datetime.datetime.fromisoformat(timestamp).timestamp()


def run(server: LocalServer, probe: LatencyProbe, *, pairs: int) -> dict[str, Any]:
    """Run every strategy at once on `2 * pairs` jobs each; return the figures."""
    control = server.ctl()
    control.reset()
    offset, offset_width = calibrate(server)
    plans = make_plans(pairs)
    stagger = min(0.025, 5.0 / len(plans))
    with probe.phase() as load:
        workers = [
            start_worker(
                "wait",
                {
                    "strategy": strategy,
                    "base_url": server.base_url,
                    "api_key": server.api_key,
                    "plans": [plan.to_json() for plan in plans],
                    "stagger": stagger,
                },
                handshake=True,
            )
            for strategy, _ in STRATEGIES
        ]
        try:
            for worker in workers:
                wait_until_ready(worker)
            t0 = time.monotonic() + _START_DELAY
            for worker in workers:
                release_worker(worker, {"t0": t0})
            answers = [finish_worker(worker, timeout=900) for worker in workers]
        finally:
            for worker in workers:
                stop_worker(worker)
    by_path = control.stats()["by_path"]

    results: dict[str, Any] = {
        "pairs": pairs,
        "polling": _polling_defaults(),
        "stagger": stagger,
        "load": load.summary(),
        "clock_offset_width": offset_width,
        "strategies": {},
    }
    latest = disagreement = 0.0
    for answer in answers:
        rows = []
        for job in answer["jobs"]:
            latest = max(latest, job["late"])
            plan = plans[job["index"]]
            finish = _epoch(job["completed_at"]) + offset
            # The same instant from our own readings around the job's creation.
            created = (job["created_low"] + job["created_high"]) / 2
            half_round_trip = (job["created_high"] - job["created_low"]) / 2
            disagreement = max(
                disagreement,
                abs(created + plan.duration - finish) - half_round_trip,
            )
            rows.append(
                {
                    "duration": plan.duration,
                    "progress": plan.progress_steps is not None,
                    "steps": plan.progress_steps,
                    "requests": by_path.get(f"/v1/jobs/{job['job_id']}", 0),
                    "client_looks": len(job["looks"]),
                    "end_looks": sum(
                        1 for look in job["looks"] if look >= finish - END_WINDOW
                    ),
                    "notice": job["noticed"] - finish,
                }
            )
        results["strategies"][answer["strategy"]] = rows
        # Client CPU per look, job creation included (the same for all).
        results.setdefault("cpu_ms_per_look", {})[answer["strategy"]] = (
            1000 * answer["cpu"] / max(1, sum(row["client_looks"] for row in rows))
        )
    # Beyond what the creation round trip and the calibration allow: 0 when
    # both ways of placing the finish agree.
    results["cross_check_excess"] = max(0.0, disagreement - offset_width)
    results["creation_late"] = latest
    results["cells"] = _cells(results["strategies"])
    results["targets"] = _targets(results["cells"])
    return results


def _cells(strategies: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Figures per bucket x progress x strategy."""
    cells = []
    for bucket, low, high in BUCKETS:
        for progress in (True, False):
            cell: dict[str, Any] = {"bucket": bucket, "progress": progress}
            for strategy, rows in strategies.items():
                chosen = [
                    row
                    for row in rows
                    if low <= row["duration"] < high and row["progress"] == progress
                ]
                notices = [row["notice"] for row in chosen]
                cell["mean_duration"] = mean([row["duration"] for row in chosen])
                slowest = sorted(chosen, key=lambda row: row["notice"])[-3:]
                cell[strategy] = {
                    "slowest": [
                        {
                            key: row[key]
                            for key in ("duration", "steps", "requests", "notice")
                        }
                        for row in reversed(slowest)
                    ],
                    "jobs": len(chosen),
                    "requests": mean([row["requests"] for row in chosen]),
                    "end_looks": mean([row["end_looks"] for row in chosen]),
                    "p50": percentile(notices, 50),
                    "p95": percentile(notices, 95),
                }
            cells.append(cell)
    return cells


def _targets(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target of ours against the seed loop, with whether it is met."""
    targets = []
    for cell in cells:
        ours, loop = cell["sdk"], cell["seed"]
        name = f"{cell['bucket']}, {'with' if cell['progress'] else 'no'} progress"
        if cell["progress"] and cell["bucket"] != "under 10 s":
            ratio = ours["requests"] / loop["requests"]
            targets.append(
                {
                    "cell": name,
                    "key": (cell["bucket"], cell["progress"]),
                    "target": "requests <= 0.5x seed loop",
                    "measured": f"{ratio:.2f}x ({ours['requests']:.1f} vs "
                    f"{loop['requests']:.1f})",
                    "met": ratio <= 0.5,
                }
            )
            targets.append(
                {
                    "cell": name,
                    "key": (cell["bucket"], cell["progress"]),
                    "target": "p95 time-to-notice < 1 s",
                    "measured": f"{ours['p95']:.2f} s",
                    "met": ours["p95"] < 1.0,
                }
            )
        targets.append(
            {
                "cell": name,
                "key": (cell["bucket"], cell["progress"]),
                "target": "p50 time-to-notice <= seed loop's",
                "measured": f"{ours['p50']:.2f} s vs {loop['p50']:.2f} s",
                "met": ours["p50"] <= loop["p50"],
            }
        )
    return targets
