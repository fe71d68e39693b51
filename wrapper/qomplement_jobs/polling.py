"""When to look at a job again: the poll schedule behind `wait`.

The schedule combines three sources, and the longest wait they ask for wins:

1. Backoff. Without better information, looks are spaced by a capped
   exponential backoff with jitter (`initial_interval`, times `multiplier`
   after each look, at most `max_interval`, each shortened by up to `jitter`
   of itself so that many waiters do not poll in step).
2. Progress. A processing job that reports `progress` (`current` of `total`
   steps) tells when it will finish. With `done` whole steps finished
   after `e` seconds, the job's duration `D` satisfies
   `done * D / total <= e < (done + 1) * D / total`, so every look bounds
   `D` from both sides. The spec calls `current` the steps done, while the
   service's messages ("Processing document 2 of 5") count the step in
   progress, one more; both readings are tracked and the one that a later
   look contradicts is dropped. The schedule keeps the tightest bounds,
   spends looks where the next step boundary would fall if `D` were the
   middle of its bounds (each such look halves the bounds; of the
   boundaries within one `max_interval`, the latest), and once the bounds
   are narrower than `precision` it looks when the job must be done. Looks
   near the end are never more than `precision` apart, so a finished job is
   noticed within about `precision` seconds. A job that contradicts every
   reading (it is not linear), or is still running past its predicted end,
   goes back to backoff from the shortest interval.
3. The service. A `Retry-After` on any answer is a floor: the next look
   never comes sooner.

The start of a job is its `started_at` placed on the monotonic clock through
the wall clock, or, without it or when the two clocks disagree, the moment
the job was first seen processing.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import attrs
from qomplement_jobs_client.models import Job, JobProgress, KnownJobStatus

__all__ = ["Polling"]


@attrs.frozen(kw_only=True)
class Polling:
    """How `wait` spaces its looks at a job, and how long it keeps trying.

    Defaults suit production. Tests shrink them (or inject a clock) so they
    never sleep for seconds.

    Attributes:
        initial_interval: Seconds between the first and second look when
            the job gives no progress to go by.
        multiplier: Growth of the interval after each such look.
        max_interval: The longest pause between two looks, whatever the
            progress predicts.
        jitter: Fraction (0..1) by which a backoff interval is shortened at
            random.
        min_interval: The shortest pause between two looks the schedule
            chooses itself (a `Retry-After` may ask for more, never less).
        precision: Target delay, in seconds, between a job finishing and
            `wait` noticing it, when the job reports progress.
        max_retries: Consecutive transient failures (connection errors,
            timeouts, 5xx, unreadable bodies) tolerated before giving up.
        max_retry_after: The longest `Retry-After` honoured by sleeping;
            a longer one raises `RateLimitedError` instead.

    Example:
        >>> Client(polling=Polling(initial_interval=0.05, max_interval=0.2))
    """

    initial_interval: float = attrs.field(default=0.5, validator=attrs.validators.gt(0))
    multiplier: float = attrs.field(default=1.5, validator=attrs.validators.ge(1))
    max_interval: float = attrs.field(default=5.0, validator=attrs.validators.gt(0))
    jitter: float = attrs.field(
        default=0.25, validator=[attrs.validators.ge(0), attrs.validators.le(1)]
    )
    min_interval: float = attrs.field(default=0.2, validator=attrs.validators.ge(0))
    precision: float = attrs.field(default=0.25, validator=attrs.validators.gt(0))
    max_retries: int = attrs.field(default=5, validator=attrs.validators.ge(0))
    max_retry_after: float = attrs.field(
        default=120.0, validator=attrs.validators.ge(0)
    )


@attrs.define
class _Reading:
    """Bounds `low < D <= high` on the duration, under one reading of `current`.

    `shift` is what `current` counts beyond the steps done: 0 when it is the
    steps done (the spec), 1 when it is the step in progress.
    """

    shift: int
    total: int
    low: float = 0.0
    high: float = math.inf
    done: int = 0
    alive: bool = True

    def add(self, elapsed: float, current: int) -> None:
        """Narrow the bounds with `current` seen `elapsed` seconds after the start."""
        done = current - self.shift
        if not 0 <= done <= self.total or done < self.done:
            self.alive = False
            return
        low = elapsed * self.total / (done + 1) if done < self.total else elapsed
        low = max(low, elapsed)
        high = elapsed * self.total / done if done > 0 else math.inf
        if low >= high or low >= self.high or high <= self.low:
            self.alive = False
            return
        self.low, self.high, self.done = max(self.low, low), min(self.high, high), done


class PollPlanner:
    """Decides, look after look, how long to pause before the next one.

    Pure: it never reads a clock or sleeps; callers pass the times in.
    """

    def __init__(
        self,
        polling: Polling,
        *,
        random_fraction: Callable[[], float] = random.random,
    ) -> None:
        self._polling = polling
        self._random = random_fraction
        self._backoff = polling.initial_interval
        self._start: float | None = None
        self._readings: list[_Reading] = []

    @property
    def predicted_finish(self) -> tuple[float, float] | None:
        """The monotonic window `(earliest, latest]` of the finish, if known."""
        window = self._window()
        if window is None or self._start is None:
            return None
        low, high = window
        return self._start + low, self._start + high

    def observe(self, job: Job, *, now: float, wall: float) -> None:
        """Take in a look at `job` made at monotonic `now` (wall-clock `wall`)."""
        if job.status != KnownJobStatus.PROCESSING:
            return
        if self._start is None:
            self._start = self._start_of(job, now=now, wall=wall)
        progress = job.progress
        if not isinstance(progress, JobProgress) or not _usable(progress):
            return
        elapsed = now - self._start
        readings = [r for r in self._readings if r.alive and r.total == progress.total]
        if readings:
            for reading in readings:
                reading.add(elapsed, progress.current)
            if any(reading.alive for reading in readings):
                return
        # No reading survives (a new job shape, or a job that is not linear):
        # start again from this look alone.
        self._readings = [
            _Reading(shift=shift, total=progress.total) for shift in (0, 1)
        ]
        for reading in self._readings:
            reading.add(elapsed, progress.current)

    def next_delay(self, *, now: float) -> float:
        """Seconds to pause after a look made at monotonic `now`."""
        predicted = self._predicted_delay(now)
        if predicted is not None:
            return predicted
        return self._next_backoff()

    def after_failure(self) -> float:
        """Seconds to pause after a look that failed (a transient error)."""
        return self._next_backoff()

    def _start_of(self, job: Job, *, now: float, wall: float) -> float:
        """Place the job's start on the monotonic clock."""
        started_at = job.started_at
        if started_at is None or not hasattr(started_at, "timestamp"):
            return now
        elapsed = wall - started_at.timestamp()
        if elapsed < 0:
            # The service's clock is ahead of ours; first sight is the safer start.
            return now
        return now - elapsed

    def _alive(self) -> list[_Reading]:
        """The readings of `current` no look has contradicted."""
        return [reading for reading in self._readings if reading.alive]

    def _window(self) -> tuple[float, float] | None:
        """Bounds on the duration that hold under every surviving reading."""
        alive = [reading for reading in self._alive() if not math.isinf(reading.high)]
        if not alive or len(alive) < len(self._alive()):
            return None
        return min(r.low for r in alive), max(r.high for r in alive)

    def _predicted_delay(self, now: float) -> float | None:
        """The pause that progress suggests, or None to fall back to backoff."""
        window, start = self._window(), self._start
        if window is None or start is None:
            return None
        low, high = window
        polling = self._polling
        elapsed = now - start
        if elapsed >= high + polling.precision:
            # Past the latest predicted end: the prediction was wrong.
            for reading in self._readings:
                reading.alive = False
            self._backoff = polling.min_interval or polling.initial_interval
            return None

        alive = self._alive()
        target = self._next_boundary(alive[0], elapsed) if len(alive) == 1 else None
        if target is None:
            target = min(low + polling.precision, high)
        delay = max(target - elapsed, polling.min_interval)
        return min(delay, polling.max_interval)

    def _next_boundary(self, reading: _Reading, elapsed: float) -> float | None:
        """The step boundary worth looking at next, in seconds after the start.

        Looking when step `k` would end if the duration were the middle of
        its bounds halves the bounds whatever the answer. Of the boundaries
        reachable within one `max_interval`, the latest is chosen, so each
        look both narrows the bounds and covers as much time as allowed.
        """
        polling = self._polling
        if reading.high - reading.low <= polling.precision:
            return None
        middle = (reading.low + reading.high) / 2
        earliest = elapsed + polling.min_interval
        latest = elapsed + polling.max_interval
        chosen: float | None = None
        for step in range(reading.done + 1, reading.total):
            boundary = step * middle / reading.total
            if boundary > latest:
                break
            if boundary >= earliest:
                chosen = boundary
        return chosen

    def _next_backoff(self) -> float:
        """The next capped exponential backoff interval, shortened by jitter."""
        polling = self._polling
        interval = min(self._backoff, polling.max_interval)
        self._backoff = min(self._backoff * polling.multiplier, polling.max_interval)
        shortened = interval * (1 - polling.jitter * self._random())
        return max(shortened, polling.min_interval)


def _usable(progress: JobProgress) -> bool:
    """Whether a progress report can be read as whole steps done out of a total."""
    return (
        isinstance(progress.current, int)
        and isinstance(progress.total, int)
        and progress.total > 0
        and 0 <= progress.current <= progress.total
    )
