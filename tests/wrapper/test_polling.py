"""The poll schedule: backoff, progress-based prediction, and their limits."""

from __future__ import annotations

import datetime
import itertools
import uuid
from typing import Any

import pytest
from qomplement_jobs import Polling
from qomplement_jobs.polling import PollPlanner
from qomplement_jobs_client.models import Job

EPOCH = 1_700_000_000.0


def job_at(
    status: str,
    *,
    current: int | None = None,
    total: int | None = None,
    started: float | None = None,
) -> Job:
    """A job as the service would answer it; `started` is a wall-clock time."""
    data: dict[str, Any] = {
        "id": str(uuid.UUID(int=1)),
        "type": "fill_pdf",
        "status": status,
        "created_at": datetime.datetime.fromtimestamp(
            EPOCH - 5.0, datetime.UTC
        ).isoformat(),
    }
    if current is not None:
        data["progress"] = {"current": current, "total": total, "message": None}
    if started is not None:
        data["started_at"] = datetime.datetime.fromtimestamp(
            started, datetime.UTC
        ).isoformat()
    return Job.from_dict(data)


def simulate(
    duration: float,
    steps: int | None,
    *,
    polling: Polling | None = None,
    counts_step_in_progress: bool = True,
    pending: float = 0.0,
    report_started_at: bool = True,
) -> tuple[list[float], float]:
    """Follow a linear job with the planner; return the look times and the lateness.

    The job is created at t=0, waits `pending` seconds, then runs `duration`
    seconds reporting `steps` steps, as the local API does (current counts
    the step in progress) unless `counts_step_in_progress` is false.
    """
    planner = PollPlanner(polling or Polling(), random_fraction=lambda: 0.5)
    now, looks = 0.0, []
    while True:
        looks.append(now)
        running = now - pending
        if running >= duration:
            return looks, running - duration
        if running < 0:
            job = job_at("pending")
        else:
            current = None
            if steps is not None:
                done = int(running * steps / duration)
                current = min(steps, done + (1 if counts_step_in_progress else 0))
            started = EPOCH + pending if report_started_at else None
            job = job_at("processing", current=current, total=steps, started=started)
        planner.observe(job, now=now, wall=EPOCH + now)
        now += planner.next_delay(now=now)
        assert len(looks) < 1000


def test_backoff_grows_by_the_multiplier_up_to_the_cap() -> None:
    polling = Polling(initial_interval=1.0, multiplier=2.0, max_interval=5.0, jitter=0)
    planner = PollPlanner(polling)
    delays = [planner.next_delay(now=0.0) for _ in range(6)]
    assert delays == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_backoff_jitter_only_shortens_the_interval() -> None:
    polling = Polling(initial_interval=4.0, multiplier=1.0, jitter=0.25, min_interval=0)
    assert PollPlanner(polling, random_fraction=lambda: 0.0).next_delay(now=0) == 4.0
    assert PollPlanner(polling, random_fraction=lambda: 1.0).next_delay(now=0) == 3.0


def test_backoff_never_goes_below_min_interval() -> None:
    polling = Polling(initial_interval=0.01, min_interval=0.2, jitter=0)
    assert PollPlanner(polling).next_delay(now=0.0) == 0.2


def test_twenty_second_job_with_progress_is_noticed_within_precision() -> None:
    looks, lateness = simulate(20.0, 5)
    assert lateness <= Polling().precision
    assert len(looks) <= 14


@pytest.mark.parametrize("steps", [2, 3, 5, 10, 100])
@pytest.mark.parametrize("in_progress", [True, False])
def test_progress_schedule_is_prompt_for_either_reading_of_current(
    steps: int, in_progress: bool
) -> None:
    looks, lateness = simulate(20.0, steps, counts_step_in_progress=in_progress)
    assert lateness <= Polling().precision + 1e-9
    assert len(looks) <= 20


def test_progress_schedule_without_started_at_uses_first_sight() -> None:
    looks, lateness = simulate(20.0, 5, report_started_at=False)
    assert lateness <= Polling().precision
    assert len(looks) <= 16


def test_progress_schedule_after_a_pending_phase() -> None:
    looks, lateness = simulate(20.0, 5, pending=3.0)
    assert lateness <= Polling().precision + 1e-9
    assert len(looks) <= 18


def test_job_without_progress_is_polled_by_capped_backoff() -> None:
    looks, lateness = simulate(20.0, None)
    gaps = [b - a for a, b in itertools.pairwise(looks)]
    assert max(gaps) <= Polling().max_interval
    assert lateness <= Polling().max_interval


def test_long_job_never_pauses_longer_than_max_interval() -> None:
    looks, _ = simulate(300.0, 20)
    gaps = [b - a for a, b in itertools.pairwise(looks)]
    assert max(gaps) <= Polling().max_interval + 1e-9


def test_prediction_is_abandoned_when_the_job_overruns_it() -> None:
    polling = Polling(jitter=0)
    planner = PollPlanner(polling)
    # Working on step 3 of 5 after 8.5 s: done by t=21.25 if it is linear, give
    # or take the second by which `started_at` may be off.
    for now, current in [(0.0, 1), (4.5, 2), (8.5, 3)]:
        planner.observe(
            job_at("processing", current=current, total=5, started=EPOCH),
            now=now,
            wall=EPOCH + now,
        )
        planner.next_delay(now=now)
    finish = planner.predicted_finish
    assert finish is not None
    assert 14.0 < finish[0] < finish[1] < 23.0
    # Still processing well past that (now without progress): the prediction
    # is dropped and backoff starts again from the shortest interval.
    stuck = job_at("processing", started=EPOCH)
    planner.observe(stuck, now=40.0, wall=EPOCH + 40.0)
    assert planner.next_delay(now=40.0) == polling.min_interval


def test_non_linear_progress_resets_the_prediction() -> None:
    planner = PollPlanner(Polling(jitter=0))
    started = EPOCH
    planner.observe(
        job_at("processing", current=4, total=5, started=started),
        now=1.0,
        wall=EPOCH + 1,
    )
    # Progress going backwards contradicts every reading; nothing is predicted
    # until a look makes sense of it again.
    planner.observe(
        job_at("processing", current=1, total=5, started=started),
        now=2.0,
        wall=EPOCH + 2,
    )
    assert planner.next_delay(now=2.0) <= Polling().max_interval


def test_service_clock_ahead_of_ours_falls_back_to_first_sight() -> None:
    planner = PollPlanner(Polling(jitter=0))
    ahead = job_at("processing", current=1, total=4, started=EPOCH + 3600)
    planner.observe(ahead, now=10.0, wall=EPOCH)
    assert planner.next_delay(now=10.0) > 0


def test_polling_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="initial_interval"):
        Polling(initial_interval=0)
    with pytest.raises(ValueError, match="jitter"):
        Polling(jitter=1.5)


def test_a_job_with_thousands_of_steps_is_planned_quickly_and_precisely() -> None:
    looks, lateness = simulate(600.0, 10_000)

    assert lateness <= Polling().precision
    assert len(looks) <= 600 / Polling().max_interval + 10
