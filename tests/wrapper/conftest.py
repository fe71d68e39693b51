"""Fixtures: one local API on loopback driven by a manual clock, and clients of it.

The client's clock is linked to the server's: when the client sleeps, the
server's time moves by the same amount and no real time passes. Jobs
therefore advance exactly as far as the client waited, and no test sleeps
for real.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from qomplement_jobs import Client
from qomplement_local_api import LocalAPI, ManualClock, serve

# The suite imports test modules by path, so the helper module beside them is
# put on the path explicitly.
sys.path.insert(0, str(Path(__file__).parent))

from wrapper_support import TEST_POLLING, LinkedClock


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
