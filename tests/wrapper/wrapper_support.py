"""Helpers shared by the SDK's tests (imported by path, see conftest.py)."""

from __future__ import annotations

import asyncio
import heapq
import itertools

from qomplement_jobs import Polling
from qomplement_local_api import ManualClock


class LinkedClock:
    """A `qomplement_jobs.Clock` whose sleeps move the local API's manual clock.

    `sleeps` records every pause asked for, so tests can assert on them.
    Async sleeps of several tasks are ordered like real ones: a task wakes
    when no other task would wake earlier, then the clock jumps to its time.
    """

    def __init__(self, server_clock: ManualClock, wall_offset: float) -> None:
        self.server_clock = server_clock
        self.wall_offset = wall_offset
        self.sleeps: list[float] = []
        self._wakeups: list[tuple[float, int]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self.server_clock.now()

    def wall(self) -> float:
        return self.server_clock.now() + self.wall_offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds > 0:
            self.server_clock.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        wake = (self.monotonic() + max(seconds, 0.0), next(self._order))
        heapq.heappush(self._wakeups, wake)
        try:
            while True:
                # Let the other tasks run (and finish their requests) first.
                for _ in range(3):
                    await asyncio.sleep(0.001)
                if self._wakeups and self._wakeups[0] == wake:
                    gap = wake[0] - self.monotonic()
                    if gap > 0:
                        self.server_clock.advance(gap)
                    return
        finally:
            self._wakeups.remove(wake)
            heapq.heapify(self._wakeups)


# The production schedule, run in virtual time so it costs no waiting; without
# jitter, so that every run makes the same looks (jitter has its own tests).
TEST_POLLING = Polling(jitter=0)
