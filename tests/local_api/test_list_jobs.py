"""GET /v1/jobs: paging, order, filters, validation and odd inputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qomplement_local_api import LocalAPI, ManualClock

SchemaCheck = Callable[[Any, str], None]
SAMPLE_TOTAL = 45


def walk(client: httpx.Client, limit: int, **filters: str) -> list[dict[str, Any]]:
    """Return every page of a listing, walking by the length of each page."""
    pages = []
    offset = 0
    while True:
        params: dict[str, Any] = {"limit": limit, "offset": offset, **filters}
        response = client.get("/v1/jobs", params=params)
        assert response.status_code == 200
        page = response.json()
        pages.append(page)
        offset += len(page["jobs"])
        if not page["has_more"]:
            return pages
        assert len(pages) < 200


@pytest.mark.parametrize("limit", [1, 7, 20, 44, 45, 100])
def test_pages_cover_every_job_once_with_consistent_totals(
    shared_client: httpx.Client, limit: int
) -> None:
    pages = walk(shared_client, limit)

    ids = [job["id"] for page in pages for job in page["jobs"]]
    assert len(ids) == len(set(ids)) == SAMPLE_TOTAL
    assert {page["total"] for page in pages} == {SAMPLE_TOTAL}
    offset = 0
    for page in pages:
        assert len(page["jobs"]) == min(limit, SAMPLE_TOTAL - offset)
        assert page["has_more"] == (offset + len(page["jobs"]) < SAMPLE_TOTAL)
        offset += len(page["jobs"])
    everything = shared_client.get("/v1/jobs", params={"limit": 100}).json()
    assert [job["id"] for job in everything["jobs"]] == ids


def test_list_is_newest_first_then_by_id_and_matches_the_schema(
    shared_client: httpx.Client, check_schema: SchemaCheck
) -> None:
    body = shared_client.get("/v1/jobs", params={"limit": 100}).json()

    check_schema(body, "JobList")
    keys = [(job["created_at"], job["id"]) for job in body["jobs"]]
    assert keys == sorted(keys, reverse=True)
    # The sample data holds two jobs created in the same second.
    created = [job["created_at"] for job in body["jobs"]]
    assert len(set(created)) == SAMPLE_TOTAL - 1


def test_default_page_is_twenty_jobs(shared_client: httpx.Client) -> None:
    body = shared_client.get("/v1/jobs").json()

    assert len(body["jobs"]) == 20
    assert body["total"] == SAMPLE_TOTAL
    assert body["has_more"] is True


def test_listed_jobs_equal_the_single_job_bodies(shared_client: httpx.Client) -> None:
    listed = shared_client.get("/v1/jobs", params={"limit": 5}).json()["jobs"]

    for job in listed:
        assert shared_client.get(f"/v1/jobs/{job['id']}").json() == job


def test_new_job_comes_first(api: LocalAPI, client: httpx.Client) -> None:
    job_id = api.create_job(type="fill_excel")

    body = client.get("/v1/jobs", params={"limit": 1}).json()

    assert body["jobs"][0]["id"] == job_id
    assert body["total"] == SAMPLE_TOTAL + 1


@pytest.mark.parametrize(
    "filters",
    [
        {"status": "completed"},
        {"status": "failed"},
        {"status": "pending"},
        {"status": "processing"},
        {"type": "extract"},
        {"type": "fill_pdf"},
        {"type": "fill_excel"},
        {"status": "completed", "type": "fill_excel"},
        {"status": "failed", "type": "fill_pdf"},
    ],
)
def test_filters_select_exactly_the_matching_jobs(
    shared_client: httpx.Client, filters: dict[str, str]
) -> None:
    everything = shared_client.get("/v1/jobs", params={"limit": 100}).json()["jobs"]
    expected = [
        job["id"]
        for job in everything
        if all(job[name] == value for name, value in filters.items())
    ]

    pages = walk(shared_client, 3, **filters)

    assert expected
    assert [job["id"] for page in pages for job in page["jobs"]] == expected
    assert {page["total"] for page in pages} == {len(expected)}


def test_status_filter_follows_the_clock(
    api: LocalAPI, client: httpx.Client, clock: ManualClock
) -> None:
    job_id = api.create_job(type="extract", pending=1.0, duration=5.0)

    def ids(status: str) -> list[str]:
        body = client.get("/v1/jobs", params={"status": status, "limit": 100}).json()
        return [job["id"] for job in body["jobs"]]

    assert job_id in ids("pending")
    clock.advance(2.0)
    assert job_id in ids("processing") and job_id not in ids("pending")
    clock.advance(5.0)
    assert job_id in ids("completed") and job_id not in ids("processing")


def test_each_key_lists_only_its_own_jobs(api: LocalAPI) -> None:
    other = api.new_key()
    theirs = api.create_job(type="extract", key=other)

    body = httpx.get(
        f"{api.base_url}/v1/jobs", headers={"Authorization": f"Bearer {other}"}
    ).json()

    assert body == {"jobs": body["jobs"], "total": 1, "has_more": False}
    assert body["jobs"][0]["id"] == theirs


@pytest.mark.parametrize(
    ("params", "location", "error_type"),
    [
        ({"limit": 0}, ["query", "limit"], "greater_than_equal"),
        ({"limit": 101}, ["query", "limit"], "less_than_equal"),
        ({"limit": -5}, ["query", "limit"], "greater_than_equal"),
        ({"limit": "ten"}, ["query", "limit"], "int_parsing"),
        ({"limit": "1.5"}, ["query", "limit"], "int_parsing"),
        ({"offset": -1}, ["query", "offset"], "greater_than_equal"),
        ({"offset": "x"}, ["query", "offset"], "int_parsing"),
        ({"status": "queued"}, ["query", "status"], "enum"),
        ({"status": "COMPLETED"}, ["query", "status"], "enum"),
        ({"type": "translate"}, ["query", "type"], "enum"),
    ],
)
def test_invalid_query_answers_fastapis_422(
    shared_client: httpx.Client,
    check_schema: SchemaCheck,
    params: dict[str, Any],
    location: list[str],
    error_type: str,
) -> None:
    response = shared_client.get("/v1/jobs", params=params)

    assert response.status_code == 422
    body = response.json()
    check_schema(body, "HTTPValidationError")
    [error] = body["detail"]
    assert error["loc"] == location
    assert error["type"] == error_type


@pytest.mark.parametrize(
    "url",
    [
        "/v1/jobs?offset=1000000000000000000000000000000",
        "/v1/jobs?limit=100&offset=44",
        "/v1/jobs?limit=100&limit=1",
        "/v1/jobs?limit=%F0%9F%98%80",
        "/v1/jobs?status=%00",
        "/v1/jobs?type=fill_pdf%20",
        "/v1/jobs?offset=99999999999999999999999999999999999999999999999999&limit=100",
        "/v1/jobs?unknown=1&limit=2",
        "/v1/jobs/%C3%BC%C3%B1%C3%AF%C3%A7%C3%B8d%C3%A9",
        "/v1/jobs/%F0%9F%98%80/download",
        "/v1/jobs/550e8400-e29b-41d4-a716-44665544000%00",
        "/v1/jobs/" + "a" * 5000,
        "/v1/jobs/urn:uuid:550e8400-e29b-41d4-a716-446655440000",
        "/v1/jobs/{550e8400-e29b-41d4-a716-446655440000}",
        "/v1/jobs/550e8400-e29b-41d4-a716-446655440000/download/extra",
        "/v1/jobs/%2e%2e/%2e%2e/etc/passwd",
        "/v1//jobs",
        "/v1/jobs/",
    ],
)
def test_odd_inputs_never_answer_5xx(shared_client: httpx.Client, url: str) -> None:
    response = shared_client.get(url)

    assert response.status_code < 500, response.text
    if not response.is_redirect:
        assert response.headers["content-type"].startswith("application/")


def test_huge_offset_gives_an_empty_last_page(shared_client: httpx.Client) -> None:
    body = shared_client.get("/v1/jobs", params={"offset": 10**30, "limit": 100}).json()

    assert body == {"jobs": [], "total": SAMPLE_TOTAL, "has_more": False}


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    job_id=st.text(max_size=60),
    download=st.booleans(),
    query=st.dictionaries(
        st.sampled_from(["status", "type", "limit", "offset", "other"]),
        st.one_of(st.text(max_size=30), st.integers().map(str)),
        max_size=4,
    ),
)
def test_arbitrary_ids_and_queries_never_answer_5xx(
    shared_client: httpx.Client, job_id: str, download: bool, query: dict[str, str]
) -> None:
    path = "/v1/jobs/" + quote(job_id, safe="") if job_id else "/v1/jobs"
    if download and job_id:
        path += "/download"

    response = shared_client.get(path, params=query)

    assert response.status_code < 500, (path, query, response.text)
