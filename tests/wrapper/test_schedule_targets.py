"""The wait schedule against its published targets, on a seeded sample of jobs.

A small run of `schedule_simulation.py` (same jobs, same local API on a
manual clock): 50 durations log-uniform between 1 s and 60 s, each once with
progress (2 to 10 steps) and once without, followed by `Client.wait` with
the default `Polling` and by the seed's loop (look, then sleep 3 s). The run
is seeded, so these figures change only when the schedule does.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from qomplement_jobs import Polling
from qomplement_local_api import LocalAPI
from schedule_simulation import (
    BUCKETS,
    Outcome,
    cell,
    make_plans,
    select,
    simulation,
    targets,
)

PAIRS = 50
SEED = 1
LONG_BUCKETS = [(low, high) for _, low, high in BUCKETS if low >= 10.0]


@pytest.fixture(scope="module")
def outcomes(server: LocalAPI) -> Iterator[list[Outcome]]:
    server.reset()
    with simulation(api=server) as simulated:
        yield simulated.run(make_plans(PAIRS, seed=SEED), ["sdk", "seed"], seed=SEED)
    server.reset()


def requests_ratio(outcomes: list[Outcome], low: float, high: float) -> float:
    """Mean requests of `Client.wait` over the loop's, jobs with progress."""
    ours = cell(select(outcomes, "sdk", progress=True, low=low, high=high))
    loop = cell(select(outcomes, "seed", progress=True, low=low, high=high))
    return ours.requests / loop.requests


@pytest.mark.parametrize(("low", "high"), LONG_BUCKETS)
def test_jobs_with_progress_of_ten_seconds_or_more_are_noticed_within_a_second(
    outcomes: list[Outcome], low: float, high: float
) -> None:
    ours = select(outcomes, "sdk", progress=True, low=low, high=high)

    assert cell(ours).p95 < 1.0
    # Jobs whose steps take equal time are all noticed within `precision`.
    assert max(outcome.notice for outcome in ours) <= Polling().precision + 1e-6


@pytest.mark.parametrize("progress", [True, False])
@pytest.mark.parametrize(("low", "high"), [(low, high) for _, low, high in BUCKETS])
def test_every_bucket_is_noticed_no_later_than_by_the_loop_at_the_median(
    outcomes: list[Outcome], progress: bool, low: float, high: float
) -> None:
    ours = cell(select(outcomes, "sdk", progress=progress, low=low, high=high))
    loop = cell(select(outcomes, "seed", progress=progress, low=low, high=high))

    assert ours.p50 <= loop.p50


@pytest.mark.parametrize(("low", "high", "most"), [(10.0, 30.0, 0.9), (30.0, 1e9, 0.7)])
def test_jobs_with_progress_of_ten_seconds_or_more_cost_fewer_requests_than_the_loop(
    outcomes: list[Outcome], low: float, high: float, most: float
) -> None:
    # What this sample measures today (0.84x and 0.66x), with a little room.
    assert requests_ratio(outcomes, low, high) <= most


@pytest.mark.xfail(
    strict=True,
    reason="most looks answer one yes/no question (has the next step boundary "
    "passed?), and telling a 20 s job's finish to within 0.85 s among "
    "durations of 1 s to 60 s takes about 7 such answers",
)
@pytest.mark.parametrize(("low", "high"), LONG_BUCKETS)
def test_jobs_with_progress_of_ten_seconds_or_more_cost_half_the_loops_requests(
    outcomes: list[Outcome], low: float, high: float
) -> None:
    assert requests_ratio(outcomes, low, high) <= 0.5


def test_jobs_without_progress_trade_requests_for_a_quicker_notice(
    outcomes: list[Outcome],
) -> None:
    ours = cell(select(outcomes, "sdk", progress=False))
    loop = cell(select(outcomes, "seed", progress=False))

    # Without progress nothing predicts the finish: looks about every 2 s
    # notice sooner than a 3 s loop and cost up to half as much again.
    assert ours.p50 < loop.p50
    assert ours.requests <= 1.6 * loop.requests


def test_the_report_lists_every_target_once(outcomes: list[Outcome]) -> None:
    found = targets(outcomes)

    assert len(found) == 10
    assert {target.met for target in found if "p50" in target.target} == {True}
    assert {target.met for target in found if "p95" in target.target} == {True}
