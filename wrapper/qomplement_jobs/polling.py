"""When to look at a job again: the poll schedule behind `wait`.

The schedule combines three sources, and the longest wait they ask for wins:

1. Backoff. Without progress to go by, looks are spaced by a capped
   exponential backoff with jitter (`initial_interval`, times `multiplier`
   after each look, at most `max_backoff`, each shortened by up to `jitter`
   of itself so that many waiters do not poll in step). The cap is short on
   purpose: with nothing to predict the finish from, the gap between two
   looks is what sets how late a finish is noticed (about half of it).
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
   `s + D` lies between its extremes over the polygon's corners. `current`
   is the step in progress (the spec's reading: `current - 1` steps are
   done); a service that counts the steps done instead shows it by
   reporting 0, which contradicts that reading, and the other one is used.

   Each next look is the moment, among those allowed, that minimises the
   looks expected in all: the look itself, plus, for each answer it may
   bring (finished, or still running with so many step boundaries passed),
   the chance of that answer times an estimate of the looks still needed
   after it. Chances are shares of the polygon, weighted by `1 / D` so
   that a job is as likely to take 2 to 4 s as 20 to 40 s. The estimate
   for a finish window `W` wide: about `W / (2 * precision)` looks spread
   over it, fewer after looks at step boundaries still ahead (each can
   halve the window; looks at the same boundary narrow it only linearly).
   A look is allowed at most `precision` past the earliest possible
   finish, never past the latest one, and at most `max_interval` after the
   previous look, so a finished job is noticed within `precision` seconds
   when its steps take equal time. A job whose looks contradict every
   reading (its steps do not) starts the polygon again from its newest
   look, and backoff resumes from the shortest interval.
3. The service. A `Retry-After` on any answer is a floor: the next look
   never comes sooner.
"""

from __future__ import annotations

import datetime
import itertools
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
        max_backoff: The longest interval of that backoff; a job without
            progress is typically noticed about half of it after finishing.
        max_interval: The longest pause between two looks, whatever the
            progress predicts (and a cap on `max_backoff` too).
        jitter: Fraction (0..1) by which a backoff interval is shortened at
            random.
        min_interval: The shortest pause between two looks the schedule
            chooses itself (a `Retry-After` may ask for more, never less).
        precision: The longest delay, in seconds, between a job with
            progress finishing and `wait` noticing it (plus the time one
            request takes), for a job whose steps take equal time.
        max_retries: Consecutive transient failures (connection errors,
            timeouts, 5xx, unreadable bodies) tolerated before giving up.
        max_retry_after: The longest `Retry-After` honoured by sleeping;
            a longer one raises `RateLimitedError` instead.

    Example:
        >>> Client(polling=Polling(initial_interval=0.05, max_interval=0.2))
    """

    initial_interval: float = attrs.field(default=1.0, validator=attrs.validators.gt(0))
    multiplier: float = attrs.field(default=1.5, validator=attrs.validators.ge(1))
    max_backoff: float = attrs.field(default=2.5, validator=attrs.validators.gt(0))
    max_interval: float = attrs.field(default=10.0, validator=attrs.validators.gt(0))
    jitter: float = attrs.field(
        default=0.25, validator=[attrs.validators.ge(0), attrs.validators.le(1)]
    )
    min_interval: float = attrs.field(default=0.2, validator=attrs.validators.ge(0))
    precision: float = attrs.field(default=0.85, validator=attrs.validators.gt(0))
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

# The most steps a progress report is read with: counts beyond this are not
# exact as floats (and a job with more steps is followed by backoff).
_MAX_STEPS = 2**53

# Moments weighed for each next look, evenly spread over the allowed range.
_CANDIDATES = 8
# Groups of step boundaries a look is scored against (a job with thousands
# of steps passes many at once; a few groups tell the answers apart as well).
_BOUNDARY_GROUPS = 8

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

    `shift` is what `current` counts beyond the steps done: 1 when it is the
    step in progress (the spec), 0 when it is the steps done.
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
        reading = self._reading()
        if reading is None:
            return None
        earliest, latest = reading.span(1.0)
        if latest - earliest > _UNBOUNDED / 10:
            return None
        return earliest, latest

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
        was_predicting = self._reading() is not None
        for reading in self._readings:
            reading.cut(plane)
        if was_predicting and self._reading() is None:
            # Still running past every predicted end: look again soon.
            self._backoff = self._polling.min_interval or self._polling.initial_interval

    def _fresh_readings(self, total: int, now: float) -> list[_Reading]:
        """Both readings of `current`, bounded by the facts and hints so far."""
        readings = []
        for shift in (1, 0):
            reading = _Reading.around(shift, total, now)
            for fact in self._facts.values():
                reading.cut(fact)
            for hint in self._hints:
                reading.cut(hint, soft=True)
            readings.append(reading)
        return readings

    def _reading(self) -> _Reading | None:
        """The reading of `current` in use: the spec's, unless contradicted."""
        # Limitation: a service that counts the steps done but is first seen
        # past its first step never reports the 0 that tells the readings
        # apart; read as the spec says, such a job looks one step behind, and
        # its finish may be noticed up to one step late.
        for reading in self._readings:
            if reading.alive:
                return reading
        return None

    def _predicted_delay(self, now: float) -> float | None:
        """The pause that progress suggests, or None to fall back to backoff."""
        reading = self._reading()
        if reading is None:
            return None
        polling = self._polling
        earliest, latest = reading.span(1.0)
        soonest = now + polling.min_interval
        # Looks never skip past the earliest possible finish by more than
        # `precision`: that is what bounds how late a finish is noticed.
        last = min(
            max(earliest, now) + polling.precision, latest, now + polling.max_interval
        )
        if last <= soonest:
            return max(last - now, polling.min_interval)
        best_moment, best_looks = last, math.inf
        # From the latest moment back, so that a tie goes to the later look.
        for index in range(_CANDIDATES, -1, -1):
            moment = soonest + (last - soonest) * index / _CANDIDATES
            looks = _expected_looks(reading, moment, polling.precision)
            if looks < best_looks - 1e-3:
                best_moment, best_looks = moment, looks
        return best_moment - now

    def _next_backoff(self) -> float:
        """The next capped exponential backoff interval, shortened by jitter."""
        polling = self._polling
        cap = min(polling.max_backoff, polling.max_interval)
        interval = min(self._backoff, cap)
        self._backoff = min(self._backoff * polling.multiplier, cap)
        shortened = interval * (1 - polling.jitter * self._random())
        return max(shortened, polling.min_interval)


def _expected_looks(reading: _Reading, moment: float, precision: float) -> float:
    """The looks expected in all if the next one is at `moment`.

    One for the look, plus for each answer it may bring that is not
    "finished" (each number of step boundaries passed by then), the
    answer's chance times the looks estimated to remain after it.
    """
    total = _mass(reading.polygon, precision)
    running = _clip(reading.polygon, (-1.0, -1.0, -moment))  # s + D >= moment
    if total <= 0 or len(running) < 3:
        return 1.0
    # Boundaries k with s + k/total * D on both sides of `moment`; by
    # linearity in k, those strictly between the least and greatest k the
    # polygon's corners put at `moment`.
    reached = [_steps_by(moment, corner, reading.total) for corner in running]
    first = max(reading.done + 1, math.floor(min(reached)) + 1)
    last = min(reading.total - 1, math.ceil(max(reached)) - 1)
    stride = max(1, (last - first + 1) // _BOUNDARY_GROUPS)
    steps = range(first, last + 1, stride)

    expected = 1.0
    part = running
    for step in steps:
        weight = step / reading.total
        before = _clip(part, (-1.0, -weight, -moment))  # boundary still ahead
        expected += (
            _mass(before, precision)
            / total
            * _looks_left(before, moment, reading.total, precision)
        )
        part = _clip(part, (1.0, weight, moment))  # boundary passed
        if len(part) < 3:
            return expected
    return expected + _mass(part, precision) / total * _looks_left(
        part, moment, reading.total, precision
    )


def _looks_left(
    polygon: list[Point], moment: float, steps: int, precision: float
) -> float:
    """An estimate of the looks needed once the job is known to lie in `polygon`.

    A finish window `precision * width` wide takes about `width / 2` looks
    spread over it (at least one). Each look at a step boundary still ahead
    can halve the window first; once every such boundary has been used,
    more looks narrow it only linearly, as looks at one boundary do.
    """
    if len(polygon) < 3:
        return 0.0
    finishes = [start + duration for start, duration in polygon]
    width = (max(finishes) - min(finishes)) / precision
    passed = min(_steps_by(moment, corner, steps) for corner in polygon)
    # (A corner on a boundary may compute a hair short of it.)
    ahead = max(0, steps - 1 - math.floor(passed + 1e-9))
    best = max(1.0, 0.5 + width / 2)
    looks = 0
    while ahead and looks < 12:
        looks += 1
        cut = 2 ** min(looks, ahead) * (1 + max(0, looks - ahead))
        best = min(best, looks + max(1.0, 0.5 + width / (2 * cut)))
    return best


def _steps_by(moment: float, corner: Point, steps: int) -> float:
    """How many of `steps` equal steps a job starting and lasting as `corner` says
    has finished by `moment` (fractional, from 0 to `steps`)."""
    start, duration = corner
    if duration <= 0:
        return float(steps)
    return min(float(steps), max(0.0, steps * (moment - start) / duration))


def _width_at(polygon: list[Point], duration: float) -> float:
    """How wide a convex polygon is in `s` at one duration `D`."""
    starts = []
    for index, (start, height) in enumerate(polygon):
        next_start, next_height = polygon[(index + 1) % len(polygon)]
        if min(height, next_height) <= duration <= max(height, next_height):
            if height == next_height:
                starts += [start, next_start]
            else:
                fraction = (duration - height) / (next_height - height)
                starts.append(start + (next_start - start) * fraction)
    return max(starts) - min(starts) if starts else 0.0


def _mass(polygon: list[Point], floor: float) -> float:
    """How likely the job lies in `polygon`: its area weighted by `1 / max(D, floor)`.

    The polygon's width in `s` is linear in `D` between the heights of its
    corners, so each slab between two such heights integrates exactly.
    """
    if len(polygon) < 3:
        return 0.0
    heights = sorted({duration for _, duration in polygon})
    mass = 0.0
    for low, high in itertools.pairwise(heights):
        low_width, high_width = _width_at(polygon, low), _width_at(polygon, high)
        slope = (high_width - low_width) / (high - low)
        if low < floor:
            # Below the floor the weight is flat at 1 / floor.
            top = min(high, floor)
            top_width = low_width + slope * (top - low)
            mass += (low_width + top_width) / 2 * (top - low) / floor
            if high <= floor:
                continue
            low, low_width = floor, top_width
        # The integral of (low_width + slope * (D - low)) / D from low to high.
        intercept = low_width - slope * low
        mass += intercept * math.log(high / low) + slope * (high - low)
    return mass


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
        and 0 < progress.total <= _MAX_STEPS
        and 0 <= progress.current <= progress.total
    )
