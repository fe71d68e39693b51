"""Parsing webhook deliveries into the generated model."""

from __future__ import annotations

import json
from typing import Any

import pytest
from qomplement_jobs import InvalidWebhookError, WebhookEvent, parse_webhook
from qomplement_jobs_client.models import ExtractResult, JobError, KnownJobStatus

JOB_ID = "550e8400-e29b-41d4-a716-446655440000"

COMPLETED_EXTRACT: dict[str, Any] = {
    "job_id": JOB_ID,
    "data": {
        "id": JOB_ID,
        "type": "extract",
        "status": "completed",
        "result": {
            "model": "qomplement-OCR-v1",
            "document_type": "invoice",
            "language": "en",
            "confidence": 95,
            "fields": {"invoice_number": "INV-2025-001234"},
            "tables": [],
            "pages_processed": 12,
            "processing_time_ms": 45000,
        },
    },
}

FAILED_EXTRACT: dict[str, Any] = {
    "job_id": JOB_ID,
    "data": {
        "id": JOB_ID,
        "type": "extract",
        "status": "failed",
        "error": {
            "code": "processing_error",
            "message": "Could not extract text from document",
        },
    },
}


@pytest.mark.parametrize(
    "body",
    [
        COMPLETED_EXTRACT,
        json.dumps(COMPLETED_EXTRACT),
        json.dumps(COMPLETED_EXTRACT).encode(),
    ],
    ids=["mapping", "str", "bytes"],
)
def test_parse_webhook_accepts_bytes_text_or_mapping(body: Any) -> None:
    event = parse_webhook(body)

    assert isinstance(event, WebhookEvent)
    assert str(event.job_id) == JOB_ID
    assert event.data.status == KnownJobStatus.COMPLETED
    assert isinstance(event.data.result, ExtractResult)
    assert event.data.result.fields["invoice_number"] == "INV-2025-001234"


def test_parse_webhook_reads_a_failed_job() -> None:
    event = parse_webhook(FAILED_EXTRACT)

    assert isinstance(event.data.error, JobError)
    assert event.data.error.code == "processing_error"


def test_parse_webhook_keeps_values_the_spec_does_not_list() -> None:
    body = {
        "job_id": JOB_ID,
        "data": {"id": JOB_ID, "type": "translate", "status": "archived"},
    }

    event = parse_webhook(body)

    assert event.data.type_ == "translate"
    assert event.data.status == "archived"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ({"job_id": JOB_ID}, "lacks data"),
        ({"data": {}}, "lacks job_id"),
        ({"job_id": JOB_ID, "data": "done"}, "not a job object"),
        ({"job_id": "nope", "data": FAILED_EXTRACT["data"]}, "not a job-finished"),
        ({"job_id": JOB_ID, "data": {"id": JOB_ID}}, "not a job-finished"),
        (42, "must be bytes, str or a mapping"),
    ],
)
def test_parse_webhook_rejects_a_body_that_is_not_an_event(
    body: Any, reason: str
) -> None:
    with pytest.raises(InvalidWebhookError, match=reason) as caught:
        parse_webhook(body)

    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "body",
    [b'{"a":' * 100_000, "[" * 100_000, b'{"job_id": ' + b"[" * 100_000],
    ids=["objects-bytes", "arrays-text", "under-a-key"],
)
def test_parse_webhook_refuses_a_body_nested_too_deeply(body: bytes | str) -> None:
    with pytest.raises(InvalidWebhookError, match="nested too deeply") as caught:
        parse_webhook(body)

    assert caught.value.__cause__ is None


def test_parse_webhook_refuses_an_integer_too_long_to_read() -> None:
    body = b'{"job_id": ' + b"9" * 10_000 + b"}"

    with pytest.raises(InvalidWebhookError, match="not JSON"):
        parse_webhook(body)


def test_parse_webhook_refuses_a_job_id_that_is_not_its_jobs_id() -> None:
    other = "0f0f0f0f-1111-4222-8333-444444444444"
    body = {**FAILED_EXTRACT, "job_id": other}

    with pytest.raises(InvalidWebhookError) as caught:
        parse_webhook(json.dumps(body))

    assert str(caught.value) == f"Webhook job_id {other} differs from data.id {JOB_ID}"
