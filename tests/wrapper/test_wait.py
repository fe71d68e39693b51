"""Waiting for a job against the local API, with the client's clock linked to it."""

from __future__ import annotations

import logging
import uuid

import pytest
from qomplement_jobs import (
    AuthenticationError,
    Client,
    InvalidResponseError,
    JobFailedError,
    NotFoundError,
    PermissionDeniedError,
    Polling,
    RateLimitedError,
    ServerError,
    TransportError,
    WaitTimeoutError,
)
from qomplement_jobs_client.models import FillPdfResult, Job, KnownJobStatus
from qomplement_local_api import SAMPLE_FILL_PDF_JOB_ID, Fault, LocalAPI
from wrapper_support import LinkedClock


def job_path(job_id: str) -> str:
    return f"/v1/jobs/{job_id}"


def requests_to(api: LocalAPI, path: str) -> int:
    return int(api.stats()["by_path"].get(path, 0))


def test_wait_looks_at_once_and_returns_a_finished_job_without_sleeping(
    api: LocalAPI, client: Client, clock: LinkedClock
) -> None:
    job = client.wait(SAMPLE_FILL_PDF_JOB_ID)

    assert job.status == KnownJobStatus.COMPLETED
    assert clock.sleeps == []
    assert requests_to(api, job_path(SAMPLE_FILL_PDF_JOB_ID)) == 1


def test_wait_returns_the_completed_job_with_its_typed_result(
    api: LocalAPI, client: Client
) -> None:
    job_id = api.create_job(type="fill_pdf", duration=2.0)

    job = client.wait(job_id)

    assert isinstance(job, Job)
    assert isinstance(job.result, FillPdfResult)
    assert job.result.download_url == f"/v1/jobs/{job_id}/download"


def test_wait_notices_a_job_that_finishes_between_two_polls(
    api: LocalAPI, client: Client, clock: LinkedClock
) -> None:
    start = clock.monotonic()
    job_id = api.create_job(type="extract", duration=3.0, pending=0.5)
    seen: list[str] = []

    job = client.wait(job_id, on_progress=lambda job: seen.append(str(job.status)))

    assert job.status == KnownJobStatus.COMPLETED
    assert seen[0] == "pending" and "processing" in seen and seen[-1] == "completed"
    # No progress to go by: noticed within one (capped) backoff interval.
    assert 3.5 <= clock.monotonic() - start <= 3.5 + Polling().max_interval


def test_wait_with_progress_notices_a_twenty_second_job_within_a_second(
    api: LocalAPI, client: Client, clock: LinkedClock
) -> None:
    start = clock.monotonic()
    job_id = api.create_job(type="fill_pdf", duration=20.0, progress_steps=5)

    client.wait(job_id)

    lateness = clock.monotonic() - (start + 20.0)
    assert 0 <= lateness <= Polling().precision < 1.0
    # A loop that looks, then sleeps 3 s, makes 8 requests and notices 1 s late.
    assert requests_to(api, job_path(job_id)) <= 8


def test_wait_reports_progress_through_the_callback(
    api: LocalAPI, client: Client
) -> None:
    job_id = api.create_job(type="extract", duration=8.0, progress_steps=4)
    reports: list[tuple[int, int, str | None]] = []

    def record(job: Job) -> None:
        if job.progress:
            reports.append(
                (job.progress.current, job.progress.total, job.progress.message)
            )

    client.wait(job_id, on_progress=record)

    currents = [current for current, _, _ in reports]
    assert currents == sorted(currents)
    assert len(set(currents)) >= 3
    assert reports[0][2] == "Processing document 1 of 4..."


def test_wait_raises_job_failed_error_with_the_code_message_and_job(
    api: LocalAPI, client: Client
) -> None:
    job_id = api.create_job(
        type="fill_pdf",
        duration=1.0,
        outcome="failed",
        error_code="no_form_fields",
        error_message="Target PDF has no fillable form fields",
    )

    with pytest.raises(JobFailedError) as caught:
        client.wait(job_id)

    assert caught.value.code == "no_form_fields"
    assert caught.value.error_message == "Target PDF has no fillable form fields"
    assert caught.value.job.status == KnownJobStatus.FAILED
    assert str(caught.value.job.id) == job_id


def test_wait_passes_an_unknown_error_code_through(
    api: LocalAPI, client: Client
) -> None:
    job_id = api.create_job(duration=0.5, outcome="failed", error_code="quota_exceeded")

    with pytest.raises(JobFailedError) as caught:
        client.wait(job_id)

    assert caught.value.code == "quota_exceeded"


def test_wait_timeout_carries_the_last_job_and_ends_at_the_deadline(
    api: LocalAPI, client: Client, clock: LinkedClock
) -> None:
    job_id = api.create_job(type="extract", duration=100.0, progress_steps=10)
    start = clock.monotonic()

    with pytest.raises(WaitTimeoutError) as caught:
        client.wait(job_id, timeout=7.3)

    # The last pause was cut to end at the deadline, for one final look.
    assert clock.monotonic() - start == pytest.approx(7.3)
    assert sum(clock.sleeps) == pytest.approx(7.3)
    last = caught.value.job
    assert last is not None and last.status == KnownJobStatus.PROCESSING
    assert last.progress and last.progress.current == 1
    assert caught.value.timeout == 7.3
    assert "7.3" in str(caught.value)


def test_wait_with_zero_timeout_looks_once(api: LocalAPI, client: Client) -> None:
    job_id = api.create_job(duration=10.0)

    with pytest.raises(WaitTimeoutError):
        client.wait(job_id, timeout=0)

    assert requests_to(api, job_path(job_id)) == 1


def test_wait_honours_retry_after_of_a_429_mid_wait(
    api: LocalAPI, client: Client, clock: LinkedClock
) -> None:
    job_id = api.create_job(type="extract", duration=6.0)
    client.get_job(job_id)
    api.inject(Fault("status", path=job_path(job_id), status=429, retry_after=2))

    job = client.wait(job_id)

    assert job.status == KnownJobStatus.COMPLETED
    assert api.stats()["429"] == 1
    # The look that met the 429 was the first; the pause after it obeyed it.
    assert clock.sleeps[0] >= 2.0


def test_wait_honours_retry_after_on_a_successful_answer(
    api: LocalAPI, client: Client, clock: LinkedClock
) -> None:
    job_id = api.create_job(
        type="fill_pdf", duration=10.0, progress_steps=5, retry_after=3
    )

    client.wait(job_id)

    assert clock.sleeps and min(clock.sleeps) >= 3.0


def test_wait_honours_retry_after_of_a_503(
    api: LocalAPI, client: Client, clock: LinkedClock
) -> None:
    job_id = api.create_job(duration=1.0)
    api.inject(Fault("status", path=job_path(job_id), status=503, retry_after=4))

    client.wait(job_id)

    assert clock.sleeps[0] >= 4.0


def test_wait_raises_at_once_when_retry_after_outlasts_the_deadline(
    api: LocalAPI, client: Client, clock: LinkedClock
) -> None:
    job_id = api.create_job(duration=100.0)
    api.inject(Fault("status", path=job_path(job_id), status=429, retry_after=30))

    with pytest.raises(WaitTimeoutError, match="asked to wait 30"):
        client.wait(job_id, timeout=5)

    assert clock.sleeps == []


def test_wait_refuses_a_retry_after_longer_than_allowed(
    api: LocalAPI, clock: LinkedClock
) -> None:
    job_id = api.create_job(duration=100.0)
    api.inject(Fault("status", path=job_path(job_id), status=429, retry_after=600))

    with (
        Client(
            api_key=api.api_key,
            base_url=api.base_url,
            clock=clock,
            polling=Polling(max_retry_after=60),
        ) as client,
        pytest.raises(RateLimitedError) as caught,
    ):
        client.wait(job_id, timeout=None)

    assert caught.value.retry_after == 600
    assert caught.value.status_code == 429


@pytest.mark.parametrize(
    "fault",
    [
        Fault("reset"),
        Fault("malformed_json"),
        Fault("status", status=500),
        Fault("status", status=502),
        Fault("status", status=504),
        Fault("status", status=520),
        Fault("status", status=522),
    ],
    ids=lambda fault: f"{fault.kind}-{fault.status}",
)
def test_wait_keeps_waiting_through_a_transient_fault(
    api: LocalAPI, client: Client, fault: Fault
) -> None:
    job_id = api.create_job(type="extract", duration=2.0)
    api.inject(Fault(fault.kind, path=job_path(job_id), status=fault.status, times=2))

    job = client.wait(job_id)

    assert job.status == KnownJobStatus.COMPLETED
    assert api.stats()["faults"].get(fault.kind) == 2


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault("status", status=500, times=50), ServerError),
        (Fault("status", status=521, times=50), ServerError),
        (Fault("reset", times=50), TransportError),
        (Fault("malformed_json", times=50), InvalidResponseError),
    ],
    ids=["500", "521", "reset", "malformed_json"],
)
def test_wait_gives_up_after_the_retry_budget_naming_the_cause(
    api: LocalAPI, clock: LinkedClock, fault: Fault, error: type[Exception]
) -> None:
    job_id = api.create_job(duration=100.0)
    api.inject(
        Fault(fault.kind, path=job_path(job_id), status=fault.status, times=fault.times)
    )
    polling = Polling(max_retries=3)

    with (
        Client(
            api_key=api.api_key, base_url=api.base_url, clock=clock, polling=polling
        ) as client,
        pytest.raises(error) as caught,
    ):
        client.wait(job_id, timeout=None)

    assert requests_to(api, job_path(job_id)) == 4
    assert any("4 failed looks in a row" in note for note in caught.value.__notes__)


def test_wait_treats_an_unknown_status_as_unfinished_and_warns_once(
    api: LocalAPI, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = api.create_job(duration=1.0, status_override="queued")
    caplog.set_level(logging.DEBUG, logger="qomplement_jobs")

    with pytest.raises(WaitTimeoutError) as caught:
        client.wait(job_id, timeout=10)
    with pytest.raises(WaitTimeoutError):
        client.wait(job_id, timeout=3)

    assert caught.value.job is not None and caught.value.job.status == "queued"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "'queued'" in warnings[0].getMessage()
    assert requests_to(api, job_path(job_id)) > 2
    assert not [r for r in caplog.records if r.levelno == logging.INFO]


def test_wait_logs_each_look_at_debug_level(
    api: LocalAPI, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = api.create_job(duration=2.0)
    caplog.set_level(logging.DEBUG, logger="qomplement_jobs")

    client.wait(job_id)

    looks = [r for r in caplog.records if "(look " in r.getMessage()]
    assert len(looks) == requests_to(api, job_path(job_id))
    assert all(r.levelno == logging.DEBUG for r in looks)


def test_wait_raises_not_found_at_once(api: LocalAPI, client: Client) -> None:
    unknown = str(uuid.uuid4())

    with pytest.raises(NotFoundError) as caught:
        client.wait(unknown)

    assert caught.value.status_code == 404
    assert requests_to(api, job_path(unknown)) == 1


def test_wait_with_a_bad_key_raises_authentication_error(
    api: LocalAPI, clock: LinkedClock
) -> None:
    unknown_key = "sd_" + "0" * 48
    with (
        Client(api_key=unknown_key, base_url=api.base_url, clock=clock) as client,
        pytest.raises(AuthenticationError) as caught,
    ):
        client.wait(SAMPLE_FILL_PDF_JOB_ID)
    assert caught.value.status_code == 401
    assert clock.sleeps == []


def test_wait_with_a_revoked_key_raises_permission_denied(
    api: LocalAPI, clock: LinkedClock
) -> None:
    with (
        Client(api_key=api.revoked_key, base_url=api.base_url, clock=clock) as client,
        pytest.raises(PermissionDeniedError, match="revoked"),
    ):
        client.wait(SAMPLE_FILL_PDF_JOB_ID)


def test_job_of_another_key_is_not_found(api: LocalAPI, clock: LinkedClock) -> None:
    other = api.new_key()
    job_id = api.create_job(duration=1.0)
    with (
        Client(api_key=other, base_url=api.base_url, clock=clock) as client,
        pytest.raises(NotFoundError),
    ):
        client.get_job(job_id)


def test_wait_many_in_one_thread_yields_outcomes_as_jobs_finish(
    api: LocalAPI, client: Client
) -> None:
    slow = api.create_job(duration=9.0)
    failed = api.create_job(duration=3.0, outcome="failed", error_code="no_form_fields")
    fast = api.create_job(duration=1.0)
    missing = str(uuid.uuid4())

    outcomes = list(client.wait_many([slow, failed, fast, missing], timeout=60))

    order = [str(outcome.job_id) for outcome in outcomes]
    assert order == [missing, fast, failed, slow]
    by_id = {str(outcome.job_id): outcome for outcome in outcomes}
    assert by_id[slow].ok and by_id[fast].ok
    assert isinstance(by_id[failed].error, JobFailedError)
    assert isinstance(by_id[missing].error, NotFoundError)
    assert by_id[failed].job is not None and by_id[failed].job.status == "failed"
    with pytest.raises(JobFailedError):
        by_id[failed].result()
    assert by_id[fast].result().status == KnownJobStatus.COMPLETED


def test_wait_many_in_one_thread_follows_every_job_from_the_start(
    api: LocalAPI, client: Client
) -> None:
    long_one = api.create_job(duration=8.0)
    long_two = api.create_job(duration=8.0)
    short = api.create_job(duration=1.0)
    started = client.clock.monotonic()

    outcomes = list(client.wait_many([long_one, long_two, short], concurrency=1))

    # The short job is looked at from the start, not once a long one is done.
    assert str(outcomes[0].job_id) == short
    assert all(outcome.ok for outcome in outcomes)
    # One job at a time would take 16 s or more.
    assert client.clock.monotonic() - started < 12.0
    assert api.stats()["by_path"][job_path(short)] >= 2
