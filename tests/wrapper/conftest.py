"""Fixtures: one local API on loopback driven by a manual clock, and clients of it.

The client's clock is linked to the server's: when the client sleeps, the
server's time moves by the same amount and no real time passes. Jobs
therefore advance exactly as far as the client waited, and no test sleeps
for real.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Iterator

import pytest
from qomplement_jobs import Client, Polling
from qomplement_local_api import LocalAPI, ManualClock, serve


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


# Short intervals keep the number of requests per test small; `precision`
# and the jitter are kept so that the schedule under test is the real one.
TEST_POLLING = Polling()


@pytest.fixture(scope="session")
def server() -> Iterator[LocalAPI]:
    with serve(clock=ManualClock(start=1_000.0)) as api:
        yield api


@pytest.fixture
def api(server: LocalAPI) -> Iterator[LocalAPI]:
    """The local API, reset to its sample data for each test."""
    server.reset()
    yield server
    server.reset()


@pytest.fixture
def wall_offset(api: LocalAPI) -> float:
    """Seconds to add to the server's clock to get its wall-clock time."""
    job_id = api.create_job(type="extract", duration=1.0)
    now = api.clock.now()
    with Client(api_key=api.api_key, base_url=api.base_url) as client:
        created = client.get_job(job_id).created_at.timestamp()
    return created - now


@pytest.fixture
def clock(api: LocalAPI, wall_offset: float) -> LinkedClock:
    assert isinstance(api.clock, ManualClock)
    return LinkedClock(api.clock, wall_offset)


@pytest.fixture
def client(api: LocalAPI, clock: LinkedClock) -> Iterator[Client]:
    with Client(
        api_key=api.api_key, base_url=api.base_url, clock=clock, polling=TEST_POLLING
    ) as client:
        yield client


@pytest.fixture(autouse=True)
def _no_ambient_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's own key and URL out of the tests."""
    monkeypatch.delenv("QOMPLEMENT_API_KEY", raising=False)
    monkeypatch.delenv("QOMPLEMENT_BASE_URL", raising=False)
