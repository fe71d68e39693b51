"""Downloading a job's file: atomic, streamed, safely named, with typed errors."""

from __future__ import annotations

import asyncio
import io
import os
import uuid
from pathlib import Path

import openpyxl
import pypdf
import pytest
from qomplement_jobs import (
    AsyncClient,
    Client,
    DestinationExistsError,
    DownloadError,
    DownloadIncompleteError,
    FileExpiredError,
    JobNotFinishedError,
    NoFileError,
    NotFoundError,
    TransportError,
)
from qomplement_local_api import (
    SAMPLE_EXPIRED_JOB_ID,
    SAMPLE_EXTRACT_JOB_ID,
    SAMPLE_FAILED_JOB_ID,
    SAMPLE_FILL_PDF_JOB_ID,
    SAMPLE_PROCESSING_JOB_ID,
    Fault,
    LocalAPI,
)

MB = 1024 * 1024


def download_path(job_id: str) -> str:
    return f"/v1/jobs/{job_id}/download"


def entries(directory: Path) -> list[str]:
    """Every name in a directory, hidden ones included."""
    return sorted(os.listdir(directory))


def test_download_to_a_file_path_writes_the_real_pdf(
    client: Client, tmp_path: Path
) -> None:
    target = tmp_path / "form.pdf"

    written = client.download(SAMPLE_FILL_PDF_JOB_ID, target)

    assert written == target
    reader = pypdf.PdfReader(target)
    assert reader.get_fields()
    assert entries(tmp_path) == ["form.pdf"]


def test_download_into_a_directory_names_the_file_from_content_disposition(
    api: LocalAPI, client: Client, tmp_path: Path
) -> None:
    job_id = api.create_job(type="fill_excel", duration=0.0, filename="Q3 report.xlsx")

    written = client.download(job_id, tmp_path)

    assert written == tmp_path / "Q3 report.xlsx"
    workbook = openpyxl.load_workbook(written)
    assert workbook.sheetnames


def test_download_uses_a_non_ascii_filename_star(
    api: LocalAPI, client: Client, tmp_path: Path
) -> None:
    job_id = api.create_job(duration=0.0, filename="Überweisung € 2025.pdf")

    written = client.download(job_id, tmp_path)

    assert written.name == "Überweisung € 2025.pdf"
    assert written.parent == tmp_path


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ('attachment; filename="../../escaped.pdf"', "escaped.pdf"),
        ('attachment; filename="..\\\\..\\\\escaped.pdf"', "escaped.pdf"),
        ("attachment; filename*=UTF-8''..%2F..%2Fescaped.pdf", "escaped.pdf"),
        ('attachment; filename="/etc/cron.d/evil"', "evil"),
        ('attachment; filename=".hidden.pdf"', "hidden.pdf"),
    ],
)
def test_download_never_lets_a_hostile_name_leave_the_directory(
    api: LocalAPI, client: Client, tmp_path: Path, header: str, name: str
) -> None:
    inner = tmp_path / "inner" / "downloads"
    inner.mkdir(parents=True)
    job_id = api.create_job(duration=0.0, content_disposition=header)

    written = client.download(job_id, inner)

    assert written == inner / name
    assert entries(inner) == [name]
    assert entries(tmp_path / "inner") == ["downloads"]


@pytest.mark.parametrize(
    ("header", "job_type", "extension"),
    [
        ('attachment; filename=".."', "fill_pdf", ".pdf"),
        ('attachment; filename=""', "fill_excel", ".xlsx"),
        ("attachment", "fill_pdf", ".pdf"),
    ],
)
def test_download_falls_back_to_the_job_id_and_media_type(
    api: LocalAPI,
    client: Client,
    tmp_path: Path,
    header: str,
    job_type: str,
    extension: str,
) -> None:
    job_id = api.create_job(type=job_type, duration=0.0, content_disposition=header)

    written = client.download(job_id, tmp_path)

    assert written.name == f"{job_id}{extension}"


def test_download_refuses_to_overwrite_without_being_told(
    client: Client, tmp_path: Path
) -> None:
    target = tmp_path / "form.pdf"
    target.write_bytes(b"keep me")

    with pytest.raises(DestinationExistsError) as caught:
        client.download(SAMPLE_FILL_PDF_JOB_ID, target)

    assert caught.value.path == target
    assert isinstance(caught.value, FileExistsError)
    assert target.read_bytes() == b"keep me"
    assert entries(tmp_path) == ["form.pdf"]


def test_download_refuses_to_overwrite_a_name_from_content_disposition(
    client: Client, tmp_path: Path
) -> None:
    (tmp_path / "filled_form.pdf").write_bytes(b"keep me")

    with pytest.raises(DestinationExistsError):
        client.download(SAMPLE_FILL_PDF_JOB_ID, tmp_path)

    assert (tmp_path / "filled_form.pdf").read_bytes() == b"keep me"
    assert entries(tmp_path) == ["filled_form.pdf"]


def test_download_overwrites_when_told(client: Client, tmp_path: Path) -> None:
    target = tmp_path / "form.pdf"
    target.write_bytes(b"old")

    client.download(SAMPLE_FILL_PDF_JOB_ID, target, overwrite=True)

    assert target.read_bytes().startswith(b"%PDF")


def test_download_reports_progress_in_bytes(
    api: LocalAPI, client: Client, tmp_path: Path
) -> None:
    job_id = api.create_job(duration=0.0, file_size=1 * MB)
    reports: list[tuple[int, int | None]] = []

    client.download(
        job_id, tmp_path, on_progress=lambda done, total: reports.append((done, total))
    )

    assert reports[-1] == (MB, MB)
    assert [done for done, _ in reports] == sorted({done for done, _ in reports})
    assert len(reports) >= MB // (64 * 1024)


def test_connection_reset_mid_body_leaves_no_file_behind(
    api: LocalAPI, client: Client, tmp_path: Path
) -> None:
    job_id = api.create_job(duration=0.0, file_size=2 * MB)
    api.inject(Fault("truncate", path=download_path(job_id), after_bytes=MB // 2))
    target = tmp_path / "form.pdf"

    with pytest.raises(DownloadIncompleteError) as caught:
        client.download(job_id, target)

    assert not target.exists()
    assert entries(tmp_path) == []
    assert caught.value.expected == 2 * MB
    assert caught.value.received <= MB // 2
    assert isinstance(caught.value.__cause__, TransportError)


@pytest.mark.parametrize(
    ("size", "cut"),
    [(10_000, 3_000), (2 * MB, MB // 2 + 1234)],
    ids=["smaller-than-a-chunk", "mid-chunk"],
)
def test_a_cut_body_reports_the_bytes_that_really_arrived(
    api: LocalAPI, client: Client, tmp_path: Path, size: int, cut: int
) -> None:
    job_id = api.create_job(duration=0.0, file_size=size)
    api.inject(Fault("truncate", path=download_path(job_id), after_bytes=cut))

    with pytest.raises(DownloadIncompleteError) as caught:
        client.download(job_id, tmp_path / "form.pdf")

    assert (caught.value.received, caught.value.expected) == (cut, size)
    assert str(caught.value).startswith(
        f"Download interrupted after {cut} of {size} bytes: "
    )


def test_a_cut_body_reports_the_bytes_that_arrived_in_every_call_style(
    api: LocalAPI, client: Client, tmp_path: Path
) -> None:
    job_id = api.create_job(duration=0.0, file_size=300_000)
    cut = 100_000 + 17
    api.inject(Fault("truncate", path=download_path(job_id), after_bytes=cut, times=3))

    async def download_async() -> DownloadIncompleteError:
        async with AsyncClient(api_key=api.api_key, base_url=api.base_url) as aclient:
            with pytest.raises(DownloadIncompleteError) as caught:
                await aclient.download(job_id, tmp_path / "async.pdf")
        return caught.value

    with pytest.raises(DownloadIncompleteError) as from_bytes:
        client.download_bytes(job_id)
    with pytest.raises(DownloadIncompleteError) as from_iteration:
        list(client.iter_download(job_id))
    from_async = asyncio.run(download_async())

    for error in (from_bytes.value, from_iteration.value, from_async):
        assert (error.received, error.expected) == (cut, 300_000)
    assert entries(tmp_path) == []


def test_connection_reset_into_a_directory_leaves_no_file_behind(
    api: LocalAPI, client: Client, tmp_path: Path
) -> None:
    job_id = api.create_job(duration=0.0, file_size=MB)
    api.inject(Fault("truncate", path=download_path(job_id)))

    with pytest.raises(DownloadIncompleteError):
        client.download(job_id, tmp_path)

    assert entries(tmp_path) == []


def test_connection_reset_before_any_answer_is_a_transport_error(
    api: LocalAPI, client: Client, tmp_path: Path
) -> None:
    api.inject(Fault("reset", path=download_path(SAMPLE_FILL_PDF_JOB_ID)))

    with pytest.raises(TransportError):
        client.download(SAMPLE_FILL_PDF_JOB_ID, tmp_path / "form.pdf")

    assert entries(tmp_path) == []


def test_a_body_longer_than_content_length_is_not_kept(
    api: LocalAPI, client: Client, tmp_path: Path
) -> None:
    job_id = api.create_job(duration=0.0, file_size=256 * 1024)
    api.inject(Fault("overlong", path=download_path(job_id)))
    target = tmp_path / "form.pdf"

    try:
        written = client.download(job_id, target)
    except DownloadError:
        assert entries(tmp_path) == []
    else:
        # HTTP/1.1 framing stops at Content-Length: the file is exactly that.
        assert written.stat().st_size == 256 * 1024


def test_a_stalled_body_times_out_and_leaves_no_file(
    api: LocalAPI, clock: object, tmp_path: Path
) -> None:
    job_id = api.create_job(duration=0.0, file_size=MB)
    api.inject(Fault("stall", path=download_path(job_id), after_bytes=1000, delay=2.0))

    with (
        Client(api_key=api.api_key, base_url=api.base_url, timeout=0.3) as client,
        pytest.raises(DownloadIncompleteError, match="ReadTimeout"),
    ):
        client.download(job_id, tmp_path)

    assert entries(tmp_path) == []


@pytest.mark.parametrize(
    ("job_id", "error", "code"),
    [
        (SAMPLE_PROCESSING_JOB_ID, JobNotFinishedError, "job_not_completed"),
        (SAMPLE_EXTRACT_JOB_ID, NoFileError, "no_file"),
        (SAMPLE_FAILED_JOB_ID, NoFileError, "no_file"),
        (SAMPLE_EXPIRED_JOB_ID, FileExpiredError, "file_expired"),
    ],
)
def test_download_errors_are_typed_and_create_nothing(
    client: Client, tmp_path: Path, job_id: str, error: type[DownloadError], code: str
) -> None:
    with pytest.raises(error) as caught:
        client.download(job_id, tmp_path)

    assert getattr(caught.value.body, "code", None) == code
    assert entries(tmp_path) == []


def test_download_of_an_unknown_job_is_not_found(
    client: Client, tmp_path: Path
) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.download(uuid.uuid4(), tmp_path)

    assert caught.value.status_code == 404
    assert not isinstance(caught.value, DownloadError)
    assert entries(tmp_path) == []


def test_download_into_a_missing_directory_fails_before_any_request(
    api: LocalAPI, client: Client, tmp_path: Path
) -> None:
    with pytest.raises(DownloadError, match="does not exist"):
        client.download(SAMPLE_FILL_PDF_JOB_ID, tmp_path / "missing" / "form.pdf")

    assert download_path(SAMPLE_FILL_PDF_JOB_ID) not in api.stats()["by_path"]


def test_a_destination_ending_in_a_separator_must_be_an_existing_directory(
    api: LocalAPI, client: Client, tmp_path: Path
) -> None:
    missing = f"{tmp_path / 'nope'}{os.sep}"

    with pytest.raises(DownloadError) as caught:
        client.download(SAMPLE_FILL_PDF_JOB_ID, missing)

    assert str(caught.value) == f"Directory {missing} does not exist"
    assert entries(tmp_path) == []
    assert download_path(SAMPLE_FILL_PDF_JOB_ID) not in api.stats()["by_path"]


def test_a_file_followed_by_a_separator_is_not_a_directory(
    client: Client, tmp_path: Path
) -> None:
    existing = tmp_path / "form.pdf"
    existing.write_bytes(b"mine")

    with pytest.raises(DownloadError, match="is not a directory"):
        client.download(SAMPLE_FILL_PDF_JOB_ID, f"{existing}{os.sep}", overwrite=True)

    assert existing.read_bytes() == b"mine"
    assert entries(tmp_path) == ["form.pdf"]


def test_an_existing_directory_with_a_trailing_separator_gets_the_file(
    client: Client, tmp_path: Path
) -> None:
    written = client.download(SAMPLE_FILL_PDF_JOB_ID, f"{tmp_path}{os.sep}")

    assert written == tmp_path / "filled_form.pdf"
    assert entries(tmp_path) == ["filled_form.pdf"]


def test_download_bytes_and_iter_download_match_the_file(
    api: LocalAPI, client: Client, tmp_path: Path
) -> None:
    job_id = api.create_job(duration=0.0, file_size=300_000)

    whole = client.download_bytes(job_id)
    chunks = list(client.iter_download(job_id))
    written = client.download(job_id, tmp_path).read_bytes()

    assert len(whole) == 300_000
    assert b"".join(chunks) == whole == written
    assert max(len(chunk) for chunk in chunks) <= 64 * 1024
    assert pypdf.PdfReader(io.BytesIO(whole)).pages


def test_iter_download_raises_when_the_body_is_cut(
    api: LocalAPI, client: Client
) -> None:
    job_id = api.create_job(duration=0.0, file_size=300_000)
    api.inject(Fault("truncate", path=download_path(job_id), after_bytes=100_000))

    received = 0
    with pytest.raises(DownloadIncompleteError):
        for chunk in client.iter_download(job_id):
            received += len(chunk)

    assert received <= 100_000


def test_downloads_reuse_one_pooled_connection(api: LocalAPI, client: Client) -> None:
    for _ in range(5):
        client.download_bytes(SAMPLE_FILL_PDF_JOB_ID)
        client.get_job(SAMPLE_FILL_PDF_JOB_ID)

    pool = client._http._transport._pool  # type: ignore[attr-defined]
    assert len(pool.connections) == 1
