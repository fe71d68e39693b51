"""`AsyncClient`: the same behaviour as `Client`, plus concurrency and cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import inspect
import itertools
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from qomplement_jobs import (
    AsyncClient,
    Client,
    DownloadIncompleteError,
    JobFailedError,
    NotFoundError,
    Polling,
    WaitTimeoutError,
)
from qomplement_jobs_client.models import Job, KnownJobStatus
from qomplement_local_api import SAMPLE_FILL_PDF_JOB_ID, Fault, LocalAPI
from wrapper_support import TEST_POLLING, LinkedClock

T = TypeVar("T")

FAST_POLLING = Polling(initial_interval=0.02, max_interval=0.05, min_interval=0.01)


def run(
    api: LocalAPI,
    clock: Any,
    body: Callable[[AsyncClient], Awaitable[T]],
    polling: Polling = TEST_POLLING,
) -> T:
    """Run `body` with an AsyncClient of the local API on a fresh event loop."""

    async def main() -> T:
        async with AsyncClient(
            api_key=api.api_key, base_url=api.base_url, clock=clock, polling=polling
        ) as client:
            return await body(client)

    return asyncio.run(main())


def public_methods(cls: type) -> dict[str, Any]:
    return {
        name: member
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


def test_client_and_async_client_mirror_each_other_method_for_method() -> None:
    sync_methods = public_methods(Client)
    async_methods = public_methods(AsyncClient)

    assert set(sync_methods) == set(async_methods)
    for name, method in sync_methods.items():
        twin = async_methods[name]
        assert inspect.signature(method).parameters.keys() == (
            inspect.signature(twin).parameters.keys()
        ), name
        for parameter in inspect.signature(method).parameters.values():
            other = inspect.signature(twin).parameters[parameter.name]
            assert (parameter.default, parameter.kind) == (other.default, other.kind)
        assert inspect.iscoroutinefunction(twin) or inspect.isasyncgenfunction(twin), (
            name
        )
    assert (
        inspect.signature(Client).parameters
        == inspect.signature(AsyncClient).parameters
    )


def test_async_wait_follows_the_same_schedule_as_sync(
    api: LocalAPI, clock: LinkedClock
) -> None:
    polling = Polling(jitter=0)
    sync_job = api.create_job(duration=12.0, progress_steps=4, pending=1.0)
    with Client(
        api_key=api.api_key, base_url=api.base_url, clock=clock, polling=polling
    ) as client:
        client.wait(sync_job)
    sync_sleeps, clock.sleeps = clock.sleeps, []

    async_job = api.create_job(duration=12.0, progress_steps=4, pending=1.0)
    job = run(api, clock, lambda client: client.wait(async_job), polling)

    assert job.status == KnownJobStatus.COMPLETED
    assert clock.sleeps == pytest.approx(sync_sleeps, abs=1e-6)


def test_async_wait_raises_the_same_typed_errors(
    api: LocalAPI, clock: LinkedClock
) -> None:
    failed = api.create_job(duration=1.0, outcome="failed", error_code="no_form_fields")
    slow = api.create_job(duration=100.0)

    with pytest.raises(JobFailedError) as caught:
        run(api, clock, lambda client: client.wait(failed))
    assert caught.value.code == "no_form_fields"

    with pytest.raises(WaitTimeoutError) as timed_out:
        run(api, clock, lambda client: client.wait(slow, timeout=4))
    assert timed_out.value.job is not None

    with pytest.raises(NotFoundError):
        run(api, clock, lambda client: client.get_job(uuid.uuid4()))


def test_async_wait_honours_retry_after(api: LocalAPI, clock: LinkedClock) -> None:
    job_id = api.create_job(duration=3.0)
    api.inject(Fault("status", path=f"/v1/jobs/{job_id}", status=429, retry_after=2))

    run(api, clock, lambda client: client.wait(job_id))

    assert clock.sleeps[0] >= 2.0


def test_cancelling_an_async_wait_leaves_nothing_running(api: LocalAPI) -> None:
    job_id = api.create_job(duration=3600.0)
    path = f"/v1/jobs/{job_id}"

    async def main() -> set[asyncio.Task[Any]]:
        async with AsyncClient(
            api_key=api.api_key, base_url=api.base_url, polling=FAST_POLLING
        ) as client:
            task = asyncio.create_task(client.wait(job_id))
            await asyncio.sleep(0.15)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]

    assert run_loop(main()) == set()
    # A look sent just before the cancel may still be in the server's hands;
    # let it land before counting, so a later one can only come from a client
    # task that kept running.
    time.sleep(0.2)
    looks = api.stats()["by_path"][path]
    assert looks >= 2
    time.sleep(0.2)
    assert api.stats()["by_path"][path] == looks


def test_cancelling_an_async_wait_mid_request_is_prompt(api: LocalAPI) -> None:
    job_id = api.create_job(duration=3600.0)
    api.inject(Fault("latency", path=f"/v1/jobs/{job_id}", delay=2.0))

    async def main() -> float:
        async with AsyncClient(api_key=api.api_key, base_url=api.base_url) as client:
            task = asyncio.create_task(client.wait(job_id))
            await asyncio.sleep(0.1)
            started = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return time.monotonic() - started

    assert run_loop(main()) < 0.5


def run_loop(coroutine: Awaitable[T]) -> T:
    async def main() -> T:
        return await coroutine

    return asyncio.run(main())


def test_wait_many_yields_outcomes_as_jobs_finish_without_cancelling_the_rest(
    api: LocalAPI, clock: LinkedClock
) -> None:
    slow = api.create_job(duration=9.0)
    failed = api.create_job(duration=3.0, outcome="failed", error_code="no_form_fields")
    fast = api.create_job(duration=1.0)
    missing = str(uuid.uuid4())
    timed_out = api.create_job(duration=500.0)

    async def body(client: AsyncClient) -> list[Any]:
        ids = [slow, failed, fast, missing, timed_out]
        return [outcome async for outcome in client.wait_many(ids, timeout=30)]

    outcomes = run(api, clock, body)

    order = [str(outcome.job_id) for outcome in outcomes]
    assert order == [missing, fast, failed, slow, timed_out]
    errors = {str(outcome.job_id): type(outcome.error) for outcome in outcomes}
    assert errors == {
        slow: type(None),
        fast: type(None),
        failed: JobFailedError,
        missing: NotFoundError,
        timed_out: WaitTimeoutError,
    }
    last_seen = {str(o.job_id): o.job for o in outcomes}
    assert last_seen[timed_out] is not None
    assert last_seen[timed_out].status == KnownJobStatus.PROCESSING


def test_wait_many_bounds_the_looks_in_flight_and_looks_at_every_job_at_once(
    api: LocalAPI, clock: LinkedClock
) -> None:
    ids = [api.create_job(duration=5.0) for _ in range(6)]
    started = clock.monotonic()

    async def body(client: AsyncClient) -> tuple[list[Any], list[Any]]:
        events = record_traffic(client, clock)
        outcomes = [o async for o in client.wait_many(ids, concurrency=2)]
        return outcomes, events

    outcomes, events = run(api, clock, body)

    assert all(outcome.ok for outcome in outcomes)
    in_flight = 0
    most = 0
    for kind, *_ in events:
        in_flight += 1 if kind == "send" else -1
        most = max(most, in_flight)
    assert most == 2
    # Every job's first look is at the start, not after the others finish.
    first_looks = [at for kind, at, *_ in events if kind == "send"][: len(ids)]
    assert first_looks == [started] * len(ids)
    by_path = api.stats()["by_path"]
    assert all(by_path[f"/v1/jobs/{job_id}"] >= 2 for job_id in ids)


def many_jobs(api: LocalAPI) -> tuple[list[str], list[float]]:
    """200 jobs of 1 s to 10 s, half of them reporting progress, in mixed order."""
    durations = [1.0 + 9.0 * index / 199 for index in range(200)]
    random.Random(7).shuffle(durations)
    ids = [
        api.create_job(
            duration=duration, progress_steps=2 + index % 9 if index % 2 else None
        )
        for index, duration in enumerate(durations)
    ]
    return ids, durations


def wait_for_many_under_a_limit(
    api: LocalAPI, clock: LinkedClock, ids: list[str], rate: int
) -> tuple[float, list[Any], list[Any]]:
    """wait_many with concurrency 8 under a token bucket of `rate`/s (burst `rate`)."""
    api.set_rate_limit(rps=rate, burst=rate)
    started = clock.monotonic()

    async def body(client: AsyncClient) -> tuple[list[Any], list[Any]]:
        events = record_traffic(client, clock)
        outcomes = [o async for o in client.wait_many(ids, concurrency=8)]
        return outcomes, events

    try:
        outcomes, events = run(api, clock, body)
    finally:
        api.set_rate_limit(None)
    return clock.monotonic() - started, outcomes, events


def floor_seconds(durations: list[float], rate: int, burst: int) -> float:
    """The last of one look per job, none before its job finishes, within the bucket."""
    last = 0.0
    for k, finish in enumerate(sorted(durations), start=1):
        last = max(last, finish, (k - burst) / rate)
    return last


def naive_loop_requests(durations: list[float], rate: int, burst: int) -> int:
    """Requests of one loop per job (sleep 3 s, look; on a 429 sleep 1 s more)
    against the same token bucket, whose 429s take no token."""
    order = itertools.count()
    due = [(3.0, next(order), duration) for duration in durations]
    heapq.heapify(due)
    tokens, last, requests = float(burst), 0.0, 0
    while due:
        at, _, duration = heapq.heappop(due)
        tokens = min(burst, tokens + (at - last) * rate)
        last = at
        requests += 1
        if tokens >= 1:
            tokens -= 1
            if duration > at:
                heapq.heappush(due, (at + 3.0, next(order), duration))
        else:
            heapq.heappush(due, (at + 4.0, next(order), duration))
    return requests


def test_many_jobs_finish_within_1_2x_the_longest_job_under_a_loose_limit(
    api: LocalAPI, clock: LinkedClock
) -> None:
    ids, durations = many_jobs(api)

    elapsed, outcomes, events = wait_for_many_under_a_limit(api, clock, ids, rate=50)

    assert all(outcome.ok for outcome in outcomes)
    assert sent_into_a_pause(events) == 0
    floor = floor_seconds(durations, 50, 50)
    assert floor == max(durations)
    assert elapsed <= 1.2 * floor


def test_many_jobs_under_a_tight_limit_cost_fewer_requests_than_naive_loops(
    api: LocalAPI, clock: LinkedClock
) -> None:
    # 200 jobs at 10/s is the shape of 1,000 at 50/s: the limit, not the
    # longest job, sets the floor (19 s).
    ids, durations = many_jobs(api)

    elapsed, outcomes, events = wait_for_many_under_a_limit(api, clock, ids, rate=10)

    assert all(outcome.ok for outcome in outcomes)
    assert sent_into_a_pause(events) == 0
    requests = sum(1 for event in events if event[0] == "send")
    assert requests < naive_loop_requests(durations, 10, 10) / 4
    # Limitation: here every look at a running job costs the budget of a
    # finished one; the first looks of 200 jobs that all start at once cost
    # about a third more than the floor (measured: 26 s against 19 s).
    assert elapsed <= 1.4 * floor_seconds(durations, 10, 10)


def test_a_429_on_one_job_pauses_polling_of_all_jobs(
    api: LocalAPI, clock: LinkedClock, caplog: pytest.LogCaptureFixture
) -> None:
    ids = [api.create_job(duration=6.0, progress_steps=3) for _ in range(4)]
    api.inject(Fault("status", path="/v1/jobs/*", status=429, retry_after=2))
    sent: list[tuple[float, str]] = []

    class Stamp(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "-> " in record.getMessage():
                sent.append((clock.monotonic(), record.getMessage()))

    handler = Stamp(level=logging.DEBUG)
    logger = logging.getLogger("qomplement_jobs._client")
    logger.addHandler(handler)
    caplog.set_level(logging.DEBUG, logger="qomplement_jobs")
    try:

        async def body(client: AsyncClient) -> list[Any]:
            return [o async for o in client.wait_many(ids, concurrency=4)]

        outcomes = run(api, clock, body)
    finally:
        logger.removeHandler(handler)

    assert all(outcome.ok for outcome in outcomes)
    limited = [at for at, message in sent if message.endswith("-> 429")]
    assert len(limited) == 1
    # Requests already in flight answer at the same instant; no new one is
    # sent by any task until the pause is over.
    assert all(at == limited[0] or at >= limited[0] + 2.0 for at, _ in sent)
    assert api.stats()["429"] == 1


def test_leaving_wait_many_early_cancels_every_task(
    api: LocalAPI, clock: LinkedClock
) -> None:
    ids = [api.create_job(duration=d) for d in (1.0, 50.0, 60.0)]

    async def body(client: AsyncClient) -> set[asyncio.Task[Any]]:
        async with contextlib.aclosing(client.wait_many(ids)) as outcomes:
            async for _ in outcomes:
                break
        return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]

    assert run(api, clock, body) == set()


def test_cancelling_wait_many_mid_flight_leaves_no_task_running(
    api: LocalAPI, clock: LinkedClock
) -> None:
    ids = [api.create_job(duration=50.0) for _ in range(20)]
    api.inject(Fault("latency", path="/v1/jobs/*", delay=0.2, times=20))

    async def body(client: AsyncClient) -> tuple[int, set[asyncio.Task[Any]]]:
        events = record_traffic(client, clock)

        async def consume() -> None:
            async for _ in client.wait_many(ids, concurrency=4):
                pass

        consumer = asyncio.create_task(consume())
        while not events:
            await asyncio.sleep(0.01)
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
        in_flight = sum(1 if kind == "send" else -1 for kind, *_ in events)
        return in_flight, asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]

    in_flight, left = run(api, clock, body)

    # The looks in flight at the cancel were cut off, not waited for.
    assert 0 < in_flight <= 4
    assert left == set()


def test_async_iter_jobs_matches_sync(
    api: LocalAPI, client: Client, clock: Any
) -> None:
    expected = [job.id for job in client.iter_jobs(page_size=9)]

    async def body(client: AsyncClient) -> list[Job]:
        return [job async for job in client.iter_jobs(page_size=9)]

    assert [job.id for job in run(api, clock, body)] == expected


def test_async_download_matches_sync(
    api: LocalAPI, client: Client, clock: Any, tmp_path: Path
) -> None:
    job_id = api.create_job(duration=0.0, file_size=500_000, filename="ünïcode.pdf")
    expected = client.download_bytes(job_id)
    reports: list[int] = []

    async def body(client: AsyncClient) -> tuple[Path, bytes, bytes]:
        path = await client.download(
            job_id, tmp_path, on_progress=lambda done, _: reports.append(done)
        )
        whole = await client.download_bytes(job_id)
        chunks = b"".join([chunk async for chunk in client.iter_download(job_id)])
        return path, whole, chunks

    path, whole, chunks = run(api, clock, body)

    assert path == tmp_path / "ünïcode.pdf"
    assert path.read_bytes() == whole == chunks == expected
    assert reports[-1] == 500_000


def test_async_download_cut_mid_body_leaves_no_file(
    api: LocalAPI, clock: Any, tmp_path: Path
) -> None:
    job_id = api.create_job(duration=0.0, file_size=1_000_000)
    api.inject(Fault("truncate", path=f"/v1/jobs/{job_id}/download"))

    with pytest.raises(DownloadIncompleteError):
        run(api, clock, lambda client: client.download(job_id, tmp_path / "f.pdf"))

    assert list(tmp_path.iterdir()) == []


def test_cancelling_an_async_download_leaves_no_file(
    api: LocalAPI, tmp_path: Path
) -> None:
    job_id = api.create_job(duration=0.0, file_size=1_000_000)
    api.inject(
        Fault(
            "stall", path=f"/v1/jobs/{job_id}/download", after_bytes=200_000, delay=3.0
        )
    )

    async def main() -> None:
        async with AsyncClient(api_key=api.api_key, base_url=api.base_url) as client:
            task = asyncio.create_task(client.download(job_id, tmp_path))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    run_loop(main())

    assert list(tmp_path.iterdir()) == []


def test_async_client_fetches_a_sample_job(api: LocalAPI, clock: Any) -> None:
    job = run(api, clock, lambda client: client.get_job(SAMPLE_FILL_PDF_JOB_ID))
    assert job.status == KnownJobStatus.COMPLETED


def record_traffic(
    client: AsyncClient, clock: LinkedClock
) -> list[tuple[str, float, int, float]]:
    """Log each request as it leaves and each answer as its headers arrive, in order.

    Entries: ("send", time, 0, 0) and ("answer", time, status, Retry-After).
    """
    events: list[tuple[str, float, int, float]] = []

    async def on_request(request: Any) -> None:
        events.append(("send", clock.monotonic(), 0, 0.0))

    async def on_response(response: Any) -> None:
        retry_after = float(response.headers.get("retry-after") or 0)
        events.append(("answer", clock.monotonic(), response.status_code, retry_after))

    hooks = client.generated.get_async_httpx_client().event_hooks
    hooks["request"].append(on_request)
    hooks["response"].append(on_response)
    return events


def sent_into_a_pause(events: list[tuple[str, float, int, float]]) -> int:
    """Requests that left after a 429 arrived and before its Retry-After ran out."""
    pause_until = -1.0
    into = 0
    for kind, at, status, retry_after in events:
        if kind == "answer" and status == 429:
            pause_until = max(pause_until, at + retry_after)
        elif kind == "send" and at < pause_until:
            into += 1
    return into


def test_no_request_leaves_during_a_429_pause_under_a_rate_limit(
    api: LocalAPI, clock: LinkedClock
) -> None:
    ids = [api.create_job(duration=1.0 + (index % 7)) for index in range(30)]
    api.set_rate_limit(rps=4, burst=4)

    async def body(client: AsyncClient) -> tuple[list[Any], list[Any]]:
        events = record_traffic(client, clock)
        outcomes = [o async for o in client.wait_many(ids, concurrency=8, timeout=300)]
        return outcomes, events

    try:
        outcomes, events = run(api, clock, body)
    finally:
        api.set_rate_limit(None)

    assert all(outcome.ok for outcome in outcomes)
    limited = [event for event in events if event[0] == "answer" and event[2] == 429]
    assert limited, "the rate limit was never met"
    assert all(event[3] >= 1 for event in limited)
    assert sent_into_a_pause(events) == 0
    assert api.stats()["429"] == len(limited)
