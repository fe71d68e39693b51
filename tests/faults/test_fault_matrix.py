"""Every injected fault against every SDK operation, on a real local API.

Each case injects one fault into the local API's answers, runs one
operation, and checks the outcome `fault_matrix.expected` gives: the call
completes with exactly what a faultless server gives, or raises exactly the
named exception with a message naming the cause, within its deadline, and
leaves no file, temporary file, repeated or skipped job behind.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fault_matrix import (
    BURST,
    CLIENT_TIMEOUT,
    DURATIONS,
    FAULTS,
    MAX_RETRIES,
    OBSERVED,
    OPERATIONS,
    PERSISTS,
    SLACK,
    WAIT_OVERSHOOT,
    WAIT_REAL_LIMIT,
    WAIT_TIMEOUT,
    FaultCase,
    Operation,
    Outcome,
    VirtualClock,
    expected,
)
from qomplement_jobs import AsyncClient, Client, QomplementError, WaitTimeoutError
from qomplement_jobs_client.models import KnownJobStatus
from qomplement_local_api import SAMPLE_FILL_PDF_JOB_ID, LocalAPI

T = TypeVar("T")

FILE_SIZE = 256 * 1024
PAGE_SIZE = 10
SAMPLE_JOBS = 45


@dataclass
class Case:
    """One cell being run: the fault, the outcome it must have, and the tools."""

    fault: FaultCase
    outcome: Outcome
    api: LocalAPI
    client: Client
    clock: VirtualClock
    tmp_path: Path

    def attempt(
        self, action: Callable[[], T]
    ) -> tuple[T | None, QomplementError | None]:
        """Run `action`; return its value, or the SDK error it raised."""
        try:
            return action(), None
        except QomplementError as exc:
            return None, exc

    def check(self, raised: BaseException | None) -> None:
        """Assert that `raised` (None: completed) is the expected outcome."""
        assert self.outcome.matches(raised), f"expected {self.outcome}, got {raised!r}"
        if raised is not None:
            text = " ".join(_texts(raised))
            assert self.api.api_key not in text

    def looks_at(self, path: str) -> list[float]:
        """Virtual times of the requests sent to `path`, after `log_requests`."""
        return [at for at, sent in self.requests if sent == path]

    def log_requests(self, client: Client | AsyncClient) -> None:
        """Record the virtual time and path of every request `client` sends."""
        self.requests: list[tuple[float, str]] = []
        hooks = client.generated.get_httpx_client().event_hooks
        if isinstance(client, AsyncClient):
            hooks = client.generated.get_async_httpx_client().event_hooks

            async def note_async(request: httpx.Request) -> None:
                self.requests.append((self.clock.monotonic(), request.url.path))

            hooks["request"].append(note_async)
        else:

            def note(request: httpx.Request) -> None:
                self.requests.append((self.clock.monotonic(), request.url.path))

            hooks["request"].append(note)

    def assert_retry_after_honoured(self, looks: list[float], spoiled: int) -> None:
        """The look after each of the first `spoiled` answers waited Retry-After."""
        if not self.fault.retry_after:
            return
        gaps = [later - earlier for earlier, later in itertools.pairwise(looks)]
        assert len(gaps) >= spoiled
        assert min(gaps[:spoiled]) >= self.fault.retry_after


def _texts(error: BaseException) -> list[str]:
    """The text, repr and notes of an exception and of its causes."""
    texts: list[str] = []
    current: BaseException | None = error
    while current is not None:
        texts += [str(current), repr(current), *getattr(current, "__notes__", [])]
        current = current.__cause__ or current.__context__
    return texts


def _entries(directory: Path) -> list[str]:
    """Every name in `directory`, hidden ones included."""
    return sorted(os.listdir(directory))


def _job_path(job_id: str) -> str:
    return f"/v1/jobs/{job_id}"


def run_get_job(case: Case) -> None:
    path = _job_path(SAMPLE_FILL_PDF_JOB_ID)
    case.api.inject(case.fault.fault(path, BURST))

    started = time.monotonic()
    job, raised = case.attempt(lambda: case.client.get_job(SAMPLE_FILL_PDF_JOB_ID))
    elapsed = time.monotonic() - started

    case.check(raised)
    assert elapsed <= CLIENT_TIMEOUT + SLACK
    if job is not None:
        assert str(job.id) == SAMPLE_FILL_PDF_JOB_ID
        assert job.status == KnownJobStatus.COMPLETED
    if raised is not None and case.fault.status:
        assert raised.status_code == case.fault.status
        assert raised.retry_after == case.fault.retry_after


def run_wait_burst(case: Case) -> None:
    job_id = case.api.create_job(type="fill_pdf", duration=3.0, progress_steps=3)
    case.api.inject(case.fault.fault(_job_path(job_id), BURST))
    case.log_requests(case.client)

    started, real_start = case.clock.monotonic(), time.monotonic()
    job, raised = case.attempt(lambda: case.client.wait(job_id, timeout=WAIT_TIMEOUT))

    case.check(raised)
    assert job is not None and job.status == KnownJobStatus.COMPLETED
    assert case.clock.monotonic() - started <= WAIT_TIMEOUT + WAIT_OVERSHOOT
    assert time.monotonic() - real_start <= WAIT_REAL_LIMIT
    looks = case.looks_at(_job_path(job_id))
    spoiled = min(BURST, len(looks)) if case.fault.harmless else BURST
    assert case.api.stats()["faults"] == {case.fault.kind: spoiled}
    if not case.fault.harmless:
        assert len(looks) > BURST
    case.assert_retry_after_honoured(looks, BURST)


def run_wait_persists(case: Case) -> None:
    job_id = case.api.create_job(type="fill_pdf", duration=3.0, progress_steps=3)
    case.api.inject(case.fault.fault(_job_path(job_id), PERSISTS))
    case.log_requests(case.client)

    started, real_start = case.clock.monotonic(), time.monotonic()
    job, raised = case.attempt(lambda: case.client.wait(job_id, timeout=WAIT_TIMEOUT))

    case.check(raised)
    assert case.clock.monotonic() - started <= WAIT_TIMEOUT + WAIT_OVERSHOOT
    assert time.monotonic() - real_start <= WAIT_REAL_LIMIT
    looks = case.looks_at(_job_path(job_id))
    if job is not None:
        assert job.status == KnownJobStatus.COMPLETED
    elif isinstance(raised, WaitTimeoutError):
        assert raised.job is None
        case.assert_retry_after_honoured(looks, len(looks) - 1)
    else:
        assert raised is not None
        assert len(looks) == MAX_RETRIES + 1
        assert f"after {MAX_RETRIES + 1} failed looks" in " ".join(_texts(raised))
        case.assert_retry_after_honoured(looks, MAX_RETRIES)


def run_wait_many(case: Case) -> None:
    spoiled, *others = [
        case.api.create_job(type="fill_pdf", duration=duration, progress_steps=2)
        for duration in (3.0, 2.0, 1.0)
    ]
    case.api.inject(case.fault.fault(_job_path(spoiled), PERSISTS))

    started, real_start = case.clock.monotonic(), time.monotonic()
    outcomes = list(
        case.client.wait_many([spoiled, *others], concurrency=3, timeout=WAIT_TIMEOUT)
    )

    assert sorted(str(outcome.job_id) for outcome in outcomes) == sorted(
        [spoiled, *others]
    )
    by_id = {str(outcome.job_id): outcome for outcome in outcomes}
    case.check(by_id[spoiled].error)
    for job_id in others:
        assert by_id[job_id].ok, by_id[job_id].error
        assert by_id[job_id].result().status == KnownJobStatus.COMPLETED
    assert case.clock.monotonic() - started <= WAIT_TIMEOUT + WAIT_OVERSHOOT
    assert time.monotonic() - real_start <= WAIT_REAL_LIMIT


def run_async_wait_many(case: Case) -> None:
    job_ids = [
        case.api.create_job(type="fill_pdf", duration=duration, progress_steps=2)
        for duration in (3.0, 2.0, 1.0)
    ]
    case.api.inject(case.fault.fault("/v1/jobs/*", BURST))

    async def wait_for_all() -> list[Any]:
        async with AsyncClient(
            api_key=case.api.api_key,
            base_url=case.api.base_url,
            clock=case.clock,
            timeout=CLIENT_TIMEOUT,
        ) as client:
            case.log_requests(client)
            return [
                outcome
                async for outcome in client.wait_many(
                    job_ids, concurrency=3, timeout=WAIT_TIMEOUT
                )
            ]

    started, real_start = case.clock.monotonic(), time.monotonic()
    outcomes = asyncio.run(wait_for_all())

    assert sorted(str(outcome.job_id) for outcome in outcomes) == sorted(job_ids)
    for outcome in outcomes:
        case.check(outcome.error)
        assert outcome.result().status == KnownJobStatus.COMPLETED
    assert case.api.stats()["faults"] == {case.fault.kind: BURST}
    assert case.clock.monotonic() - started <= WAIT_TIMEOUT + WAIT_OVERSHOOT
    assert time.monotonic() - real_start <= WAIT_REAL_LIMIT


def run_download(case: Case) -> None:
    job_id = case.api.create_job(duration=0.0, file_size=FILE_SIZE)
    faithful = case.client.download_bytes(job_id)
    assert len(faithful) == FILE_SIZE
    destination = case.tmp_path / "downloads"
    destination.mkdir()
    case.api.inject(case.fault.fault(f"{_job_path(job_id)}/download", BURST))

    started = time.monotonic()
    written, raised = case.attempt(lambda: case.client.download(job_id, destination))
    elapsed = time.monotonic() - started

    case.check(raised)
    assert elapsed <= CLIENT_TIMEOUT + SLACK
    if written is None:
        assert _entries(destination) == []
    else:
        assert written == destination / "filled_form.pdf"
        assert written.read_bytes() == faithful
        assert _entries(destination) == ["filled_form.pdf"]


def run_iter_jobs(case: Case) -> None:
    faithful = [job.id for job in case.client.iter_jobs(page_size=PAGE_SIZE)]
    assert len(faithful) == len(set(faithful)) == SAMPLE_JOBS

    walk = case.client.iter_jobs(page_size=PAGE_SIZE)
    seen = [next(walk).id for _ in range(PAGE_SIZE)]
    case.api.inject(case.fault.fault("/v1/jobs", BURST))
    started = time.monotonic()
    rest, raised = case.attempt(lambda: [job.id for job in walk])
    elapsed = time.monotonic() - started

    case.check(raised)
    assert elapsed <= CLIENT_TIMEOUT + SLACK
    if rest is not None:
        assert seen + rest == faithful
    else:
        assert seen == faithful[:PAGE_SIZE]
        case.api.clear_faults()
        again = [job.id for job in case.client.iter_jobs(page_size=PAGE_SIZE)]
        assert again == faithful


RUNNERS: dict[str, Callable[[Case], None]] = {
    "get_job": run_get_job,
    "wait_burst": run_wait_burst,
    "wait_persists": run_wait_persists,
    "wait_many": run_wait_many,
    "async_wait_many": run_async_wait_many,
    "download": run_download,
    "iter_jobs": run_iter_jobs,
}


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "operation", [pytest.param(op, id=op.key) for op in OPERATIONS]
)
@pytest.mark.parametrize("fault", [pytest.param(case, id=case.key) for case in FAULTS])
def test_fault_against_operation_has_its_expected_outcome(
    fault: FaultCase,
    operation: Operation,
    api: LocalAPI,
    client: Client,
    clock: VirtualClock,
    tmp_path: Path,
) -> None:
    case = Case(fault, expected(fault, operation), api, client, clock, tmp_path)
    started = time.monotonic()

    RUNNERS[operation.key](case)

    OBSERVED[fault.key, operation.key] = case.outcome.cell()
    DURATIONS[fault.key, operation.key] = time.monotonic() - started
