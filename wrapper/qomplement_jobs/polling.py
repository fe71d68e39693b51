"""When to look at a job again: the poll schedule behind `wait`.

The schedule combines three sources, and the longest wait they ask for wins:

1. Backoff. Without better information, looks are spaced by a capped
   exponential backoff with jitter (`initial_interval`, times `multiplier`
   after each look, at most `max_interval`, each shortened by up to `jitter`
   of itself so that many waiters do not poll in step).
2. Progress. A processing job that reports `progress` (`current` of `total`
   steps) tells when it will finish. The job's unknown start `s` (on the
   monotonic clock) and duration `D` are constrained by every look: a look
   at time `t` that finds `done` whole steps finished means
   `s + done * D / total <= t < s + (done + 1) * D / total`; a pending
   look means `s >= t`, a processing one `s <= t < s + D`. `started_at`
   (and `created_at`) add a band around the start, widened because the
   service sends whole seconds and clocks disagree; a band that
   contradicts the looks is dropped. The constraints are half-planes, so
   what is still possible is a convex polygon of `(s, D)`, and the finish
   `s + D` lies between its extremes over the polygon's corners. The spec
   calls `current` the steps done, while the service's messages
   ("Processing document 2 of 5") count the step in progress, one more;
   both readings are tracked and the one a look contradicts is dropped.
   The schedule spends looks where the next step boundary
   `s + k * D / total` would fall in the middle of its possible range
   (every such look cuts the polygon; of the boundaries within one
   `max_interval`, the latest), and once the finish is known to within
   `precision` it looks when the job must be done. Near the end looks are
   never more than `precision` apart, so a finished job is noticed within
   about `precision` seconds. A job whose looks contradict every reading
   (it is not linear) starts the polygon again from its newest look, and
   backoff resumes from the shortest interval.
3. The service. A `Retry-After` on any answer is a floor: the next look
   never comes sooner.
"""

from __future__ import annotations

import datetime
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


# Half-width of the box the polygon starts as, in seconds (about four months):
# far beyond any job, small enough to keep float arithmetic exact to the ms.
_UNBOUNDED = 1e7

# How far the true start may lie before and after `started_at` read through
# our wall clock: the service sends whole seconds, and clocks disagree a little.
_HINT_BEFORE = 1.0
_HINT_AFTER = 1.5

Point = tuple[float, float]
HalfPlane = tuple[float, float, float]


def _clip(polygon: list[Point], plane: HalfPlane) -> list[Point]:
    """The part of a convex polygon where `a * s + b * D <= c`."""
    a, b, c = plane
    tolerance = 1e-9 * max(1.0, abs(c))
    clipped: list[Point] = []
    for index, point in enumerate(polygon):
        following = polygon[(index + 1) % len(polygon)]
        here = a * point[0] + b * point[1] - c
        there = a * following[0] + b * following[1] - c
        if here <= tolerance:
            clipped.append(point)
        if (here < -tolerance and there > tolerance) or (
            here > tolerance and there < -tolerance
        ):
            fraction = here / (here - there)
            clipped.append(
                (
                    point[0] + fraction * (following[0] - point[0]),
                    point[1] + fraction * (following[1] - point[1]),
                )
            )
    return clipped


@attrs.define
class _Reading:
    """The `(start, duration)` pairs still possible under one reading of `current`.

    `shift` is what `current` counts beyond the steps done: 0 when it is the
    steps done (the spec), 1 when it is the step in progress.
    """

    shift: int
    total: int
    polygon: list[Point]
    done: int = 0
    alive: bool = True

    @classmethod
    def around(cls, shift: int, total: int, now: float) -> _Reading:
        """A reading that knows nothing yet but the box around `now`."""
        low, high = now - _UNBOUNDED, now + _UNBOUNDED
        box = [(low, 0.0), (high, 0.0), (high, _UNBOUNDED), (low, _UNBOUNDED)]
        return cls(shift=shift, total=total, polygon=box)

    def cut(self, plane: HalfPlane, *, soft: bool = False) -> None:
        """Keep only what satisfies `plane`; a soft cut that empties is ignored."""
        if not self.alive:
            return
        clipped = _clip(self.polygon, plane)
        if len(clipped) >= 3:
            self.polygon = clipped
        elif not soft:
            self.alive = False

    def look(self, now: float, current: int) -> None:
        """Take in `current` steps reported by a look at `now`."""
        done = current - self.shift
        if not 0 <= done <= self.total or done < self.done:
            self.alive = False
            return
        self.done = done
        # s + done/total * D <= now, and now < s + (done + 1)/total * D.
        self.cut((1.0, done / self.total, now))
        after = min(done + 1, self.total) / self.total
        self.cut((-1.0, -after, -now))

    def span(self, weight: float) -> tuple[float, float]:
        """The least and greatest `s + weight * D` still possible."""
        values = [start + weight * duration for start, duration in self.polygon]
        return min(values), max(values)


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
        # The tightest constraint of each kind seen so far, by kind.
        self._facts: dict[str, HalfPlane] = {}
        self._hints: list[HalfPlane] = []
        self._readings: list[_Reading] = []

    @property
    def predicted_finish(self) -> tuple[float, float] | None:
        """The monotonic window `(earliest, latest)` of the finish, if known."""
        return self._window()

    def observe(self, job: Job, *, now: float, wall: float) -> None:
        """Take in a look at `job` made at monotonic `now` (wall-clock `wall`)."""
        if job.status == KnownJobStatus.PENDING:
            self._add_fact("pending", (-1.0, 0.0, -now))  # not started before now
            return
        if job.status != KnownJobStatus.PROCESSING:
            return
        if not self._hints:
            self._hints = _start_hints(job, now=now, wall=wall)
            for reading in self._readings:
                for hint in self._hints:
                    reading.cut(hint, soft=True)
        if "started" not in self._facts:
            self._add_fact("started", (1.0, 0.0, now))  # started by now
        self._add_fact("running", (-1.0, -1.0, -now))  # not finished at now

        progress = job.progress
        if not isinstance(progress, JobProgress) or not _usable(progress):
            return
        if not self._readings or self._readings[0].total != progress.total:
            self._readings = self._fresh_readings(progress.total, now)
        for reading in self._readings:
            reading.look(now, progress.current)
        if not any(reading.alive for reading in self._readings):
            # Progress that fits no linear job: start again from this look.
            self._readings = self._fresh_readings(progress.total, now)
            for reading in self._readings:
                reading.look(now, progress.current)
            self._backoff = self._polling.min_interval or self._polling.initial_interval

    def next_delay(self, *, now: float) -> float:
        """Seconds to pause after a look made at monotonic `now`."""
        predicted = self._predicted_delay(now)
        if predicted is not None:
            return predicted
        return self._next_backoff()

    def after_failure(self) -> float:
        """Seconds to pause after a look that failed (a transient error)."""
        return self._next_backoff()

    def _add_fact(self, kind: str, plane: HalfPlane) -> None:
        """Record a constraint that holds whatever `current` means."""
        self._facts[kind] = plane
        was_predicting = bool(self._alive())
        for reading in self._readings:
            reading.cut(plane)
        if was_predicting and not self._alive():
            # Still running past every predicted end: look again soon.
            self._backoff = self._polling.min_interval or self._polling.initial_interval

    def _fresh_readings(self, total: int, now: float) -> list[_Reading]:
        """Both readings of `current`, bounded by the facts and hints so far."""
        readings = []
        for shift in (0, 1):
            reading = _Reading.around(shift, total, now)
            for fact in self._facts.values():
                reading.cut(fact)
            for hint in self._hints:
                reading.cut(hint, soft=True)
            readings.append(reading)
        return readings

    def _alive(self) -> list[_Reading]:
        """The readings of `current` no look has contradicted."""
        return [reading for reading in self._readings if reading.alive]

    def _window(self) -> tuple[float, float] | None:
        """The earliest and latest possible finish under every surviving reading."""
        alive = self._alive()
        if not alive:
            return None
        spans = [reading.span(1.0) for reading in alive]
        earliest = min(low for low, _ in spans)
        latest = max(high for _, high in spans)
        if latest - earliest > _UNBOUNDED / 10:
            return None
        return earliest, latest

    def _predicted_delay(self, now: float) -> float | None:
        """The pause that progress suggests, or None to fall back to backoff."""
        window = self._window()
        if window is None:
            return None
        earliest, latest = window
        polling = self._polling
        alive = self._alive()
        # Looks never skip past the earliest possible finish by more than
        # `precision`: that is what bounds how late a finish is noticed.
        target = min(max(earliest, now) + polling.precision, latest)
        if len(alive) == 1:
            boundary = self._next_boundary(alive[0], now)
            if boundary is not None:
                target = min(boundary, target)
        delay = max(target - now, polling.min_interval)
        return min(delay, polling.max_interval)

    def _next_boundary(self, reading: _Reading, now: float) -> float | None:
        """The moment worth looking at next to narrow the finish, if any.

        A look at time `t` tells, for each step boundary `s + k * D / total`,
        whether it has passed, cutting the polygon in two. Candidate looks
        within one `max_interval` are scored by the finish window they leave
        in the worse of the two outcomes; the best wins, the later on a tie,
        so each look narrows the finish and covers as much time as it can.
        """
        polling = self._polling
        earliest_finish, latest_finish = reading.span(1.0)
        width = latest_finish - earliest_finish
        if width <= polling.precision:
            return None
        soonest, latest = now + polling.min_interval, now + polling.max_interval
        candidates: list[tuple[float, float, float]] = []
        for step in range(reading.done + 1, reading.total):
            weight = step / reading.total
            low, high = reading.span(weight)
            if low > latest:
                break
            low, high = max(low, soonest), min(high, latest)
            if high > low:
                candidates.append((weight, low, high))
        # A job with thousands of steps has many boundaries in reach; a few
        # spread among them choose as well.
        stride = max(1, len(candidates) // 8)
        best: tuple[float, float] | None = None
        for weight, low, high in candidates[::stride]:
            for eighth in range(1, 8):
                moment = low + (high - low) * eighth / 8
                left = _finish_width(reading.polygon, (1.0, weight, moment), moment)
                right = _finish_width(reading.polygon, (-1.0, -weight, -moment), moment)
                score = (round(max(left, right), 3), -moment)
                if best is None or score < (round(best[0], 3), -best[1]):
                    best = (max(left, right), moment)
        if best is None or best[0] > 0.9 * width:
            return None
        return best[1]

    def _next_backoff(self) -> float:
        """The next capped exponential backoff interval, shortened by jitter."""
        polling = self._polling
        interval = min(self._backoff, polling.max_interval)
        self._backoff = min(self._backoff * polling.multiplier, polling.max_interval)
        shortened = interval * (1 - polling.jitter * self._random())
        return max(shortened, polling.min_interval)


def _finish_width(polygon: list[Point], plane: HalfPlane, moment: float) -> float:
    """The finish window's width once `plane` holds and the job ran past `moment`."""
    part = _clip(_clip(polygon, plane), (-1.0, -1.0, -moment))
    if len(part) < 3:
        return 0.0
    finishes = [start + duration for start, duration in part]
    return max(finishes) - min(finishes)


def _start_hints(job: Job, *, now: float, wall: float) -> list[HalfPlane]:
    """Bands on the start from `started_at` and `created_at`, on the monotonic clock."""
    hints: list[HalfPlane] = []
    started_at = job.started_at
    if isinstance(started_at, datetime.datetime):
        start = now - (wall - started_at.timestamp())
        hints.append((-1.0, 0.0, -(start - _HINT_BEFORE)))
        hints.append((1.0, 0.0, start + _HINT_AFTER))
    created_at = job.created_at
    if isinstance(created_at, datetime.datetime):
        created = now - (wall - created_at.timestamp())
        hints.append((-1.0, 0.0, -(created - _HINT_BEFORE)))
    return hints


def _usable(progress: JobProgress) -> bool:
    """Whether a progress report can be read as whole steps done out of a total."""
    return (
        isinstance(progress.current, int)
        and isinstance(progress.total, int)
        and progress.total > 0
        and 0 <= progress.current <= progress.total
    )
