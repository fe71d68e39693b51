"""GET /v1/jobs/{job_id}: job bodies through the lifecycle, keys and errors."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from qomplement_local_api import (
    SAMPLE_FAILED_JOB_ID,
    SAMPLE_FILL_PDF_JOB_ID,
    SAMPLE_PENDING_JOB_ID,
    SAMPLE_PROCESSING_JOB_ID,
    LocalAPI,
    ManualClock,
)

SchemaCheck = Callable[[Any, str], None]
RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")
JOB_KEYS = [
    "id",
    "type",
    "status",
    "progress",
    "result",
    "error",
    "created_at",
    "started_at",
    "completed_at",
    "processing_time_ms",
]


def parse_time(value: str) -> datetime:
    """Parse a ``Z`` timestamp after checking its RFC 3339 form."""
    assert RFC3339_UTC.fullmatch(value), value
    return datetime.fromisoformat(value)


def test_sample_fill_pdf_job_is_completed_with_a_typed_result(
    shared_client: httpx.Client, check_schema: SchemaCheck
) -> None:
    response = shared_client.get(f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID}")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "retry-after" not in response.headers
    job = response.json()
    check_schema(job, "Job")
    check_schema(job["result"], "FillPdfResult")
    assert list(job) == JOB_KEYS
    assert job["id"] == SAMPLE_FILL_PDF_JOB_ID
    assert (job["type"], job["status"]) == ("fill_pdf", "completed")
    assert job["progress"] is None and job["error"] is None
    created = parse_time(job["created_at"])
    started = parse_time(job["started_at"])
    completed = parse_time(job["completed_at"])
    assert started - created == timedelta(seconds=5)
    assert completed - started == timedelta(seconds=307)
    assert job["processing_time_ms"] == 307_000
    result = job["result"]
    assert result["download_url"] == f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID}/download"
    assert parse_time(result["expires_at"]) - completed == timedelta(days=7)
    assert result["fields_total"] == 12
    assert result["fields_filled"] == len(result["field_details"])


def test_job_moves_from_pending_through_processing_with_rising_progress(
    api: LocalAPI, client: httpx.Client, clock: ManualClock, check_schema: SchemaCheck
) -> None:
    job_id = api.create_job(
        type="extract", pending=2.0, duration=10.0, progress_steps=5
    )

    seen = []
    for step in (0.0, 1.0, 1.0, 3.0, 2.0, 2.0, 2.9):
        clock.advance(step)
        job = client.get(f"/v1/jobs/{job_id}").json()
        check_schema(job, "Job")
        seen.append((job["status"], job["progress"]))

    assert seen[:2] == [("pending", None), ("pending", None)]
    processing = [progress for status, progress in seen[2:]]
    assert [status for status, _ in seen[2:]] == ["processing"] * 5
    assert [p["current"] for p in processing] == [1, 2, 3, 4, 5]
    assert {p["total"] for p in processing} == {5}
    assert processing[1]["message"] == "Processing document 2 of 5..."

    clock.advance(1.0)
    job = client.get(f"/v1/jobs/{job_id}").json()
    check_schema(job, "Job")
    check_schema(job["result"], "ExtractResult")
    assert job["status"] == "completed"
    assert job["progress"] is None
    assert job["processing_time_ms"] == 10_000
    assert job["result"]["pages_processed"] == 5
    assert job["result"]["processing_time_ms"] == 10_000
    created = parse_time(job["created_at"])
    assert parse_time(job["started_at"]) - created == timedelta(seconds=2)
    assert parse_time(job["completed_at"]) - created == timedelta(seconds=12)


def test_pending_job_has_no_start_and_processing_job_no_end(
    shared_client: httpx.Client,
) -> None:
    pending = shared_client.get(f"/v1/jobs/{SAMPLE_PENDING_JOB_ID}").json()
    processing = shared_client.get(f"/v1/jobs/{SAMPLE_PROCESSING_JOB_ID}").json()

    assert pending["status"] == "pending"
    assert pending["started_at"] is None and pending["completed_at"] is None
    assert processing["status"] == "processing"
    assert processing["started_at"] is not None and processing["completed_at"] is None
    assert processing["progress"]["total"] == 5
    assert processing["processing_time_ms"] is None


def test_failed_job_carries_error_code_and_message(
    api: LocalAPI, client: httpx.Client, clock: ManualClock, check_schema: SchemaCheck
) -> None:
    custom = api.create_job(
        type="fill_pdf",
        duration=1.0,
        outcome="failed",
        error_code="quota_exceeded",
        error_message="Monthly page quota used up",
    )
    default = api.create_job(type="extract", duration=1.0, outcome="failed")
    default_fill = api.create_job(type="fill_pdf", duration=1.0, outcome="failed")
    clock.advance(1.5)

    sample = client.get(f"/v1/jobs/{SAMPLE_FAILED_JOB_ID}").json()
    custom_job = client.get(f"/v1/jobs/{custom}").json()
    default_job = client.get(f"/v1/jobs/{default}").json()

    for job in (sample, custom_job, default_job):
        check_schema(job, "Job")
        assert job["status"] == "failed"
        assert job["result"] is None
        assert job["completed_at"] is not None
    assert sample["error"] == {
        "code": "no_form_fields",
        "message": "The PDF has no fillable form fields",
    }
    assert custom_job["error"] == {
        "code": "quota_exceeded",
        "message": "Monthly page quota used up",
    }
    assert default_job["error"] == {
        "code": "processing_error",
        "message": "Could not extract text from document",
    }
    fill_error = client.get(f"/v1/jobs/{default_fill}").json()["error"]
    assert fill_error["code"] == "no_form_fields"


def test_fill_excel_result_names_cells_and_sheets(
    api: LocalAPI, client: httpx.Client, clock: ManualClock, check_schema: SchemaCheck
) -> None:
    job_id = api.create_job(type="fill_excel", duration=3.0, expires_in=3600)
    clock.advance(3.0)

    job = client.get(f"/v1/jobs/{job_id}").json()

    check_schema(job["result"], "FillExcelResult")
    result = job["result"]
    assert result["download_url"] == f"/v1/jobs/{job_id}/download"
    assert result["cells_written"] >= 8
    assert result["sheets_modified"][0] == "Invoice"
    expires = parse_time(result["expires_at"]) - parse_time(job["completed_at"])
    assert expires == timedelta(hours=1)


def test_unknown_status_and_type_pass_through(
    api: LocalAPI, client: httpx.Client, clock: ManualClock, check_schema: SchemaCheck
) -> None:
    queued = api.create_job(type="extract", status_override="queued")
    translate = api.create_job(type="translate", duration=1.0)
    clock.advance(2.0)

    queued_job = client.get(f"/v1/jobs/{queued}").json()
    translate_job = client.get(f"/v1/jobs/{translate}").json()

    check_schema(queued_job, "Job")
    check_schema(translate_job, "Job")
    assert queued_job["status"] == "queued"
    assert queued_job["result"] is None and queued_job["started_at"] is None
    assert (translate_job["type"], translate_job["status"]) == (
        "translate",
        "completed",
    )
    assert translate_job["result"] == {"output": "Result of a translate job"}


def test_retry_after_is_sent_when_the_job_asks_for_it(
    api: LocalAPI, client: httpx.Client
) -> None:
    hinted = api.create_job(type="extract", retry_after=3)

    response = client.get(f"/v1/jobs/{hinted}")

    assert response.status_code == 200
    assert response.headers["retry-after"] == "3"


def test_created_at_follows_the_clock(
    api: LocalAPI, client: httpx.Client, clock: ManualClock
) -> None:
    first = api.create_job(type="extract")
    clock.advance(90.25)
    second = api.create_job(type="extract")

    first_at = parse_time(client.get(f"/v1/jobs/{first}").json()["created_at"])
    second_at = parse_time(client.get(f"/v1/jobs/{second}").json()["created_at"])

    assert second_at - first_at == timedelta(seconds=90.25)


def test_unknown_job_answers_404(
    shared_client: httpx.Client, check_schema: SchemaCheck
) -> None:
    response = shared_client.get(f"/v1/jobs/{uuid.uuid4()}")

    assert response.status_code == 404
    assert response.json() == {"detail": "Job not found"}
    check_schema(response.json(), "ErrorResponse")


def test_another_keys_job_answers_404(api: LocalAPI, client: httpx.Client) -> None:
    other = api.new_key()
    theirs = api.create_job(type="extract", key=other)

    mine = client.get(f"/v1/jobs/{theirs}")
    own = client.get(f"/v1/jobs/{theirs}", headers={"Authorization": f"Bearer {other}"})
    sample = client.get(
        f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID}",
        headers={"Authorization": f"Bearer {other}"},
    )

    assert mine.status_code == 404
    assert own.status_code == 200
    assert sample.status_code == 404


def test_malformed_job_id_answers_fastapis_422(
    shared_client: httpx.Client, check_schema: SchemaCheck
) -> None:
    response = shared_client.get("/v1/jobs/not-a-uuid")

    assert response.status_code == 422
    body = response.json()
    check_schema(body, "HTTPValidationError")
    [error] = body["detail"]
    assert error["loc"] == ["path", "job_id"]
    assert error["type"] == "uuid_parsing"
    assert error["input"] == "not-a-uuid"
    assert error["msg"].startswith("Input should be a valid UUID")


def test_uppercase_and_undashed_ids_find_the_same_job(
    shared_client: httpx.Client,
) -> None:
    upper = shared_client.get(f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID.upper()}")
    plain = shared_client.get(f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID.replace('-', '')}")

    assert upper.status_code == plain.status_code == 200
    assert upper.json()["id"] == plain.json()["id"] == SAMPLE_FILL_PDF_JOB_ID


ENDPOINTS = [
    f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID}",
    "/v1/jobs",
    f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID}/download",
]


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        (None, "Not authenticated"),
        ("", "Not authenticated"),
        ("Bearer", "Not authenticated"),
        ("Basic dXNlcjpwYXNz", "Not authenticated"),
        ("Token sd_" + "a" * 48, "Not authenticated"),
        ("Bearer not-a-key", "Could not validate credentials"),
        ("Bearer sd_" + "0" * 47, "Could not validate credentials"),
        ("Bearer sd_" + "g" * 48, "Could not validate credentials"),
        ("Bearer sd_" + "0" * 48, "Could not validate credentials"),
    ],
)
def test_missing_malformed_or_unknown_key_answers_401(
    shared_api: LocalAPI,
    path: str,
    authorization: str | None,
    detail: str,
    check_schema: SchemaCheck,
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    response = httpx.get(shared_api.base_url + path, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": detail}
    check_schema(response.json(), "ErrorResponse")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_revoked_key_answers_403(shared_api: LocalAPI, path: str) -> None:
    response = httpx.get(
        shared_api.base_url + path,
        headers={"Authorization": f"Bearer {shared_api.revoked_key}"},
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "API key has been revoked"}
    assert "www-authenticate" not in response.headers


def test_scheme_is_case_insensitive_and_new_keys_work(api: LocalAPI) -> None:
    extra = api.new_key()
    revoked = api.new_key(revoked=True)
    url = f"{api.base_url}/v1/jobs"

    lower = httpx.get(url, headers={"Authorization": f"bearer {api.api_key}"})
    added = httpx.get(url, headers={"Authorization": f"Bearer {extra}"})
    gone = httpx.get(url, headers={"Authorization": f"Bearer {revoked}"})

    assert lower.status_code == 200
    assert added.status_code == 200 and added.json()["total"] == 0
    assert gone.status_code == 403


def test_key_is_checked_before_the_job_id(shared_api: LocalAPI) -> None:
    response = httpx.get(f"{shared_api.base_url}/v1/jobs/not-a-uuid")

    assert response.status_code == 401
