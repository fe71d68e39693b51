"""Fixtures of the fault matrix: one local API on a manual clock, and clients of it.

The clients' clock moves the server's, so waits run in virtual time; only
the faults that hold an answer for real (latency, stall) cost real time,
bounded by the client's request timeout.

`QOMPLEMENT_WRITE_FAULT_MATRIX=1 pytest tests/faults` rewrites
docs/fault-matrix.md from the outcomes of a run that covered every cell.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from qomplement_jobs import Client
from qomplement_local_api import LocalAPI, ManualClock, serve

# The suite imports test modules by path, so the helper beside them is put
# on the path explicitly.
sys.path.insert(0, str(Path(__file__).parent))

import fault_matrix
from fault_matrix import CLIENT_TIMEOUT, DURATIONS, OBSERVED, VirtualClock


@pytest.fixture(scope="session")
def server() -> Iterator[LocalAPI]:
    with serve(clock=ManualClock(start=1_000.0)) as api:
        yield api


@pytest.fixture
def api(server: LocalAPI) -> Iterator[LocalAPI]:
    """The local API with only its sample data, no faults and zeroed counts."""
    server.reset()
    yield server
    server.reset()


@pytest.fixture(scope="session")
def wall_offset(server: LocalAPI) -> float:
    """Seconds to add to the server's clock to read it as wall-clock time."""
    job_id = server.create_job(type="extract", duration=1.0)
    now = server.clock.now()
    with Client(api_key=server.api_key, base_url=server.base_url) as client:
        created = client.get_job(job_id).created_at.timestamp()
    server.reset()
    return created - now


@pytest.fixture
def clock(api: LocalAPI, wall_offset: float) -> VirtualClock:
    assert isinstance(api.clock, ManualClock)
    return VirtualClock(api.clock, wall_offset)


@pytest.fixture
def client(api: LocalAPI, clock: VirtualClock) -> Iterator[Client]:
    with Client(
        api_key=api.api_key, base_url=api.base_url, clock=clock, timeout=CLIENT_TIMEOUT
    ) as client:
        yield client


@pytest.fixture(autouse=True)
def _no_ambient_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's own key and URL out of the tests."""
    monkeypatch.delenv("QOMPLEMENT_API_KEY", raising=False)
    monkeypatch.delenv("QOMPLEMENT_BASE_URL", raising=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write docs/fault-matrix.md when asked to and every cell was observed."""
    if not os.environ.get("QOMPLEMENT_WRITE_FAULT_MATRIX"):
        return
    wanted = fault_matrix.expected_cells()
    if set(OBSERVED) != set(wanted) or exitstatus != 0:
        missing = len(set(wanted) - set(OBSERVED))
        sys.stderr.write(
            f"fault matrix not written: {missing} cells not observed, "
            f"exit status {exitstatus}\n"
        )
        return
    slowest = max(DURATIONS, key=DURATIONS.__getitem__)
    footer = (
        f"Last written by a run of all {len(OBSERVED)} cells on "
        f"{time.strftime('%Y-%m-%d')}: {sum(DURATIONS.values()):.1f} s of cases, "
        f"the slowest {DURATIONS[slowest]:.2f} s ({slowest[0]} x {slowest[1]}); "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs."
    )
    text = fault_matrix.render_document(fault_matrix.render_table(OBSERVED), footer)
    fault_matrix.TABLE_PATH.write_text(text, encoding="utf-8")
    sys.stderr.write(f"wrote {fault_matrix.TABLE_PATH}\n")
