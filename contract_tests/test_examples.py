"""Documented JSON bodies and the spec's own examples, against the spec and client.

Every non-abridged file in the reference examples folder (``job-*.json`` is a
Job, ``webhook-*.json`` a WebhookEvent) must validate against openapi.yaml and
parse into the generated models with the types a caller relies on; a status,
type or error code the spec does not list yet must parse as a plain string.
Every example written in openapi.yaml must validate against its own schema.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from qomplement_jobs_client.models import (
    ExtractResult,
    FillExcelResult,
    FillPdfResult,
    Job,
    JobError,
    JobProgress,
    KnownJobErrorCode,
    KnownJobStatus,
    KnownJobType,
    OtherResult,
    PartialJob,
    WebhookEvent,
)
from qomplement_jobs_client.types import Unset

from contract_tests._reference import EXAMPLES_DIR, no_reference_files, reference_files
from contract_tests._spec import NamedExample, iter_named_examples, schema_errors

GET = "GET /v1/jobs/{job_id}"
WEBHOOK = "WEBHOOK jobFinished"

# Which schema a file documents, by the start of its name.
DOCUMENTED: dict[str, tuple[str, type[Job] | type[WebhookEvent], str]] = {
    "job-": ("/components/schemas/Job", Job, GET),
    "webhook-": ("/components/schemas/WebhookEvent", WebhookEvent, WEBHOOK),
}
RESULT_MODELS: dict[str, type[Any]] = {
    "extract": ExtractResult,
    "fill_pdf": FillPdfResult,
    "fill_excel": FillExcelResult,
}
DATETIME_FIELDS = ("created_at", "started_at", "completed_at")


def _reference_files(check: str) -> list[Any]:
    """One pytest parameter per non-abridged example file, reported as ``check``.

    When there is no file, one parameter stands for the missing folder.
    """
    files = reference_files()
    if not files:
        return [
            pytest.param(
                None,
                id="no-reference-examples",
                marks=pytest.mark.conformance(GET, check),
            )
        ]
    return [
        pytest.param(
            path, id=path.name, marks=pytest.mark.conformance(_operation(path), check)
        )
        for path in files
    ]


def _operation(path: Path) -> str:
    """The operation whose report a file's outcome goes to."""
    for prefix, (_, _, operation) in DOCUMENTED.items():
        if path.name.startswith(prefix):
            return operation
    return GET


def _load(path: Path | None) -> tuple[Any, str, type[Job] | type[WebhookEvent]]:
    """Read an example file and name the schema and model it documents."""
    if path is None:
        no_reference_files()
    for prefix, (pointer, model, _) in DOCUMENTED.items():
        if path.name.startswith(prefix):
            return json.loads(path.read_text(encoding="utf-8")), pointer, model
    pytest.fail(f"{path.name} documents no known schema (job-* or webhook-*)")


def _job_of(parsed: Job | WebhookEvent) -> Job | PartialJob:
    """The job a parsed body describes (a webhook carries it in ``data``)."""
    return parsed.data if isinstance(parsed, WebhookEvent) else parsed


def _job_body(body: dict[str, Any]) -> dict[str, Any]:
    """The job part of a raw body (a webhook carries it in ``data``)."""
    return body["data"] if "data" in body and "job_id" in body else body


@pytest.mark.parametrize("path", _reference_files("reference_examples_valid"))
def test_reference_example_validates_against_its_schema(path: Path | None) -> None:
    """The documented body is valid under the schema it documents."""
    body, pointer, _ = _load(path)
    assert schema_errors(body, pointer) == []


@pytest.mark.parametrize("path", _reference_files("reference_examples_typed"))
def test_reference_example_parses_into_typed_models(path: Path | None) -> None:
    """Known values become enums and models; times become aware datetimes."""
    body, _, model = _load(path)
    parsed = model.from_dict(body)
    job = _job_of(parsed)
    raw = _job_body(body)

    assert job.id == UUID(raw["id"])
    assert job.type_ is KnownJobType(raw["type"])
    assert job.status is KnownJobStatus(raw["status"])
    if isinstance(parsed, WebhookEvent):
        assert parsed.job_id == UUID(body["job_id"])
    for name in DATETIME_FIELDS:
        value = getattr(job, name)
        if raw.get(name) is None:
            assert value is None or isinstance(value, Unset)
        else:
            assert isinstance(value, dt.datetime), f"{name} is {type(value)}"
            assert value.tzinfo is not None, f"{name} lost its time zone"
            assert value == dt.datetime.fromisoformat(raw[name])
    if raw.get("result") is None:
        assert job.result is None or isinstance(job.result, Unset)
    else:
        expected = RESULT_MODELS[raw["type"]]
        assert type(job.result) is expected, (
            f"a {raw['type']} result parsed as {type(job.result).__name__}"
        )
        assert not isinstance(job.result, OtherResult)
    if raw.get("error") is None:
        assert job.error is None or isinstance(job.error, Unset)
    else:
        assert isinstance(job.error, JobError)
        assert job.error.code is KnownJobErrorCode(raw["error"]["code"])
        assert job.error.message == raw["error"]["message"]
    if raw.get("progress") is None:
        assert job.progress is None or isinstance(job.progress, Unset)
    else:
        assert isinstance(job.progress, JobProgress)
        assert job.progress.current == raw["progress"]["current"]
        assert job.progress.total == raw["progress"]["total"]


@pytest.mark.conformance(GET, "reference_examples_typed")
def test_completed_extract_and_fill_pdf_results_carry_their_values() -> None:
    """The two completed jobs' results keep the documented numbers and names."""
    extract_path = EXAMPLES_DIR / "job-completed-extract.json"
    fill_path = EXAMPLES_DIR / "job-completed-fill-pdf.json"
    if not (extract_path.is_file() and fill_path.is_file()):
        no_reference_files()
    extract = Job.from_dict(json.loads(extract_path.read_text(encoding="utf-8")))
    fill = Job.from_dict(json.loads(fill_path.read_text(encoding="utf-8")))

    assert extract.status is KnownJobStatus.COMPLETED
    assert isinstance(extract.result, ExtractResult)
    assert extract.result.model == "qomplement-OCR-v1"
    assert extract.result.fields["invoice_number"] == "INV-2025-001234"
    assert fill.status is KnownJobStatus.COMPLETED
    assert isinstance(fill.result, FillPdfResult)
    assert (fill.result.fields_filled, fill.result.fields_total) == (8, 12)
    assert fill.result.expires_at == dt.datetime(2025, 3, 5, 10, 30, tzinfo=dt.UTC)


def _with_unknown_values(body: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``body`` whose status, type and error code the spec does not list."""
    changed = copy.deepcopy(body)
    job = _job_body(changed)
    job["status"] = "queued"
    job["type"] = "summarize"
    job["error"] = {"code": "quota_exceeded", "message": "Monthly quota reached"}
    return changed


@pytest.mark.parametrize("path", _reference_files("unknown_values_as_str"))
def test_unknown_status_type_and_error_code_parse_as_plain_strings(
    path: Path | None,
) -> None:
    """Values the spec does not list yet are valid and come through as str."""
    body, pointer, model = _load(path)
    changed = _with_unknown_values(body)

    assert schema_errors(changed, pointer) == []
    job = _job_of(model.from_dict(changed))
    assert type(job.status) is str and job.status == "queued"
    assert type(job.type_) is str and job.type_ == "summarize"
    assert isinstance(job.error, JobError)
    assert type(job.error.code) is str and job.error.code == "quota_exceeded"


def _named_examples() -> list[Any]:
    """One pytest parameter per example written in openapi.yaml."""
    return [
        pytest.param(
            example,
            id=f"{example.operation} {example.where}",
            marks=pytest.mark.conformance(example.operation, "spec_examples"),
        )
        for example in iter_named_examples()
    ]


@pytest.mark.parametrize("example", _named_examples())
def test_spec_example_validates_against_its_schema(example: NamedExample) -> None:
    """An example written in openapi.yaml is valid under the schema beside it."""
    assert schema_errors(example.value, example.schema_pointer) == []


@pytest.mark.conformance(GET, "spec_examples")
def test_spec_has_named_examples_for_every_operation() -> None:
    """Each operation and the webhook carry at least one example to check."""
    operations = {example.operation for example in iter_named_examples()}
    assert operations >= {
        "GET /v1/jobs",
        GET,
        "GET /v1/jobs/{job_id}/download",
        WEBHOOK,
    }
