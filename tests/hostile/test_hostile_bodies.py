"""Answers of any shape, sent by a real local API, never make the SDK raise
anything but its own errors, leave a stray file, or yield a job twice."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hostile_support import AnswerAnything, CheckedClock, KeyWatch, count, hostile
from hypothesis import example, given
from hypothesis import strategies as st
from qomplement_jobs import (
    AsyncClient,
    Client,
    Polling,
    QomplementError,
    WaitTimeoutError,
)
from qomplement_jobs_client.models import Job, JobList, KnownJobStatus
from qomplement_local_api import (
    SAMPLE_FILL_PDF_JOB_ID,
    SAMPLE_PROCESSING_JOB_ID,
    LocalAPI,
)

# Every property here is bounded in examples; this bounds each in time.
pytestmark = pytest.mark.timeout(120)

# Waits give up quickly: what matters is how they end, not when.
POLLING = Polling(max_retries=2)
WAIT_TIMEOUT = 2.0

JOB: dict[str, Any] = {
    "id": SAMPLE_PROCESSING_JOB_ID,
    "type": "extract",
    "status": "processing",
    "progress": {"current": 1, "total": 5, "message": "Processing document 1 of 5"},
    "result": None,
    "error": None,
    "created_at": "2025-02-26T10:30:00Z",
    "started_at": "2025-02-26T10:30:05Z",
    "completed_at": None,
    "processing_time_ms": None,
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
# Values that are almost right: the edges of each field's type.
edge_values = st.sampled_from(
    [
        "",
        "completed",
        "failed",
        "queued",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "2025-02-30T10:00:00Z",
        "2025-02-26T10:30:05",
        "2025-02-26",
        "not a date",
        str(uuid.UUID(int=0)),
        -1,
        0,
        2**63,
        10**30,
        1e308,
        {"current": 0, "total": 0},
        {"current": -1, "total": 5},
        {"current": 9, "total": 5},
        {"current": 1, "total": 10**12},
        {"current": 1.5, "total": 2.5},
        {"current": "1", "total": "5"},
        {"code": "no_form_fields", "message": None},
        {"code": None},
        {"download_url": "/../../etc/passwd", "expires_at": "soon"},
    ]
)
fields = st.sampled_from(sorted({*JOB, "unexpected"}))
jobs = st.builds(
    lambda base, changes, dropped: {
        key: value for key, value in {**base, **changes}.items() if key not in dropped
    },
    st.just(JOB),
    st.dictionaries(fields, json_values | edge_values, max_size=4),
    st.sets(fields, max_size=2),
)
pages = st.fixed_dictionaries(
    {"jobs": st.lists(jobs | json_values, max_size=4)},
    optional={
        "total": json_values | edge_values,
        "has_more": st.booleans() | json_values,
    },
)
bodies = st.one_of(
    jobs.map(json.dumps),
    pages.map(json.dumps),
    json_values.map(lambda value: json.dumps(value)),
    st.binary(max_size=64).map(lambda raw: raw.decode("latin-1")),
).map(lambda text: text.encode("latin-1", "backslashreplace"))
statuses = st.one_of(
    st.just(200),
    st.integers(min_value=200, max_value=599).filter(lambda s: s not in (204, 304)),
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/problem+json",
        "text/plain",
        "text/html",
        "application/pdf",
        "application/octet-stream",
        "",
        "garbage/;;;",
    ]
)


class Run:
    """One example's client calls: every error must be the SDK's own."""

    def __init__(self, key_watch: KeyWatch) -> None:
        self.key_watch = key_watch
        self.errors: list[QomplementError] = []

    def attempt(self, action: Callable[[], Any]) -> Any:
        """Run `action`; return its value, or None when it raised an SDK error."""
        try:
            result = action()
        except QomplementError as exc:
            self.errors.append(exc)
            self.key_watch.saw([exc], "exception from a hostile body")
            return None
        self.key_watch.saw([result], "result from a hostile body")
        return result


@hostile(max_examples=100)
@given(body=bodies, status=statuses, content_type=content_types)
@example(
    body=b'{"jobs": [], "total": 1, "has_more": true}',
    status=200,
    content_type="application/json",
)
@example(
    body=json.dumps({**JOB, "progress": {"current": 1, "total": 10**12}}).encode(),
    status=200,
    content_type="application/json",
)
@example(
    body=json.dumps({**JOB, "started_at": "0001-01-01T00:00:00+14:00"}).encode(),
    status=200,
    content_type="application/json",
)
@example(body=b"[]", status=200, content_type="application/json")
@example(body=b'{"detail": [{"loc": 5}]}', status=422, content_type="application/json")
@example(
    body=b'{"detail": "x", "code": "no_file"}',
    status=404,
    content_type="application/json",
)
def test_any_answer_to_any_call_raises_only_the_sdks_errors(
    body: bytes,
    status: int,
    content_type: str,
    api: LocalAPI,
    answers: AnswerAnything,
    key_watch: KeyWatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    count("bodies: only the SDK's own errors")
    headers = {"Content-Type": content_type}
    run = Run(key_watch)
    clock = CheckedClock(max_pause=POLLING.max_retry_after)
    directory = tmp_path_factory.mktemp("downloads")

    def answer(path: str, times: int = 1_000_000) -> None:
        answers.answer(
            path=path, times=times, status=status, headers=headers, body=body
        )

    with Client(
        api_key=api.api_key, base_url=api.base_url, clock=clock, polling=POLLING
    ) as client:
        answer("/v1/jobs/*")
        job = run.attempt(lambda: client.get_job(SAMPLE_PROCESSING_JOB_ID))
        waited = run.attempt(
            lambda: client.wait(SAMPLE_PROCESSING_JOB_ID, timeout=WAIT_TIMEOUT)
        )
        outcomes = run.attempt(
            lambda: list(
                client.wait_many(
                    [SAMPLE_PROCESSING_JOB_ID, SAMPLE_FILL_PDF_JOB_ID],
                    timeout=WAIT_TIMEOUT,
                )
            )
        )
        answer("/v1/jobs")
        page = run.attempt(lambda: client.list_jobs(limit=5))
        answer("/v1/jobs", times=1)
        walked = run.attempt(lambda: [job.id for job in client.iter_jobs(page_size=5)])
        answer("/v1/jobs/*/download", times=1)
        written = run.attempt(
            lambda: client.download(SAMPLE_FILL_PDF_JOB_ID, directory)
        )

    assert job is None or isinstance(job, Job)
    assert waited is None or waited.status == KnownJobStatus.COMPLETED
    assert outcomes is None or len(outcomes) == 2
    assert page is None or isinstance(page, JobList)
    if walked is not None:
        assert len(walked) == len(set(walked))
    entries = os.listdir(directory)
    if written is None:
        assert entries == []
    else:
        assert entries == [written.name]
        assert written.parent == directory
        assert not written.name.startswith(".")


@hostile(max_examples=30)
@given(body=bodies, status=statuses, content_type=content_types)
def test_any_answer_to_the_async_client_raises_only_the_sdks_errors(
    body: bytes,
    status: int,
    content_type: str,
    api: LocalAPI,
    answers: AnswerAnything,
    key_watch: KeyWatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    count("bodies: only the SDK's own errors (async)")
    answers.answer(status=status, headers={"Content-Type": content_type}, body=body)
    directory = tmp_path_factory.mktemp("downloads")
    clock = CheckedClock(max_pause=POLLING.max_retry_after)
    errors: list[QomplementError] = []

    async def calls() -> None:
        async with AsyncClient(
            api_key=api.api_key, base_url=api.base_url, clock=clock, polling=POLLING
        ) as client:
            actions = [
                lambda: client.get_job(SAMPLE_PROCESSING_JOB_ID),
                lambda: client.wait(SAMPLE_PROCESSING_JOB_ID, timeout=WAIT_TIMEOUT),
                lambda: client.list_jobs(limit=5),
                lambda: client.download(SAMPLE_FILL_PDF_JOB_ID, directory),
            ]
            for action in actions:
                try:
                    await action()
                except QomplementError as exc:
                    errors.append(exc)
            try:
                async for _outcome in client.wait_many(
                    [SAMPLE_PROCESSING_JOB_ID], timeout=WAIT_TIMEOUT
                ):
                    pass
            except QomplementError as exc:
                errors.append(exc)

    asyncio.run(calls())

    key_watch.saw(errors, "async exception from a hostile body")
    assert len(os.listdir(directory)) <= 1


@pytest.mark.timeout(60)
@pytest.mark.parametrize("total", [10**6, 10**8, 10**12, 2**63])
def test_a_wait_on_a_job_with_a_huge_progress_total_costs_little_time(
    total: int, api: LocalAPI, answers: AnswerAnything
) -> None:
    job = {**JOB, "progress": {"current": 1, "total": total}}
    answers.answer(
        path=f"/v1/jobs/{SAMPLE_PROCESSING_JOB_ID}", body=json.dumps(job).encode()
    )
    clock = CheckedClock(max_pause=POLLING.max_retry_after)
    started = time.monotonic()

    with (
        Client(api_key=api.api_key, base_url=api.base_url, clock=clock) as client,
        pytest.raises(WaitTimeoutError),
    ):
        client.wait(SAMPLE_PROCESSING_JOB_ID, timeout=60)

    assert time.monotonic() - started < 5
    assert len(clock.sleeps) >= 3


def _job(job_id: uuid.UUID) -> dict[str, Any]:
    return {**JOB, "id": str(job_id)}


def test_a_page_that_lists_a_job_twice_yields_it_once(
    api: LocalAPI, answers: AnswerAnything
) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    page = {"jobs": [_job(first), _job(first), _job(second)], "total": 3}
    answers.answer(
        path="/v1/jobs", body=json.dumps({**page, "has_more": False}).encode()
    )

    with Client(api_key=api.api_key, base_url=api.base_url) as client:
        walked = [job.id for job in client.iter_jobs(page_size=5)]

    assert walked == [first, second]


def test_a_walk_ends_at_total_when_has_more_never_turns_false(
    api: LocalAPI, answers: AnswerAnything
) -> None:
    jobs = [_job(uuid.uuid4()), _job(uuid.uuid4())]
    page = {"jobs": jobs, "total": 2, "has_more": True}
    answers.answer(path="/v1/jobs", body=json.dumps(page).encode())
    sent: list[object] = []

    def at_most_a_few(request: object) -> None:
        sent.append(request)
        assert len(sent) <= 5, "the walk keeps asking for pages"

    with Client(api_key=api.api_key, base_url=api.base_url) as client:
        client.generated.get_httpx_client().event_hooks["request"].append(at_most_a_few)
        walked = [str(job.id) for job in client.iter_jobs(page_size=2)]

    assert walked == [job["id"] for job in jobs]
    assert len(sent) == 1


def test_a_json_answer_on_the_download_is_refused_and_leaves_no_file(
    api: LocalAPI, answers: AnswerAnything, tmp_path: Path
) -> None:
    answers.answer(
        path="/v1/jobs/*/download",
        status=200,
        headers={"Content-Type": "application/json"},
        body=b'{"detail": "Service temporarily unavailable"}',
    )

    with Client(api_key=api.api_key, base_url=api.base_url) as client:
        with pytest.raises(QomplementError, match="application/json instead of a file"):
            client.download(SAMPLE_FILL_PDF_JOB_ID, tmp_path)
        with pytest.raises(QomplementError, match="application/json instead of a file"):
            client.download_bytes(SAMPLE_FILL_PDF_JOB_ID)

    assert os.listdir(tmp_path) == []
