"""The decisions of waiting for a job, shared by the sync and async clients.

Nothing here sends a request or sleeps: the clients do, and report each
outcome back, so both follow exactly the same rules.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from uuid import UUID

import attrs
from qomplement_jobs_client.models import Job, JobProgress, KnownJobStatus

from . import errors
from ._http import is_transient
from .clock import Clock
from .polling import Polling, PollPlanner

logger = logging.getLogger(__name__)

# The shortest timeout given to the last look before a deadline: a look needs
# some time, and one short request past the deadline is the allowed overshoot.
MIN_REQUEST_TIMEOUT = 1.0

ProgressCallback = Callable[[Job], object]

_KNOWN_STATUSES = frozenset(status.value for status in KnownJobStatus)


class RateGate:
    """A pause shared by every request of one client, set by a 429's Retry-After.

    One job being rate limited pauses the polling of all the others, so a
    client waiting for many jobs does not answer a 429 with a burst.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._until = -math.inf
        self._lock = threading.Lock()
        self.pauses = 0

    def pause(self, seconds: float) -> None:
        """Hold every request back for `seconds` from now (never shortens a pause).

        `pauses` counts the calls, so a caller can tell that a 429 came.
        """
        with self._lock:
            self._until = max(self._until, self._clock.monotonic() + seconds)
            self.pauses += 1
        logger.debug("Pausing all requests of this client for %.3fs", seconds)

    def remaining(self) -> float:
        """Seconds left in the current pause, or 0."""
        return max(0.0, self._until - self._clock.monotonic())


@attrs.frozen
class WaitOutcome:
    """How waiting for one job of `wait_many` ended: its job, or the error.

    Attributes:
        job_id: The job waited for.
        job: The completed job, or for a failure the last job seen (or None).
        error: None when the job completed; otherwise what `wait` would have
            raised (`JobFailedError`, `WaitTimeoutError`, `NotFoundError`...).
    """

    job_id: UUID
    job: Job | None
    error: errors.QomplementError | None = None

    @property
    def ok(self) -> bool:
        """Whether the job completed."""
        return self.error is None

    def result(self) -> Job:
        """The completed job; raises the error when it did not complete."""
        if self.error is not None:
            raise self.error
        assert self.job is not None
        return self.job


class JobWait:
    """The state of one wait: deadline, last job seen, retry budget, next pause."""

    def __init__(
        self,
        job_id: UUID,
        *,
        timeout: float | None,
        clock: Clock,
        polling: Polling,
        gate: RateGate,
        on_progress: ProgressCallback | None,
        warn_unknown_status: Callable[[str], None],
        random_fraction: Callable[[], float] | None = None,
    ) -> None:
        if timeout is not None and not timeout >= 0:
            raise ValueError("timeout must be None or a number of seconds >= 0")
        self.job_id = job_id
        self.timeout = timeout
        self.last_job: Job | None = None
        self.looks = 0
        self._clock = clock
        self._polling = polling
        self._gate = gate
        self._on_progress = on_progress
        self._warn_unknown_status = warn_unknown_status
        planner_args = (
            {} if random_fraction is None else {"random_fraction": random_fraction}
        )
        self._planner = PollPlanner(polling, **planner_args)
        self._failures = 0
        self._deadline = None if timeout is None else clock.monotonic() + timeout

    def time_left(self) -> float | None:
        """Seconds until the deadline (negative once past), or None without one."""
        if self._deadline is None:
            return None
        return self._deadline - self._clock.monotonic()

    def request_timeout(self, default: float) -> float:
        """The timeout for the next look: the client's, cut to the time left."""
        left = self.time_left()
        if left is None:
            return default
        return min(default, max(left, MIN_REQUEST_TIMEOUT))

    def check_gate(self) -> None:
        """Before a look: give up if a shared 429 pause outlasts the deadline."""
        paused = self._gate.remaining()
        left = self.time_left()
        if paused > 0 and left is not None and paused > left:
            raise self._timeout_error(
                f"the service asked this client to pause {paused:.1f}s, "
                "past the deadline"
            )

    def on_job(self, job: Job, retry_after: float | None) -> float | None:
        """Take in a successful look; return the pause before the next, or None if done.

        Raises:
            JobFailedError: the job failed.
            WaitTimeoutError: the deadline has passed.
            RateLimitedError: the answer asks for a pause longer than allowed.
        """
        self.looks += 1
        self._failures = 0
        self.last_job = job
        logger.debug(
            "Job %s is %s%s (look %d)",
            job.id,
            job.status,
            _describe_progress(job),
            self.looks,
        )
        if self._on_progress is not None:
            self._on_progress(job)

        status = job.status
        if status == KnownJobStatus.COMPLETED:
            return None
        if status == KnownJobStatus.FAILED:
            raise errors.JobFailedError(job)
        if str(status) not in _KNOWN_STATUSES:
            self._warn_unknown_status(str(status))

        now = self._clock.monotonic()
        self._planner.observe(job, now=now, wall=self._clock.wall())
        return self._plan(self._planner.next_delay(now=now), retry_after, cause=None)

    def on_error(self, error: errors.QomplementError) -> float:
        """Take in a failed look; return the pause before trying again, or raise.

        Transient failures (transport, 5xx, unreadable bodies) are retried up
        to `Polling.max_retries` times in a row; a 429 is retried after its
        Retry-After. Anything else is raised at once.
        """
        if isinstance(error, errors.RateLimitedError):
            logger.debug(
                "Job %s: rate limited, Retry-After %s", self.job_id, error.retry_after
            )
            return self._plan(
                self._planner.after_failure(), error.retry_after, cause=error
            )
        if not is_transient(error):
            raise error
        self._failures += 1
        if self._failures > self._polling.max_retries:
            error.add_note(
                f"Gave up waiting for job {self.job_id} after "
                f"{self._failures} failed looks in a row."
            )
            raise error
        logger.debug(
            "Job %s: look failed (%s), retry %d of %d",
            self.job_id,
            error,
            self._failures,
            self._polling.max_retries,
        )
        return self._plan(self._planner.after_failure(), error.retry_after, cause=error)

    def _plan(
        self, delay: float, retry_after: float | None, *, cause: Exception | None
    ) -> float:
        """Combine the schedule's pause with Retry-After, the gate, the deadline."""
        floor = max(retry_after or 0.0, self._gate.remaining())
        if floor > self._polling.max_retry_after:
            raise errors.RateLimitedError(
                f"The service asked to wait {floor:.0f}s before looking at job "
                f"{self.job_id} again, more than max_retry_after "
                f"({self._polling.max_retry_after:.0f}s)",
                status_code=getattr(cause, "status_code", None),
                retry_after=floor,
            ) from cause
        delay = max(delay, floor)
        left = self.time_left()
        if left is not None:
            if left <= 0:
                raise self._timeout_error("the deadline passed") from cause
            if floor > left:
                raise self._timeout_error(
                    f"the service asked to wait {floor:.1f}s, past the deadline"
                ) from cause
            # The last pause ends at the deadline, for one final look.
            delay = min(delay, left)
        return delay

    def _timeout_error(self, why: str) -> errors.WaitTimeoutError:
        """Build the error for a wait that ran out of time."""
        job = self.last_job
        seen = "never seen" if job is None else f"last seen {job.status}"
        if job is not None:
            seen += _describe_progress(job)
        return errors.WaitTimeoutError(
            f"Job {self.job_id} did not finish within {self.timeout}s ({seen}; {why})",
            job_id=str(self.job_id),
            job=job,
            timeout=self.timeout,
        )


def _describe_progress(job: Job) -> str:
    """`" 2/5"` for a job with progress, else an empty string."""
    progress = job.progress
    if isinstance(progress, JobProgress):
        return f" {progress.current}/{progress.total}"
    return ""
