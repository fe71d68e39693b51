"""Time as the SDK sees it: a clock that can be swapped out in tests.

Waiting measures its deadline with `monotonic()` and pauses with `sleep()` or
`asleep()`; `wall()` is used only to place a job's `started_at` (a wall-clock
time sent by the service) on the monotonic time line. Pass another `Clock` to
`Client(clock=...)` and no wait ever sleeps for real.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """What waiting needs from time: read it, and pass it."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for deadlines)."""
        ...

    def wall(self) -> float:
        """Seconds since the Unix epoch (used to read the service's timestamps)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for `seconds`."""
        ...

    async def asleep(self, seconds: float) -> None:
        """Suspend the calling task for `seconds`."""
        ...


class SystemClock:
    """The real clock: `time.monotonic`, `time.time`, `time.sleep`, `asyncio.sleep`."""

    def monotonic(self) -> float:
        """Return `time.monotonic()`."""
        return time.monotonic()

    def wall(self) -> float:
        """Return `time.time()`."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Sleep with `time.sleep`."""
        if seconds > 0:
            time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        """Sleep with `asyncio.sleep` (it still yields to the loop for 0 seconds)."""
        await asyncio.sleep(max(seconds, 0.0))

    def __repr__(self) -> str:
        return "SystemClock()"
