"""Simulate waiting for many jobs against the local API, in virtual time.

Every job plan is followed by `Client.wait` and by the baselines, each on
its own copy of the job, against a real local API on loopback whose clock
is a `ManualClock`: a sleep moves that clock, so nothing sleeps for real and
a few hundred jobs of up to a minute take seconds. Requests are the server's
count of `GET /v1/jobs/{id}` for each job; time-to-notice is the moment the
wait returns minus the job's completion, both on the server's clock (no
request takes any virtual time, so network latency is not in the figures).

Durations are log-uniform between 1 s and 60 s (one per equal slice of the
log range, at a random point in it), each once with `progress` and once
without. The client's wall clock runs ahead of the server's by a random
fraction of a second per job, as it does against the local API (whose wall
clock starts at a whole second) and, in either direction, against a live
service.

Run from the repository root:

    PYTHONPATH=generated:wrapper:local_api python tests/wrapper/schedule_simulation.py

`--help` lists the knobs (sample size, seed, steps, and `Polling` fields).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from qomplement_jobs import Client, Polling
from qomplement_local_api import LocalAPI, ManualClock, serve

sys.path.insert(0, str(Path(__file__).parent))

from wrapper_support import LinkedClock

SHORTEST, LONGEST = 1.0, 60.0
BUCKETS = (("under 10 s", 0.0, 10.0), ("10-30 s", 10.0, 30.0), ("over 30 s", 30.0, 1e9))
LOOP_INTERVAL = 3.0


@dataclass(frozen=True)
class Plan:
    """One job to follow: how long it runs, its progress steps, the clock skew."""

    duration: float
    progress_steps: int | None
    skew: float


@dataclass(frozen=True)
class Outcome:
    """How one strategy fared on one job."""

    strategy: str
    plan: Plan
    requests: int
    notice: float


def make_plans(
    pairs: int,
    *,
    seed: int,
    steps: tuple[int, int] = (2, 10),
    skew: tuple[float, float] = (0.0, 1.0),
) -> list[Plan]:
    """`pairs` log-uniform durations, each with and without progress.

    `steps` bounds the number of progress steps (inclusive); `skew` bounds
    how far the client's wall clock runs ahead of the server's.
    """
    rng = random.Random(seed)
    low, high = math.log(SHORTEST), math.log(LONGEST)
    plans = []
    for index in range(pairs):
        duration = round(
            math.exp(low + (high - low) * (index + rng.random()) / pairs), 3
        )
        plans.append(Plan(duration, rng.randint(*steps), rng.uniform(*skew)))
        plans.append(Plan(duration, None, rng.uniform(*skew)))
    return plans


# -- the strategies: each follows one job until it is finished ------------------

Follow = Callable[["Simulation", str], None]


def follow_sdk(simulation: Simulation, job_id: str) -> None:
    """`Client.wait` with the simulation's `Polling`."""
    simulation.sdk.wait(job_id)


def _finished(simulation: Simulation, job_id: str) -> bool:
    """One look at a job with plain httpx, as a hand-written loop makes it."""
    status = simulation.http.get(f"/v1/jobs/{job_id}").json()["status"]
    return status in ("completed", "failed")


def follow_seed_loop(simulation: Simulation, job_id: str) -> None:
    """Look, and while the job is unfinished sleep 3 s and look again."""
    while not _finished(simulation, job_id):
        simulation.clock.sleep(LOOP_INTERVAL)


def follow_sleep_first_loop(simulation: Simulation, job_id: str) -> None:
    """Sleep 3 s, then look, until the job is finished."""
    while True:
        simulation.clock.sleep(LOOP_INTERVAL)
        if _finished(simulation, job_id):
            return


def follow_vendor(simulation: Simulation, job_id: str) -> None:
    """The vendor SDK: sleep 2 s, look; after 30 s each pause grows by 1 s, to 5 s."""
    started = simulation.clock.monotonic()
    interval = 2.0
    while True:
        simulation.clock.sleep(interval)
        if _finished(simulation, job_id):
            return
        if simulation.clock.monotonic() - started > 30:
            interval = min(interval + 1, 5.0)


STRATEGIES: dict[str, tuple[str, Follow]] = {
    "sdk": ("Client.wait", follow_sdk),
    "seed": ("look, then sleep 3 s", follow_seed_loop),
    "sleep_first": ("sleep 3 s, then look", follow_sleep_first_loop),
    "vendor": ("vendor SDK schedule", follow_vendor),
}


@dataclass
class Simulation:
    """A local API on a manual clock, with a client and a plain httpx session."""

    api: LocalAPI
    clock: LinkedClock
    sdk: Client
    http: httpx.Client
    wall_offset: float

    def run(
        self, plans: Sequence[Plan], strategies: Sequence[str], *, seed: int = 0
    ) -> list[Outcome]:
        """Follow every plan with every strategy, one job at a time.

        The SDK's jitter draws from `random`; it is seeded with `seed` for the
        run, so a run repeats exactly, and left as it was afterwards.
        """
        state = random.getstate()
        random.seed(seed)
        try:
            outcomes = []
            for plan in plans:
                self.clock.wall_offset = self.wall_offset + plan.skew
                for strategy in strategies:
                    outcomes.append(self.follow(plan, strategy))
            return outcomes
        finally:
            random.setstate(state)

    def follow(self, plan: Plan, strategy: str) -> Outcome:
        """Create the job of `plan` now and follow it with `strategy`."""
        created = self.clock.monotonic()
        job_id = self.api.create_job(
            type="extract", duration=plan.duration, progress_steps=plan.progress_steps
        )
        STRATEGIES[strategy][1](self, job_id)
        requests = self.api.stats()["by_path"].get(f"/v1/jobs/{job_id}", 0)
        notice = self.clock.monotonic() - (created + plan.duration)
        return Outcome(strategy, plan, int(requests), notice)


@contextlib.contextmanager
def simulation(
    polling: Polling | None = None, api: LocalAPI | None = None
) -> Iterator[Simulation]:
    """A `Simulation` on `api` (its clock a `ManualClock`), else on its own server."""
    if api is None:
        with (
            serve(clock=ManualClock(start=1_000.0)) as own,
            simulation(polling, own) as simulated,
        ):
            yield simulated
        return
    assert isinstance(api.clock, ManualClock)
    probe = api.create_job(type="extract", duration=1.0)
    now = api.clock.now()
    with Client(api_key=api.api_key, base_url=api.base_url) as plain:
        wall_offset = plain.get_job(probe).created_at.timestamp() - now
    clock = LinkedClock(api.clock, wall_offset)
    headers = {"Authorization": f"Bearer {api.api_key}"}
    with (
        Client(
            api_key=api.api_key,
            base_url=api.base_url,
            clock=clock,
            polling=polling or Polling(),
        ) as sdk,
        httpx.Client(base_url=api.base_url, headers=headers, timeout=10) as http,
    ):
        yield Simulation(api, clock, sdk, http, wall_offset)


# -- figures ----------------------------------------------------------------------


def percentile(values: Sequence[float], rank: float) -> float:
    """The `rank`-th percentile, interpolating between neighbours (NaN if empty)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * rank / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Cell:
    """The figures of one strategy on one bucket of jobs."""

    jobs: int
    requests: float
    p50: float
    p95: float


def cell(outcomes: Sequence[Outcome]) -> Cell:
    """Mean requests and time-to-notice percentiles of some outcomes."""
    notices = [outcome.notice for outcome in outcomes]
    requests = [outcome.requests for outcome in outcomes]
    return Cell(
        jobs=len(outcomes),
        requests=sum(requests) / len(requests) if requests else math.nan,
        p50=percentile(notices, 50),
        p95=percentile(notices, 95),
    )


def select(
    outcomes: Sequence[Outcome],
    strategy: str,
    *,
    progress: bool,
    low: float = 0.0,
    high: float = math.inf,
) -> list[Outcome]:
    """The outcomes of one strategy on jobs with(out) progress in `[low, high)` s."""
    return [
        outcome
        for outcome in outcomes
        if outcome.strategy == strategy
        and (outcome.plan.progress_steps is not None) == progress
        and low <= outcome.plan.duration < high
    ]


@dataclass(frozen=True)
class Target:
    """One published target for `Client.wait`, and how a run measured against it."""

    cell: str
    target: str
    measured: str
    met: bool


def targets(outcomes: Sequence[Outcome], baseline: str = "seed") -> list[Target]:
    """Each target of `Client.wait` against `baseline` (the seed's 3 s loop).

    For jobs with progress that run 10 s or more: at most half the loop's
    requests, and a p95 time-to-notice under 1 s. In every bucket, with and
    without progress: a p50 time-to-notice no worse than the loop's.
    """
    found = []
    for progress in (True, False):
        for bucket, low, high in BUCKETS:
            name = f"{bucket}, {'with' if progress else 'no'} progress"
            ours = cell(select(outcomes, "sdk", progress=progress, low=low, high=high))
            loop = cell(
                select(outcomes, baseline, progress=progress, low=low, high=high)
            )
            if progress and low >= 10.0:
                ratio = ours.requests / loop.requests
                found.append(
                    Target(
                        name,
                        "requests <= 0.5x the loop's",
                        f"{ratio:.2f}x ({ours.requests:.1f} vs {loop.requests:.1f})",
                        ratio <= 0.5,
                    )
                )
                found.append(
                    Target(
                        name, "p95 notice < 1 s", f"{ours.p95:.2f} s", ours.p95 < 1.0
                    )
                )
            found.append(
                Target(
                    name,
                    "p50 notice <= the loop's",
                    f"{ours.p50:.2f} s vs {loop.p50:.2f} s",
                    ours.p50 <= loop.p50,
                )
            )
    return found


def table(outcomes: Sequence[Outcome], strategies: Sequence[str]) -> str:
    """A Markdown table: requests and notice p50/p95 per bucket and strategy."""
    lines = [
        "| jobs | strategy | n | requests (mean) | notice p50 (s) | notice p95 (s) |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for progress in (True, False):
        for bucket, low, high in BUCKETS:
            label = f"{bucket}, {'with' if progress else 'no'} progress"
            for strategy in strategies:
                figures = cell(
                    select(outcomes, strategy, progress=progress, low=low, high=high)
                )
                lines.append(
                    f"| {label} | {STRATEGIES[strategy][0]} | {figures.jobs} "
                    f"| {figures.requests:.2f} | {figures.p50:.2f} "
                    f"| {figures.p95:.2f} |"
                )
    return "\n".join(lines)


def _steps(text: str) -> tuple[int, int]:
    """Parse `LOW-HIGH` progress steps."""
    low, _, high = text.partition("-")
    return int(low), int(high or low)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the simulation and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=100, help="durations (x2 jobs)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", type=_steps, default=(2, 10), help="e.g. 3-10")
    parser.add_argument(
        "--skew",
        type=float,
        nargs=2,
        default=(0.0, 1.0),
        metavar=("LOW", "HIGH"),
        help="seconds the client's wall clock runs ahead of the server's",
    )
    parser.add_argument(
        "--strategies", default="sdk,seed,sleep_first,vendor", help="comma-separated"
    )
    parser.add_argument(
        "--polling",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="a Polling field for Client.wait (repeatable)",
    )
    arguments = parser.parse_args(argv)
    fields = {
        name: float(value)
        for name, _, value in (item.partition("=") for item in arguments.polling)
    }
    polling = Polling(**fields)  # type: ignore[arg-type]
    strategies = arguments.strategies.split(",")
    plans = make_plans(
        arguments.pairs,
        seed=arguments.seed,
        steps=arguments.steps,
        skew=tuple(arguments.skew),
    )
    with simulation(polling) as simulated:
        outcomes = simulated.run(plans, strategies, seed=arguments.seed)
    print(f"{len(plans)} jobs (seed {arguments.seed}), {polling}\n")
    print(table(outcomes, strategies))
    if "sdk" in strategies and "seed" in strategies:
        print("\n| jobs | target | measured | met |\n| --- | --- | --- | --- |")
        for target in targets(outcomes):
            print(
                f"| {target.cell} | {target.target} | {target.measured} "
                f"| {'yes' if target.met else 'NO'} |"
            )


if __name__ == "__main__":
    main()
