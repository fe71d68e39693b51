"""The API key never appears in an exception, a repr, a log record or a report.

Every test in this folder runs under the key watch (see conftest.py), which
scans all logging at DEBUG. This module checks the watch itself, then runs
hostile answers and faults against every call with several keys and scans
everything they produce.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hostile_support import (
    OFFLINE_KEY,
    AnswerAnything,
    CheckedClock,
    KeyWatch,
    count,
    hostile,
    texts_of,
    unique,
)
from hypothesis import given
from hypothesis import strategies as st
from qomplement_jobs import AsyncClient, Client, Polling, QomplementError
from qomplement_local_api import (
    SAMPLE_EXPIRED_JOB_ID,
    SAMPLE_FAILED_JOB_ID,
    SAMPLE_FILL_PDF_JOB_ID,
    SAMPLE_PROCESSING_JOB_ID,
    Fault,
    LocalAPI,
)

# Every property here is bounded in examples; this bounds each in time.
pytestmark = pytest.mark.timeout(120)

MALFORMED_KEY = "not-a-qomplement-key-but-still-secret"
POLLING = Polling(max_retries=1)

FAULTS = [
    None,
    Fault("reset", times=2),
    Fault("truncate", times=2),
    Fault("malformed_json", times=2),
    Fault("status", status=500, times=2),
    Fault("status", status=503, retry_after=1, times=2),
    Fault("status", status=429, retry_after=1, times=2),
    Fault("status", status=520, times=2),
    Fault("overlong", times=2),
]
ANSWERS: list[dict[str, Any] | None] = [
    None,
    {"status": 200, "body": b"{"},
    {"status": 200, "body": b'{"id": 5}'},
    {"status": 401, "body": b'{"detail": "Not authenticated"}'},
    {"status": 422, "body": b'{"detail": [{"loc": ["path"], "msg": 1, "type": 2}]}'},
    {"status": 429, "body": b"{}", "headers": {"Retry-After": "Mon, 01 Jan 3000"}},
    {"status": 302, "body": b"", "headers": {"Location": "http://example.com/"}},
    {"status": 200, "body": b"%PDF-1.7", "headers": {"Content-Type": "text/html"}},
]


def test_the_watch_finds_a_key_wherever_it_is_planted() -> None:
    watch = KeyWatch()
    secret = "sd_" + "ab" * 24
    watch.guard(secret)
    logger = logging.getLogger("qomplement_jobs.watch_check")
    logger.addHandler(watch)
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug("sending %s", secret)
    finally:
        logger.removeHandler(watch)
    inner = ValueError(f"Bearer {secret}")
    outer = QomplementError("outer")
    outer.__cause__ = inner
    noted = QomplementError("noted")
    noted.add_note(secret)

    watch.saw([outer], "chained exception")
    watch.saw([noted], "exception note")
    watch.saw([{"headers": secret}], "repr of a result")

    assert unique(watch.leaks) == [
        "log record of qomplement_jobs.watch_check",
        "chained exception",
        "exception note",
        "repr of a result",
    ]
    assert "sd_" not in texts_of(QomplementError("clean"))[0]


def _keys(api: LocalAPI) -> list[str]:
    return [api.api_key, api.revoked_key, OFFLINE_KEY, MALFORMED_KEY]


def _calls(client: Client, folder: Path) -> list[Callable[[], Any]]:
    """Every call of the sync client, on jobs in each state."""
    return [
        lambda: client.get_job(SAMPLE_FILL_PDF_JOB_ID),
        lambda: client.wait(SAMPLE_FAILED_JOB_ID, timeout=5),
        lambda: client.wait(SAMPLE_PROCESSING_JOB_ID, timeout=2),
        lambda: list(
            client.wait_many([SAMPLE_FILL_PDF_JOB_ID, SAMPLE_FAILED_JOB_ID], timeout=5)
        ),
        lambda: client.list_jobs(limit=3),
        lambda: list(client.iter_jobs(page_size=20)),
        lambda: client.download(SAMPLE_FILL_PDF_JOB_ID, folder, overwrite=True),
        lambda: client.download(SAMPLE_EXPIRED_JOB_ID, folder),
        lambda: client.download(SAMPLE_PROCESSING_JOB_ID, folder),
        lambda: client.download_bytes(SAMPLE_FILL_PDF_JOB_ID),
    ]


@hostile(max_examples=40)
@given(
    key_index=st.integers(min_value=0, max_value=3),
    fault=st.sampled_from(FAULTS),
    answer=st.sampled_from(ANSWERS),
)
def test_no_key_appears_in_anything_a_hostile_run_produces(
    key_index: int,
    fault: Fault | None,
    answer: dict[str, Any] | None,
    api: LocalAPI,
    answers: AnswerAnything,
    key_watch: KeyWatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    count("key: never in exceptions, reprs, logs or reports")
    key = _keys(api)[key_index]
    key_watch.guard(*_keys(api), MALFORMED_KEY)
    folder = tmp_path_factory.mktemp("downloads")
    produced: list[object] = []
    api.reset()
    if fault is not None:
        api.inject(fault)
    if answer is not None:
        answers.answer(times=3, **answer)
    else:
        answers.stop()

    with Client(
        api_key=key,
        base_url=api.base_url,
        clock=CheckedClock(max_pause=POLLING.max_retry_after),
        polling=POLLING,
    ) as client:
        produced += [client, client.generated, client.generated.get_httpx_client()]
        produced += [client.generated.get_httpx_client().headers, client.polling]
        for call in _calls(client, folder):
            try:
                produced.append(call())
            except (QomplementError, ValueError) as exc:
                produced.append(exc)

    async def async_calls() -> None:
        async with AsyncClient(
            api_key=key,
            base_url=api.base_url,
            clock=CheckedClock(max_pause=POLLING.max_retry_after),
            polling=POLLING,
        ) as client:
            produced.append(client)
            for call in (
                lambda: client.get_job(SAMPLE_FILL_PDF_JOB_ID),
                lambda: client.wait(SAMPLE_FAILED_JOB_ID, timeout=5),
                lambda: client.download_bytes(SAMPLE_FILL_PDF_JOB_ID),
            ):
                try:
                    produced.append(await call())
                except QomplementError as exc:
                    produced.append(exc)
            async for outcome in client.wait_many(
                [SAMPLE_FAILED_JOB_ID, SAMPLE_FILL_PDF_JOB_ID], timeout=5
            ):
                produced.append(outcome)

    asyncio.run(async_calls())

    scanned_before = sum(key_watch.scanned.values())
    key_watch.saw(produced, "something a call produced")
    assert sum(key_watch.scanned.values()) > scanned_before + len(produced)
    assert any(isinstance(item, QomplementError) for item in produced)


def test_the_key_reached_the_server_while_the_watch_saw_nothing(
    api: LocalAPI, key_watch: KeyWatch
) -> None:
    with Client(api_key=api.api_key, base_url=api.base_url) as client:
        job = client.get_job(SAMPLE_FILL_PDF_JOB_ID)
    with (
        Client(api_key=api.revoked_key, base_url=api.base_url) as client,
        pytest.raises(QomplementError) as refused,
    ):
        client.get_job(SAMPLE_FILL_PDF_JOB_ID)

    key_watch.saw([job, refused.value], "result or exception of a plain call")
    assert api.stats()["status_counts"] == {"200": 1, "403": 1}
    assert key_watch.scanned["log"] > 0


def test_the_reports_of_these_runs_hold_no_key(
    api: LocalAPI, key_watch: KeyWatch
) -> None:
    root = Path(__file__).resolve().parents[2]
    reports = [root / "docs" / "fault-matrix.md"]

    for report in reports:
        key_watch.scan([report.read_text(encoding="utf-8")], f"report {report.name}")

    assert key_watch.scanned["report"] >= len(reports)
