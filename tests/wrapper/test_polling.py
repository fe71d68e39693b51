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
    polling = Polling(initial_interval=1.0, multiplier=2.0, max_backoff=5.0, jitter=0)
    planner = PollPlanner(polling)
    delays = [planner.next_delay(now=0.0) for _ in range(6)]
    assert delays == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_backoff_is_capped_by_max_interval_too() -> None:
    polling = Polling(initial_interval=1.0, max_backoff=5.0, max_interval=2.0, jitter=0)
    planner = PollPlanner(polling)
    delays = [planner.next_delay(now=0.0) for _ in range(4)]
    assert delays == [1.0, 1.5, 2.0, 2.0]


def test_backoff_jitter_only_shortens_the_interval() -> None:
    polling = Polling(
        initial_interval=4.0,
        multiplier=1.0,
        max_backoff=4.0,
        jitter=0.25,
        min_interval=0,
    )
    assert PollPlanner(polling, random_fraction=lambda: 0.0).next_delay(now=0) == 4.0
    assert PollPlanner(polling, random_fraction=lambda: 1.0).next_delay(now=0) == 3.0


def test_backoff_never_goes_below_min_interval() -> None:
    polling = Polling(initial_interval=0.01, min_interval=0.2, jitter=0)
    assert PollPlanner(polling).next_delay(now=0.0) == 0.2


def test_twenty_second_job_with_progress_is_noticed_within_precision() -> None:
    looks, lateness = simulate(20.0, 5)
    assert lateness <= Polling().precision
    # A loop that looks every 3 s makes 8 looks and notices 1 s late.
    assert len(looks) <= 8


@pytest.mark.parametrize("duration", [1.3, 4.0, 9.5, 17.0, 28.0, 44.0, 59.0])
@pytest.mark.parametrize("steps", [2, 3, 6, 10])
def test_a_job_with_progress_is_noticed_within_precision_whatever_its_length(
    duration: float, steps: int
) -> None:
    _, lateness = simulate(duration, steps)
    assert 0 <= lateness <= Polling().precision + 1e-9


@pytest.mark.parametrize("duration", [35.0, 45.0, 55.0])
def test_long_jobs_with_many_steps_need_far_fewer_looks_than_a_fixed_loop(
    duration: float,
) -> None:
    looks, _ = simulate(duration, 8)
    loop_looks = duration // 3 + 2  # look, then every 3 s until finished
    assert len(looks) <= 0.6 * loop_looks


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
    assert max(gaps) <= Polling().max_backoff
    assert lateness <= Polling().max_backoff


def test_current_is_read_as_the_step_in_progress() -> None:
    planner = PollPlanner(Polling(jitter=0))
    # Started at 0 (give or take the second `started_at` may be off); working
    # on step 2 of 5 at 5 s: one step done, so the five take 12.5 s to 25 s
    # (steps done would have meant 8.3 s to 12.5 s).
    for now, current in [(0.0, 1), (5.0, 2)]:
        planner.observe(
            job_at("processing", current=current, total=5, started=EPOCH),
            now=now,
            wall=EPOCH + now,
        )
    finish = planner.predicted_finish
    assert finish is not None
    assert 11.0 < finish[0] < 13.0 < 24.0 < finish[1] <= 29.0 + 1e-6


def test_a_service_that_counts_steps_done_is_followed_once_it_reports_zero() -> None:
    planner = PollPlanner(Polling(jitter=0))
    for now, current in [(0.0, 0), (5.0, 2)]:
        planner.observe(
            job_at("processing", current=current, total=5, started=EPOCH),
            now=now,
            wall=EPOCH + now,
        )
    finish = planner.predicted_finish
    assert finish is not None
    assert 8.0 < finish[0] < 9.0 < 12.0 < finish[1] <= 14.0 + 1e-6


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


@pytest.mark.parametrize("total", [10**12, 2**53, 2**53 + 1, 10**400])
def test_a_progress_report_with_an_enormous_total_is_planned_at_once(
    total: int,
) -> None:
    planner = PollPlanner(Polling(jitter=0))
    for now, current in [(0.0, 1), (3.0, total // 2)]:
        planner.observe(
            job_at("processing", current=current, total=total, started=EPOCH),
            now=now,
            wall=EPOCH + now,
        )
        delay = planner.next_delay(now=now)
        assert Polling().min_interval <= delay <= Polling().max_interval


def test_a_job_with_thousands_of_steps_is_planned_quickly_and_precisely() -> None:
    looks, lateness = simulate(600.0, 10_000)

    assert lateness <= Polling().precision
    assert len(looks) <= 600 / Polling().max_interval + 10
