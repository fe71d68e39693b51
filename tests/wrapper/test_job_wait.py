"""The bookkeeping of one wait, without a server: deadlines, timeouts, budgets."""

from __future__ import annotations

import uuid

import pytest
from qomplement_jobs import (
    NotFoundError,
    Polling,
    RateLimitedError,
    ServerError,
    WaitTimeoutError,
)
from qomplement_jobs._waiting import MIN_REQUEST_TIMEOUT, JobWait, RateGate
from qomplement_jobs_client.models import Job


class FakeClock:
    """Time that moves only when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_700_000_000.0 + self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.now += seconds


def processing_job() -> Job:
    return Job.from_dict(
        {
            "id": str(uuid.UUID(int=7)),
            "type": "extract",
            "status": "processing",
            "created_at": "2023-11-14T22:13:20+00:00",
        }
    )


def make_wait(
    clock: FakeClock, timeout: float | None, polling: Polling | None = None
) -> JobWait:
    return JobWait(
        uuid.UUID(int=7),
        timeout=timeout,
        clock=clock,
        polling=polling or Polling(jitter=0),
        gate=RateGate(clock),
        on_progress=None,
        warn_unknown_status=lambda status: None,
    )


def test_request_timeout_is_the_clients_without_a_deadline() -> None:
    assert make_wait(FakeClock(), None).request_timeout(30.0) == 30.0


def test_request_timeout_is_cut_to_the_time_left() -> None:
    clock = FakeClock()
    wait = make_wait(clock, 10.0)
    clock.now += 6.5

    assert wait.request_timeout(30.0) == pytest.approx(3.5)
    clock.now += 3.4
    assert wait.request_timeout(30.0) == MIN_REQUEST_TIMEOUT


def test_the_last_pause_ends_exactly_at_the_deadline() -> None:
    clock = FakeClock()
    wait = make_wait(clock, 2.0, Polling(initial_interval=1.5, jitter=0))

    first = wait.on_job(processing_job(), None)
    assert first == 1.5
    clock.now += first
    second = wait.on_job(processing_job(), None)
    assert second == pytest.approx(0.5)
    clock.now += second
    with pytest.raises(WaitTimeoutError):
        wait.on_job(processing_job(), None)


def test_retry_after_is_a_floor_on_the_pause() -> None:
    wait = make_wait(FakeClock(), None)

    assert wait.on_job(processing_job(), 7.0) == 7.0


def test_a_429_pauses_every_wait_sharing_the_gate() -> None:
    clock = FakeClock()
    gate = RateGate(clock)
    first, second = (
        JobWait(
            uuid.uuid4(),
            timeout=None,
            clock=clock,
            polling=Polling(jitter=0),
            gate=gate,
            on_progress=None,
            warn_unknown_status=lambda status: None,
        )
        for _ in range(2)
    )
    gate.pause(4.0)

    assert (
        first.on_error(RateLimitedError("429", status_code=429, retry_after=4.0)) == 4
    )
    assert second.on_job(processing_job(), None) == 4.0


def test_transient_failures_are_retried_within_the_budget() -> None:
    wait = make_wait(FakeClock(), None, Polling(max_retries=2, jitter=0))

    wait.on_error(ServerError("502", status_code=502))
    wait.on_error(ServerError("502", status_code=502))
    with pytest.raises(ServerError):
        wait.on_error(ServerError("502", status_code=502))


def test_a_success_resets_the_retry_budget() -> None:
    wait = make_wait(FakeClock(), None, Polling(max_retries=1, jitter=0))

    wait.on_error(ServerError("500", status_code=500))
    wait.on_job(processing_job(), None)
    wait.on_error(ServerError("500", status_code=500))


def test_errors_that_cannot_heal_are_raised_at_once() -> None:
    wait = make_wait(FakeClock(), None)

    with pytest.raises(NotFoundError):
        wait.on_error(NotFoundError("404", status_code=404))


def test_negative_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="timeout"):
        make_wait(FakeClock(), -1.0)
