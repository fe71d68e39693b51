"""Many jobs under a rate limit: `AsyncClient.wait_many` against naive loops.

The local API limits the key to `rps` requests a second (a token bucket of
`rps` tokens, answering 429 with `Retry-After` beyond it). Each strategy
gets its own 1,000 jobs with the same plans (durations uniform between 1 s
and 10 s), created by its worker just before it starts waiting; the
strategies run one after another so that one's 429s do not slow the other.

Every request and answer of the waiting client is logged by httpx event
hooks: the time a request is sent, the time an answer arrives, its status
and `Retry-After`. A request sent while a pause asked for by an earlier 429
is still running is "sent into a pause"; none means no 429 storm.

The floor is the earliest the last job could be noticed by any client that
knew every job's finish: one look per job, each after the job's finish and
within the token bucket (`burst` tokens at the start, then `rps` a second).
Looking in order of finish, the k-th look can go no earlier than
`max(finish of the k-th job, (k - burst) / rps)`, and the floor is the
time of the last one, counted from the start of the wait.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable
from typing import Any

import httpx

from ._harness import LatencyProbe, LocalServer, run_worker

BASELINES = (
    ("naive", "naive loops: sleep 3 s, look, on 429 sleep 1 s"),
    ("naive_retry", "naive loops, looking again 1 s after a 429"),
)
# The SDK's default concurrency comes first: the targets are checked on it.
CONCURRENCIES = (8, 50)
WALL_TARGET = 1.2
_HTTP_TIMEOUT = 30.0
_CREATE_BATCH = 25


def make_plans(count: int, *, seed: int = 19) -> list[dict[str, Any]]:
    """`count` job plans of 1 s to 10 s (uniform), half of them with progress."""
    rng = random.Random(seed)
    return [
        {
            "type": rng.choice(("extract", "fill_pdf", "fill_excel")),
            "duration": round(rng.uniform(1.0, 10.0), 3),
            "progress_steps": rng.randint(2, 10) if index % 2 else None,
        }
        for index in range(count)
    ]


def floor_seconds(finishes: list[float], *, rps: float, burst: int) -> float:
    """The earliest the last of `finishes` (seconds from the start) can be seen.

    One look per job, no look before its job finishes, looks within a token
    bucket that is full at the start.
    """
    last = 0.0
    for k, finish in enumerate(sorted(finishes), start=1):
        last = max(last, finish, (k - burst) / rps)
    return last


class _Log:
    """Send and arrival times of one client's requests, for the 429 analysis."""

    def __init__(self) -> None:
        self.sent: list[float] = []
        self.answers: list[tuple[float, int, float | None]] = []

    async def on_request(self, request: httpx.Request) -> None:
        self.sent.append(time.monotonic())

    async def on_response(self, response: httpx.Response) -> None:
        retry_after = response.headers.get("retry-after")
        self.answers.append(
            (
                time.monotonic(),
                response.status_code,
                float(retry_after) if retry_after is not None else None,
            )
        )

    def summary(self) -> dict[str, Any]:
        """Requests, 429s, and requests sent while a 429's pause was running."""
        pauses = sorted(
            (arrived, arrived + (retry_after or 0.0))
            for arrived, status, retry_after in self.answers
            if status == 429
        )
        into_pause = 0
        # How long after the latest 429's headers arrived each such request left.
        soonest_after = 0.0
        index, until, latest = 0, float("-inf"), float("-inf")
        for sent in sorted(self.sent):
            while index < len(pauses) and pauses[index][0] <= sent:
                latest = pauses[index][0]
                until = max(until, pauses[index][1])
                index += 1
            if sent < until:
                into_pause += 1
                soonest_after = max(soonest_after, sent - latest)
        return {
            "requests": len(self.sent),
            "429": sum(1 for _, status, _ in self.answers if status == 429),
            "into_pause": into_pause,
            "into_pause_max_ms": 1000 * soonest_after,
        }


async def _naive(http: httpx.AsyncClient, job_id: str, *, retry: bool) -> None:
    """Sleep 3 s, look, on a 429 sleep 1 s (then look again when `retry`)."""
    url = f"/v1/jobs/{job_id}"
    while True:
        await asyncio.sleep(3)
        response = await http.get(url)
        while response.status_code == 429:
            await asyncio.sleep(1)
            if not retry:
                break
            response = await http.get(url)
        if response.status_code == 429:
            continue
        response.raise_for_status()
        if response.json()["status"] in ("completed", "failed"):
            return


def work(arguments: dict[str, Any]) -> dict[str, Any]:
    """Worker: create the jobs, then wait for all of them with one strategy."""
    return asyncio.run(_work(arguments))


async def _work(arguments: dict[str, Any]) -> dict[str, Any]:
    """Create every job, start the clock, wait for all; log every request."""
    from qomplement_jobs import AsyncClient

    strategy: str = arguments["strategy"]
    base_url: str = arguments["base_url"]
    key: str = arguments["api_key"]
    plans: list[dict[str, Any]] = arguments["plans"]
    concurrency: int = arguments["concurrency"]
    log = _Log()
    hooks: dict[str, list[Any]] = {
        "request": [log.on_request],
        "response": [log.on_response],
    }
    headers = {"Authorization": f"Bearer {key}"}

    async with httpx.AsyncClient(base_url=base_url, timeout=_HTTP_TIMEOUT) as control:
        created: list[tuple[str, float]] = []
        for start in range(0, len(plans), _CREATE_BATCH):
            batch = plans[start : start + _CREATE_BATCH]
            sent = time.monotonic()
            responses = await asyncio.gather(
                *(control.post("/_local/jobs", json=plan) for plan in batch)
            )
            for plan, response in zip(batch, responses, strict=True):
                response.raise_for_status()
                created.append((response.json()["id"], sent + plan["duration"]))

    ids = [job_id for job_id, _ in created]
    outcomes_ok = 0
    errors: dict[str, int] = {}
    async with (
        AsyncClient(api_key=key, base_url=base_url, timeout=_HTTP_TIMEOUT) as sdk,
        httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            # 1,000 loops share httpx's 100 connections; waiting for one is
            # not what is measured here, so that wait has no limit.
            timeout=httpx.Timeout(_HTTP_TIMEOUT, pool=None),
        ) as http,
    ):
        sdk.generated.get_async_httpx_client().event_hooks = hooks
        http.event_hooks = hooks
        started, cpu_started = time.monotonic(), time.process_time()
        if strategy == "sdk":
            async for outcome in sdk.wait_many(
                ids, concurrency=concurrency, timeout=600
            ):
                outcomes_ok += outcome.ok
                if outcome.error is not None:
                    name = type(outcome.error).__name__
                    errors[name] = errors.get(name, 0) + 1
        else:
            retry = strategy == "naive_retry"
            loops: list[Awaitable[None]] = [
                _naive(http, job_id, retry=retry) for job_id in ids
            ]
            # A loop that fails is counted, not allowed to end the others.
            ended = await asyncio.gather(*loops, return_exceptions=True)
            for ending in ended:
                if isinstance(ending, BaseException):
                    name = type(ending).__name__
                    errors[name] = errors.get(name, 0) + 1
                else:
                    outcomes_ok += 1
        wall = time.monotonic() - started
        cpu = time.process_time() - cpu_started
    return {
        "strategy": strategy,
        "wall": wall,
        "cpu": cpu,
        "completed": outcomes_ok,
        "errors": errors,
        # Each job's finish at the earliest, relative to the start of the wait.
        "finishes": [finish - started for _, finish in created],
        **log.summary(),
    }


def run(
    server: LocalServer,
    probe: LatencyProbe,
    *,
    jobs: int = 1000,
    rps: float = 50.0,
    concurrencies: tuple[int, ...] = CONCURRENCIES,
) -> dict[str, Any]:
    """Run each strategy on its own `jobs` jobs under a limit of `rps`.

    Ours runs once per concurrency; the first one's figures meet the targets.
    """
    control = server.ctl()
    plans = make_plans(jobs)
    burst = int(rps)
    results: dict[str, Any] = {
        "jobs": jobs,
        "rps": rps,
        "burst": burst,
        "strategies": {},
    }
    runs = [(f"sdk-{value}", "sdk", value) for value in concurrencies]
    runs += [(key, key, 0) for key, _ in BASELINES]
    for name, strategy, concurrency in runs:
        control.reset()
        control.set_rate_limit(rps, burst)
        with probe.phase() as load:
            answer = run_worker(
                "many",
                {
                    "strategy": strategy,
                    "base_url": server.base_url,
                    "api_key": server.api_key,
                    "plans": plans,
                    "concurrency": concurrency,
                },
                timeout=600,
            )
        stats = control.stats()
        answer["server_requests"] = stats["requests"]
        answer["server_429"] = stats["429"]
        answer["floor"] = floor_seconds(answer.pop("finishes"), rps=rps, burst=burst)
        answer["load"] = load.summary()
        answer["concurrency"] = concurrency
        results["strategies"][name] = answer
    control.set_rate_limit(None)
    results["targets"] = _targets(results["strategies"][runs[0][0]], results)
    return results


def _targets(ours: dict[str, Any], results: dict[str, Any]) -> list[dict[str, Any]]:
    """No 429 storm, fewer requests than the baseline, wall within 1.2x the floor."""
    strategies = results["strategies"]
    naive = strategies["naive"]
    ratio = ours["wall"] / ours["floor"]
    fewest_baseline = min(strategies[key]["requests"] for key, _ in BASELINES)
    cell = f"ours, concurrency {ours['concurrency']}"
    return [
        {
            "cell": cell,
            "target": "no 429 storm: no request sent into a 429's pause",
            "measured": f"{ours['into_pause']} sent into a pause, {ours['429']} 429s",
            "met": ours["into_pause"] == 0,
        },
        {
            "cell": cell,
            "target": "fewer requests than the naive loops",
            "measured": f"{ours['requests']} vs {naive['requests']}",
            "met": ours["requests"] < fewest_baseline,
        },
        {
            "cell": cell,
            "target": f"wall time <= {WALL_TARGET}x the floor",
            "measured": f"{ratio:.2f}x ({ours['wall']:.1f} s vs floor "
            f"{ours['floor']:.1f} s)",
            "met": ratio <= WALL_TARGET,
        },
    ]
