"""GET /v1/jobs/{job_id}/download: real files, headers, errors and big files."""

from __future__ import annotations

import io
import logging
import re
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import openpyxl
import psutil
import pypdf
import pytest
from qomplement_local_api import (
    SAMPLE_EXPIRED_JOB_ID,
    SAMPLE_EXTRACT_JOB_ID,
    SAMPLE_FAILED_JOB_ID,
    SAMPLE_FILL_EXCEL_JOB_ID,
    SAMPLE_FILL_PDF_JOB_ID,
    SAMPLE_PENDING_JOB_ID,
    SAMPLE_PROCESSING_JOB_ID,
    LocalAPI,
    ManualClock,
    serve,
)

SchemaCheck = Callable[[Any, str], None]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOT_COMPLETED = {"detail": "Job has not completed yet", "code": "job_not_completed"}
NO_FILE = {"detail": "Job has no downloadable file", "code": "no_file"}
EXPIRED = {"detail": "Download has expired", "code": "file_expired"}


def completed_job(api: LocalAPI, clock: ManualClock, **arguments: Any) -> str:
    """Create a job and move the clock until it has completed."""
    job_id = api.create_job(duration=1.0, **arguments)
    clock.advance(1.0)
    return job_id


def test_fill_pdf_download_is_an_acroform_holding_the_reported_values(
    shared_client: httpx.Client,
) -> None:
    job = shared_client.get(f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID}").json()

    response = shared_client.get(job["result"]["download_url"])

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-length"] == str(len(response.content))
    assert response.headers["content-disposition"] == (
        'attachment; filename="filled_form.pdf"'
    )
    reader = pypdf.PdfReader(io.BytesIO(response.content), strict=True)
    fields = reader.get_fields()
    assert fields is not None
    assert len(fields) == job["result"]["fields_total"]
    values = reader.get_form_text_fields()
    reported = {d["field_name"]: d["value"] for d in job["result"]["field_details"]}
    assert {name: values[name] for name in reported} == reported
    assert values["job_reference"] == SAMPLE_FILL_PDF_JOB_ID
    assert sum(value is not None for value in values.values()) == len(reported)
    assert "Filled form" in reader.pages[0].extract_text()


def test_fill_excel_download_opens_with_the_written_cells(
    shared_client: httpx.Client,
) -> None:
    job = shared_client.get(f"/v1/jobs/{SAMPLE_FILL_EXCEL_JOB_ID}").json()

    response = shared_client.get(f"/v1/jobs/{SAMPLE_FILL_EXCEL_JOB_ID}/download")

    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    assert response.headers["content-length"] == str(len(response.content))
    assert response.headers["content-disposition"] == (
        'attachment; filename="filled_form.xlsx"'
    )
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == job["result"]["sheets_modified"]
    written = [
        cell.value
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    ]
    assert len(written) == job["result"]["cells_written"]
    invoice = workbook["Invoice"]
    assert invoice["A1"].value == "Invoice number"
    assert invoice["B3"].value == 1500.5
    assert invoice["B4"].value == SAMPLE_FILL_EXCEL_JOB_ID


@pytest.mark.parametrize("size", [7_000, 65_536, 1_000_003, 3_000_000])
def test_padded_pdf_has_exactly_the_asked_size_and_still_reads(
    api: LocalAPI, client: httpx.Client, clock: ManualClock, size: int
) -> None:
    job_id = completed_job(api, clock, type="fill_pdf", file_size=size)

    response = client.get(f"/v1/jobs/{job_id}/download")

    assert response.headers["content-length"] == str(size)
    assert len(response.content) == size
    reader = pypdf.PdfReader(io.BytesIO(response.content), strict=True)
    assert reader.get_form_text_fields()["job_reference"] == job_id


@pytest.mark.parametrize("size", [6_000, 2_000_000])
def test_padded_xlsx_has_exactly_the_asked_size_and_still_opens(
    api: LocalAPI, client: httpx.Client, clock: ManualClock, size: int
) -> None:
    job_id = completed_job(api, clock, type="fill_excel", file_size=size)

    response = client.get(f"/v1/jobs/{job_id}/download")

    assert response.headers["content-length"] == str(size)
    assert len(response.content) == size
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert workbook["Invoice"]["B4"].value == job_id


def test_file_size_below_the_unpadded_file_is_refused(api: LocalAPI) -> None:
    with pytest.raises(ValueError, match="file_size must be at least"):
        api.create_job(type="fill_pdf", file_size=100)
    with pytest.raises(ValueError, match="file_size applies to fill_pdf"):
        api.create_job(type="extract", file_size=10_000)


class PeakMemory:
    """Samples this process's resident memory in a thread; keeps the peak."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self.start = self._process.memory_info().rss
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


def test_large_file_is_written_once_and_streamed_in_bounded_memory(
    api: LocalAPI,
    client: httpx.Client,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    size = 256 * 1024 * 1024
    job_id = completed_job(api, clock, type="fill_pdf", file_size=size)
    caplog.set_level(logging.DEBUG, logger="qomplement_local_api.files")

    received = []
    with PeakMemory() as memory:
        for _ in range(2):
            total = 0
            with client.stream("GET", f"/v1/jobs/{job_id}/download") as response:
                assert response.headers["content-length"] == str(size)
                for chunk in response.iter_raw():
                    total += len(chunk)
            received.append(total)

    assert received == [size, size]
    assert memory.peak - memory.start < 64 * 1024 * 1024
    writes = [r for r in caplog.records if r.getMessage().startswith("wrote ")]
    assert len(writes) == 1


def test_files_are_deleted_when_the_server_stops(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="qomplement_local_api.files")
    with serve() as api:
        url = f"{api.base_url}/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID}/download"
        headers = {"Authorization": f"Bearer {api.api_key}"}
        assert httpx.get(url, headers=headers).status_code == 200
        [record] = [r for r in caplog.records if r.getMessage().startswith("wrote ")]
        path = Path(re.sub(r"^wrote (.*) \(\d+ bytes\)$", r"\1", record.getMessage()))
        assert path.is_file()

    assert not path.exists()
    assert not path.parent.exists()


def test_non_ascii_name_goes_out_as_filename_star_with_an_ascii_fallback(
    api: LocalAPI, client: httpx.Client, clock: ManualClock
) -> None:
    name = "Formulário \u2013 São Paulo 2025.pdf"
    job_id = completed_job(api, clock, type="fill_pdf", filename=name)

    header = client.get(f"/v1/jobs/{job_id}/download").headers["content-disposition"]

    match = re.fullmatch(
        r'attachment; filename="([ -~]+)"; filename\*=UTF-8\'\'(\S+)', header
    )
    assert match is not None, header
    assert match.group(1) == "Formulario  Sao Paulo 2025.pdf"
    assert unquote(match.group(2), encoding="utf-8") == name


def test_ascii_name_with_quotes_keeps_the_exact_name_in_filename_star(
    api: LocalAPI, client: httpx.Client, clock: ManualClock
) -> None:
    job_id = completed_job(api, clock, type="fill_excel", filename='say "hi".xlsx')

    header = client.get(f"/v1/jobs/{job_id}/download").headers["content-disposition"]

    assert header == (
        "attachment; filename=\"say _hi_.xlsx\"; filename*=UTF-8''say%20%22hi%22.xlsx"
    )


def test_plain_ascii_name_is_sent_as_filename(
    api: LocalAPI, client: httpx.Client, clock: ManualClock
) -> None:
    job_id = completed_job(api, clock, type="fill_pdf", filename="invoice 42.pdf")

    header = client.get(f"/v1/jobs/{job_id}/download").headers["content-disposition"]

    assert header == 'attachment; filename="invoice 42.pdf"'


def test_raw_content_disposition_is_sent_as_given(
    api: LocalAPI, client: httpx.Client, clock: ManualClock
) -> None:
    hostile = 'attachment; filename="../../etc/passwd"'
    job_id = completed_job(api, clock, type="fill_pdf", content_disposition=hostile)

    response = client.get(f"/v1/jobs/{job_id}/download")

    assert response.status_code == 200
    assert response.headers["content-disposition"] == hostile


def test_header_breaking_names_are_refused(api: LocalAPI) -> None:
    with pytest.raises(ValueError, match="control characters"):
        api.create_job(type="fill_pdf", filename="a\r\nSet-Cookie: x=1")
    with pytest.raises(ValueError, match="latin-1"):
        api.create_job(
            type="fill_pdf", content_disposition="attachment; filename=\u20ac"
        )


@pytest.mark.parametrize("job_id", [SAMPLE_PENDING_JOB_ID, SAMPLE_PROCESSING_JOB_ID])
def test_unfinished_job_answers_409(
    shared_client: httpx.Client, check_schema: SchemaCheck, job_id: str
) -> None:
    response = shared_client.get(f"/v1/jobs/{job_id}/download")

    assert response.status_code == 409
    assert response.json() == NOT_COMPLETED
    check_schema(response.json(), "ErrorResponse")


def test_job_with_an_unknown_status_answers_409(
    api: LocalAPI, client: httpx.Client
) -> None:
    job_id = api.create_job(type="fill_pdf", status_override="queued")

    response = client.get(f"/v1/jobs/{job_id}/download")

    assert response.status_code == 409
    assert response.json() == NOT_COMPLETED


@pytest.mark.parametrize("job_id", [SAMPLE_EXTRACT_JOB_ID, SAMPLE_FAILED_JOB_ID])
def test_finished_job_without_a_file_answers_404_no_file(
    shared_client: httpx.Client, check_schema: SchemaCheck, job_id: str
) -> None:
    response = shared_client.get(f"/v1/jobs/{job_id}/download")

    assert response.status_code == 404
    assert response.json() == NO_FILE
    check_schema(response.json(), "ErrorResponse")


def test_unknown_or_foreign_job_answers_404_job_not_found(
    api: LocalAPI, client: httpx.Client
) -> None:
    other = api.new_key()
    theirs = api.create_job(type="fill_pdf", key=other)

    unknown = client.get(f"/v1/jobs/{uuid.uuid4()}/download")
    foreign = client.get(f"/v1/jobs/{theirs}/download")

    assert unknown.status_code == foreign.status_code == 404
    assert unknown.json() == foreign.json() == {"detail": "Job not found"}


def test_file_expires_at_expires_at(
    api: LocalAPI, client: httpx.Client, clock: ManualClock, check_schema: SchemaCheck
) -> None:
    job_id = completed_job(api, clock, type="fill_excel", expires_in=60.0)

    clock.advance(59.0)
    before = client.get(f"/v1/jobs/{job_id}/download")
    clock.advance(2.0)
    after = client.get(f"/v1/jobs/{job_id}/download")
    job = client.get(f"/v1/jobs/{job_id}").json()

    assert before.status_code == 200
    assert after.status_code == 410
    assert after.json() == EXPIRED
    check_schema(after.json(), "ErrorResponse")
    assert job["status"] == "completed"
    assert job["result"]["expires_at"] is not None


def test_sample_expired_job_answers_410(shared_client: httpx.Client) -> None:
    response = shared_client.get(f"/v1/jobs/{SAMPLE_EXPIRED_JOB_ID}/download")

    assert response.status_code == 410
    assert response.json() == EXPIRED


def test_malformed_id_answers_422(
    shared_client: httpx.Client, check_schema: SchemaCheck
) -> None:
    response = shared_client.get("/v1/jobs/12345/download")

    assert response.status_code == 422
    check_schema(response.json(), "HTTPValidationError")
    assert response.json()["detail"][0]["loc"] == ["path", "job_id"]
