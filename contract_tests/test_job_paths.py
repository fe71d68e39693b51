"""The list -> get -> download path, walked explicitly over the target's real jobs.

The generated tests mostly ask for jobs that do not exist; these tests take the
jobs the target lists and check what a client meets with each of them: the
list honours its filters and pages, every listed job can be read, every
completed fill job downloads as a file of its type with a name, and every job
without a file is refused with the documented status and code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from contract_tests._answers import assert_valid, json_body, shown_answer
from contract_tests._results import CheckRecorder
from contract_tests._target import Target, TargetClient

LIST = "GET /v1/jobs"
GET = "GET /v1/jobs/{job_id}"
DOWNLOAD = "GET /v1/jobs/{job_id}/download"

JOB = "/components/schemas/Job"
JOB_LIST = "/components/schemas/JobList"
ERROR = "/components/schemas/ErrorResponse"

STATUSES = ("pending", "processing", "completed", "failed")
TYPES = ("extract", "fill_pdf", "fill_excel")
LIFECYCLE = {"pending": 0, "processing": 1, "completed": 2, "failed": 2}
FILE_TYPES = {
    "fill_pdf": ("application/pdf", b"%PDF-"),
    "fill_excel": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        b"PK\x03\x04",
    ),
}

FIRST_PAGE_LIMIT = 20
FILTERED_PAGE_LIMIT = 3
# Jobs without a file, per kind of refusal, whose download is tried.
REFUSALS_PER_KIND = 2
# An expiry this close to now may pass while the request is in flight.
EXPIRY_MARGIN = dt.timedelta(minutes=1)


@dataclass
class Listing:
    """The pages the target answered, fetched once for the module."""

    first_page: httpx.Response
    filtered: dict[tuple[str, str], httpx.Response] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_jobs(self, response: httpx.Response) -> None:
        """Keep the listed jobs of a page that parsed."""
        try:
            body = response.json()
        except ValueError:
            return
        if not isinstance(body, dict) or not isinstance(body.get("jobs"), list):
            return
        for job in body["jobs"]:
            if isinstance(job, dict) and isinstance(job.get("id"), str):
                self.jobs.setdefault(job["id"], job)


@pytest.fixture(scope="module")
def client(target: Target) -> Iterator[TargetClient]:
    """A paced client on the target."""
    with target.client() as opened:
        yield opened


@pytest.fixture(scope="module")
def listing(client: TargetClient) -> Listing:
    """The first page, and a short page for every status and type filter."""
    first = client.get("/v1/jobs", operation=LIST, params={"limit": FIRST_PAGE_LIMIT})
    found = Listing(first_page=first)
    found.add_jobs(first)
    for status in STATUSES:
        for job_type in TYPES:
            params = {"status": status, "type": job_type, "limit": FILTERED_PAGE_LIMIT}
            page = client.get("/v1/jobs", operation=LIST, params=params)
            found.filtered[(status, job_type)] = page
            found.add_jobs(page)
    return found


def _assert_page(response: httpx.Response, limit: int, offset: int = 0) -> Any:
    """Assert a list answer is a JobList page that fits ``limit``; return it."""
    assert response.status_code == 200, f"expected 200, got {response.status_code}"
    body = json_body(response)
    assert_valid(body, JOB_LIST)
    count = len(body["jobs"])
    assert count <= limit, f"{count} jobs on a page of limit {limit}"
    expected_more = offset + count < body["total"]
    assert body["has_more"] == expected_more, (
        f"has_more is {body['has_more']} with offset {offset}, {count} jobs "
        f"and total {body['total']}"
    )
    return body


def test_first_page_is_a_documented_job_list(
    listing: Listing, target: Target, conformance: CheckRecorder
) -> None:
    """An unfiltered page is a JobList whose has_more agrees with its total."""
    with conformance.check(
        LIST, "explicit_list_page", shown_answer(listing.first_page, target)
    ):
        _assert_page(listing.first_page, FIRST_PAGE_LIMIT)
    conformance.raise_soft_failures()


def test_filters_return_only_matching_jobs(
    listing: Listing, target: Target, conformance: CheckRecorder
) -> None:
    """A page filtered by status and type lists only jobs of that status and type."""
    for (status, job_type), page in listing.filtered.items():
        with conformance.check(
            LIST, "explicit_list_filters", shown_answer(page, target)
        ):
            body = _assert_page(page, FILTERED_PAGE_LIMIT)
            strays = [
                f"{job['id']} ({job['status']}, {job['type']})"
                for job in body["jobs"]
                if job["status"] != status or job["type"] != job_type
            ]
            assert not strays, (
                f"filter status={status}&type={job_type} listed " + ", ".join(strays)
            )
    conformance.raise_soft_failures()


def test_pages_follow_on_without_overlap(
    listing: Listing, client: TargetClient, target: Target, conformance: CheckRecorder
) -> None:
    """The second page starts where the first ended: no job appears on both."""
    limit = 2
    first = client.get("/v1/jobs", operation=LIST, params={"limit": limit})
    second = client.get(
        "/v1/jobs", operation=LIST, params={"limit": limit, "offset": limit}
    )
    with conformance.check(LIST, "explicit_paging", shown_answer(second, target)):
        first_body = _assert_page(first, limit)
        second_body = _assert_page(second, limit, offset=limit)
        first_ids = {job["id"] for job in first_body["jobs"]}
        repeated = [job["id"] for job in second_body["jobs"] if job["id"] in first_ids]
        assert not repeated, f"jobs listed on both pages: {repeated}"
        if first_body["has_more"]:
            assert second_body["jobs"], "has_more was true but the next page is empty"
    conformance.raise_soft_failures()


def test_each_listed_job_can_be_read(
    listing: Listing, client: TargetClient, target: Target, conformance: CheckRecorder
) -> None:
    """Every listed job reads back as a Job with the same id and type."""
    if not listing.jobs:
        reason = "the target lists no jobs"
        conformance.skipped(GET, "explicit_listed_job_readable", reason)
        pytest.skip(reason)
    for job_id, listed in listing.jobs.items():
        response = client.get(f"/v1/jobs/{job_id}", operation=GET)
        with conformance.check(
            GET, "explicit_listed_job_readable", shown_answer(response, target)
        ):
            assert response.status_code == 200, (
                f"listed job {job_id} answers {response.status_code}"
            )
            job = json_body(response)
            assert_valid(job, JOB)
            assert job["id"] == job_id, f"asked for {job_id}, got {job['id']}"
            assert job["type"] == listed["type"], (
                f"listed as {listed['type']}, read as {job['type']}"
            )
            before = LIFECYCLE.get(listed["status"])
            after = LIFECYCLE.get(job["status"])
            if before is not None and after is not None:
                assert after >= before, (
                    f"listed as {listed['status']}, read as {job['status']}"
                )
    conformance.raise_soft_failures()


def _expires_at(job: dict[str, Any]) -> dt.datetime | None:
    """When the job's file is deleted, if its result says."""
    result = job.get("result")
    raw = result.get("expires_at") if isinstance(result, dict) else None
    if not isinstance(raw, str):
        return None
    return dt.datetime.fromisoformat(raw)


def _media_type(response: httpx.Response) -> str:
    """The answer's media type, without parameters, lower case."""
    return response.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _current(client: TargetClient, job_id: str) -> dict[str, Any] | None:
    """The job as it is now, or None when it cannot be read."""
    response = client.get(f"/v1/jobs/{job_id}", operation=GET)
    if response.status_code != 200:
        return None
    body = response.json()
    return body if isinstance(body, dict) else None


def test_completed_fill_jobs_download_their_file(
    listing: Listing, client: TargetClient, target: Target, conformance: CheckRecorder
) -> None:
    """A completed fill job downloads a file of its type, named for saving."""
    now = dt.datetime.now(dt.UTC)
    downloads = 0
    for job_id, listed in listing.jobs.items():
        if listed["type"] not in FILE_TYPES or listed["status"] != "completed":
            continue
        job = _current(client, job_id) or listed
        expires_at = _expires_at(job)
        if expires_at is not None and expires_at - EXPIRY_MARGIN < now:
            continue
        media_type, magic = FILE_TYPES[listed["type"]]
        response = client.get(
            f"/v1/jobs/{job_id}/download", operation=DOWNLOAD, stream=True
        )
        try:
            head = b""
            if response.status_code == 200:
                for chunk in response.iter_bytes():
                    head += chunk
                    if len(head) >= len(magic):
                        break
        finally:
            response.close()
        downloads += 1
        shown = shown_answer(response, target)
        with conformance.check(DOWNLOAD, "explicit_download_media_type", shown):
            assert response.status_code == 200, (
                f"completed {listed['type']} job {job_id} answers "
                f"{response.status_code}"
            )
            assert _media_type(response) == media_type, (
                f"{listed['type']} job {job_id} downloads as "
                f"{_media_type(response)!r}, not {media_type!r}"
            )
            assert head.startswith(magic), (
                f"{listed['type']} file starts with {head[:8]!r}, not {magic!r}"
            )
        with conformance.check(
            DOWNLOAD, "explicit_download_content_disposition", shown
        ):
            disposition = response.headers.get("content-disposition")
            assert disposition, f"download of {job_id} has no Content-Disposition"
            assert disposition.split(";", 1)[0].strip().lower() == "attachment", (
                f"Content-Disposition is {disposition!r}, not an attachment"
            )
            assert "filename" in disposition.lower(), (
                f"Content-Disposition {disposition!r} names no file"
            )
    if downloads == 0:
        reason = "the target lists no completed fill job whose file is still kept"
        for check in (
            "explicit_download_media_type",
            "explicit_download_content_disposition",
        ):
            conformance.skipped(DOWNLOAD, check, reason)
        pytest.skip(reason)
    conformance.raise_soft_failures()


def _refusal_expected(
    job: dict[str, Any], now: dt.datetime
) -> tuple[str, int, str] | None:
    """(kind, status, code) the download of ``job`` must answer, if refused."""
    status, job_type = job["status"], job["type"]
    if status in ("pending", "processing"):
        return ("not finished", 409, "job_not_completed")
    if job_type == "extract" and status == "completed":
        return ("extract", 404, "no_file")
    if status == "failed":
        return ("failed", 404, "no_file")
    expires_at = _expires_at(job)
    if job_type in FILE_TYPES and expires_at and expires_at + EXPIRY_MARGIN < now:
        return ("expired", 410, "file_expired")
    return None


def test_jobs_without_a_file_refuse_the_download(
    listing: Listing, client: TargetClient, target: Target, conformance: CheckRecorder
) -> None:
    """Unfinished, extract, failed and expired jobs answer 409, 404 or 410, a code."""
    now = dt.datetime.now(dt.UTC)
    tried: dict[str, int] = {}
    for job_id, listed in listing.jobs.items():
        if listed["status"] not in LIFECYCLE or listed["type"] not in TYPES:
            continue
        job = _current(client, job_id)
        if job is None:
            continue
        expected = _refusal_expected(job, now)
        if expected is None or tried.get(expected[0], 0) >= REFUSALS_PER_KIND:
            continue
        kind, status_code, code = expected
        response = client.get(f"/v1/jobs/{job_id}/download", operation=DOWNLOAD)
        after = _current(client, job_id)
        if kind == "not finished" and (
            after is None or after["status"] != job["status"]
        ):
            # The job moved on while we asked; its answer proves nothing.
            continue
        tried[kind] = tried.get(kind, 0) + 1
        with conformance.check(
            DOWNLOAD, "explicit_download_refusals", shown_answer(response, target)
        ):
            assert response.status_code == status_code, (
                f"download of a {kind} job ({job['type']}, {job['status']}) answers "
                f"{response.status_code}, expected {status_code}"
            )
            body = json_body(response)
            assert_valid(body, ERROR)
            assert body.get("code") == code, (
                f"download of a {kind} job has code {body.get('code')!r}, "
                f"expected {code!r}"
            )
    if not tried:
        reason = "the target lists no job without a file"
        conformance.skipped(DOWNLOAD, "explicit_download_refusals", reason)
        pytest.skip(reason)
    conformance.raise_soft_failures()
