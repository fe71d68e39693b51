"""Per-call overhead: `Client.get_job` against raw httpx plus `json`.

One worker process holds both clients, each on its own keep-alive
connection, and alternates them in rounds (which one goes first flips each
round) so that drift in the machine's load falls on both alike. Both fetch
the same completed `fill_pdf` job, whose result the wrapper parses into
the generated models and the raw client into dicts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from ._harness import LatencyProbe, LocalServer, percentile, run_worker

TARGET = 1.3
_WARM_UP = 50


def work(arguments: dict[str, Any]) -> dict[str, Any]:
    """Worker: `calls` calls each, in `rounds` alternating rounds; time them."""
    from qomplement_jobs import Client

    base_url: str = arguments["base_url"]
    key: str = arguments["api_key"]
    job_id: str = arguments["job_id"]
    calls: int = arguments["calls"]
    rounds: int = arguments["rounds"]
    per_round = calls // rounds
    headers = {"Authorization": f"Bearer {key}"}
    url = f"/v1/jobs/{job_id}"

    with (
        Client(api_key=key, base_url=base_url) as sdk,
        httpx.Client(base_url=base_url, headers=headers, timeout=30) as http,
    ):

        def wrapper_call() -> None:
            sdk.get_job(job_id)

        def raw_call() -> None:
            response = http.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"GET {url} answered {response.status_code}")
            json.loads(response.content)

        contenders: dict[str, Callable[[], None]] = {
            "wrapper": wrapper_call,
            "raw": raw_call,
        }
        for call in contenders.values():
            for _ in range(_WARM_UP):
                call()
        wall = dict.fromkeys(contenders, 0.0)
        cpu = dict.fromkeys(contenders, 0.0)
        by_round: list[dict[str, float]] = []
        for round_ in range(rounds):
            this_round: dict[str, float] = {}
            by_round.append(this_round)
            names = list(contenders)
            if round_ % 2:
                names.reverse()
            for name in names:
                call = contenders[name]
                started, cpu_started = time.perf_counter(), time.process_time()
                for _ in range(per_round):
                    call()
                elapsed = time.perf_counter() - started
                this_round[name] = elapsed
                wall[name] += elapsed
                cpu[name] += time.process_time() - cpu_started
    done = per_round * rounds
    return {
        "calls": done,
        "rounds": rounds,
        "wall_us": {name: 1e6 * value / done for name, value in wall.items()},
        "cpu_us": {name: 1e6 * value / done for name, value in cpu.items()},
        "round_ratios": [item["wrapper"] / item["raw"] for item in by_round],
    }


def run(
    server: LocalServer, probe: LatencyProbe, *, calls: int = 2000, rounds: int = 20
) -> dict[str, Any]:
    """Time `calls` `get_job` calls each way; return the figures."""
    control = server.ctl()
    control.reset()
    job_id = control.create_job(type="fill_pdf", duration=0.0)
    with probe.phase() as load:
        answer: dict[str, Any] = run_worker(
            "overhead",
            {
                "base_url": server.base_url,
                "api_key": server.api_key,
                "job_id": job_id,
                "calls": calls,
                "rounds": rounds,
            },
            timeout=600,
        )
    ratio = answer["wall_us"]["wrapper"] / answer["wall_us"]["raw"]
    answer["ratio"] = ratio
    answer["cpu_ratio"] = answer["cpu_us"]["wrapper"] / answer["cpu_us"]["raw"]
    answer["round_ratio_median"] = percentile(answer["round_ratios"], 50)
    answer["load"] = load.summary()
    answer["targets"] = [
        {
            "cell": f"{answer['calls']} calls",
            "target": f"wall time per call <= {TARGET}x raw httpx + json",
            "measured": f"{ratio:.2f}x ({answer['wall_us']['wrapper']:.0f} vs "
            f"{answer['wall_us']['raw']:.0f} µs)",
            "met": ratio <= TARGET,
        }
    ]
    return answer
