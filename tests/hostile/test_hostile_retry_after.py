"""Retry-After values of any shape never make the SDK pause for a negative or
unbounded time."""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import math
from collections.abc import Callable

import pytest
from hostile_support import AnswerAnything, CheckedClock, KeyWatch, count, hostile
from hypothesis import example, given
from hypothesis import strategies as st
from qomplement_jobs import AsyncClient, Client, Polling, QomplementError
from qomplement_jobs._headers import parse_retry_after
from qomplement_jobs_client.models import Job
from qomplement_local_api import (
    SAMPLE_FILL_PDF_JOB_ID,
    SAMPLE_PROCESSING_JOB_ID,
    LocalAPI,
)

# Every property here is bounded in examples; this bounds each in time.
pytestmark = pytest.mark.timeout(120)

POLLING = Polling()
LONGEST_PAUSE = POLLING.max_retry_after


def _http_date(moment: datetime.datetime) -> str:
    return email.utils.format_datetime(moment.replace(tzinfo=datetime.UTC), True)


http_dates = st.datetimes(
    min_value=datetime.datetime(1, 1, 1), max_value=datetime.datetime(9999, 12, 31)
).map(_http_date)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-10, max_value=10**400),
    st.floats(),
    st.decimals(allow_nan=True),
).map(str)
garbage = st.text(max_size=40)
any_value = st.one_of(numbers, http_dates, garbage, st.none())
# A header value the server can send: visible latin-1, no surrounding spaces.
on_the_wire = st.one_of(numbers, http_dates, garbage).map(
    lambda value: "".join(
        c for c in value if " " <= c <= "~" or "\xa0" <= c <= "\xff"
    ).strip()
)


@hostile(max_examples=1500)
@given(value=any_value, date=st.one_of(st.none(), http_dates, garbage), now=st.floats())
@example(value="-1", date=None, now=0.0)
@example(value="1e999", date=None, now=0.0)
@example(value="nan", date=None, now=0.0)
@example(value="Fri, 31 Dec 9999 23:59:59 GMT", date=None, now=0.0)
@example(
    value="Mon, 01 Jan 0001 00:00:00 GMT", date="Fri, 31 Dec 9999 23:59:59 GMT", now=0.0
)
def test_any_retry_after_reads_as_nothing_or_a_finite_delay(
    value: str | None, date: str | None, now: float
) -> None:
    count("retry-after: parsed delays are finite and >= 0")

    seconds = parse_retry_after(
        value, now=now if math.isfinite(now) else None, date=date
    )

    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)


def _answer_with(
    answers: AnswerAnything, path: str, status: int, value: str, times: int
) -> None:
    answers.answer(
        path=path, times=times, status=status, headers={"Retry-After": value}
    )


def _attempt(action: Callable[[], object], key_watch: KeyWatch) -> object:
    """Run `action`; return its value or the SDK error it raised (scanned for keys)."""
    try:
        result = action()
    except QomplementError as exc:
        key_watch.saw([exc], "exception after a hostile Retry-After")
        return exc
    key_watch.saw([result], "result after a hostile Retry-After")
    return result


@hostile(max_examples=100)
@given(value=on_the_wire, status=st.sampled_from([429, 503, 200]))
@example(value="99999999999", status=429)
@example(value="1e300", status=429)
@example(value="Fri, 31 Dec 9999 23:59:59 GMT", status=429)
@example(value="-5", status=503)
def test_a_client_never_pauses_unboundedly_after_any_retry_after(
    value: str, status: int, api: LocalAPI, answers: AnswerAnything, key_watch: KeyWatch
) -> None:
    count("retry-after: get_job pauses stay bounded")
    clock = CheckedClock(max_pause=LONGEST_PAUSE)
    path = f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID}"
    _answer_with(answers, path, status, value, times=1)

    with Client(api_key=api.api_key, base_url=api.base_url, clock=clock) as client:
        first = _attempt(lambda: client.get_job(SAMPLE_FILL_PDF_JOB_ID), key_watch)
        second = _attempt(lambda: client.get_job(SAMPLE_FILL_PDF_JOB_ID), key_watch)

    if isinstance(first, QomplementError):
        assert first.retry_after is None or 0 <= first.retry_after < math.inf
    # The second look either happens after a bounded pause, or is refused
    # because the service asked for longer than the client will wait.
    assert isinstance(second, Job) or second.retry_after > LONGEST_PAUSE  # type: ignore[union-attr]
    assert all(0 <= pause <= LONGEST_PAUSE for pause in clock.sleeps)


@hostile(max_examples=50)
@given(value=on_the_wire, status=st.sampled_from([429, 503, 200]))
@example(value="99999999999", status=429)
@example(value="Fri, 31 Dec 9999 23:59:59 GMT", status=200)
def test_a_wait_never_pauses_unboundedly_after_any_retry_after(
    value: str, status: int, api: LocalAPI, answers: AnswerAnything, key_watch: KeyWatch
) -> None:
    count("retry-after: wait pauses stay bounded")
    clock = CheckedClock(max_pause=LONGEST_PAUSE)
    _answer_with(
        answers, f"/v1/jobs/{SAMPLE_PROCESSING_JOB_ID}", status, value, times=3
    )

    with Client(api_key=api.api_key, base_url=api.base_url, clock=clock) as client:
        outcome = _attempt(
            lambda: client.wait(SAMPLE_PROCESSING_JOB_ID, timeout=20), key_watch
        )

    assert isinstance(outcome, QomplementError)  # the sample job never finishes
    assert all(0 <= pause <= LONGEST_PAUSE for pause in clock.sleeps)
    assert sum(clock.sleeps) <= 20 + LONGEST_PAUSE


@hostile(max_examples=40)
@given(value=on_the_wire)
@example(value="99999999999")
def test_an_async_client_never_pauses_unboundedly_after_any_retry_after(
    value: str, api: LocalAPI, answers: AnswerAnything, key_watch: KeyWatch
) -> None:
    count("retry-after: async pauses stay bounded")
    clock = CheckedClock(max_pause=LONGEST_PAUSE)
    _answer_with(answers, f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID}", 429, value, times=1)

    async def twice() -> list[object]:
        outcomes: list[object] = []
        async with AsyncClient(
            api_key=api.api_key, base_url=api.base_url, clock=clock
        ) as client:
            for _ in range(2):
                try:
                    outcomes.append(await client.get_job(SAMPLE_FILL_PDF_JOB_ID))
                except QomplementError as exc:
                    outcomes.append(exc)
        return outcomes

    first, second = asyncio.run(twice())

    key_watch.saw([first, second], "async outcome after a hostile Retry-After")
    assert isinstance(first, QomplementError)
    assert isinstance(second, Job) or second.retry_after > LONGEST_PAUSE  # type: ignore[union-attr]
    assert all(0 <= pause <= LONGEST_PAUSE for pause in clock.sleeps)
