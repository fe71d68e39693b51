"""Listing and walking pages of jobs."""

from __future__ import annotations

import itertools
import math

import pytest
from qomplement_jobs import Client, ValidationError
from qomplement_jobs_client.models import JobList, KnownJobStatus, KnownJobType
from qomplement_local_api import LocalAPI


def list_requests(api: LocalAPI) -> int:
    return int(api.stats()["by_path"].get("/v1/jobs", 0))


def test_list_jobs_returns_one_generated_page(client: Client) -> None:
    page = client.list_jobs(limit=5, offset=2)

    assert isinstance(page, JobList)
    assert len(page.jobs) == 5
    assert page.has_more is True
    assert page.total > 7


def test_list_jobs_filters_by_status_and_type(client: Client) -> None:
    page = client.list_jobs(status="completed", type=KnownJobType.FILL_PDF, limit=100)

    assert page.jobs
    assert {job.status for job in page.jobs} == {KnownJobStatus.COMPLETED}
    assert {job.type_ for job in page.jobs} == {KnownJobType.FILL_PDF}


def test_list_jobs_rejects_an_unknown_filter_value_before_any_request(
    api: LocalAPI, client: Client
) -> None:
    with pytest.raises(ValueError, match="queued"):
        client.list_jobs(status="queued")
    assert list_requests(api) == 0


def test_list_jobs_reports_the_field_errors_of_a_422(client: Client) -> None:
    with pytest.raises(ValidationError) as caught:
        client.list_jobs(limit=500)

    assert caught.value.status_code == 422
    assert [list(error.loc) for error in caught.value.errors] == [["query", "limit"]]
    assert "query.limit" in str(caught.value)


def test_iter_jobs_walks_every_page_by_offset_once(
    api: LocalAPI, client: Client
) -> None:
    total = client.list_jobs(limit=1).total
    before = list_requests(api)

    jobs = list(client.iter_jobs(page_size=7))

    assert len(jobs) == total
    assert len({job.id for job in jobs}) == total
    assert list_requests(api) - before == math.ceil(total / 7)


def test_iter_jobs_is_lazy(api: LocalAPI, client: Client) -> None:
    first_three = list(itertools.islice(client.iter_jobs(page_size=10), 3))

    assert len(first_three) == 3
    assert list_requests(api) == 1


def test_iter_jobs_skips_jobs_already_seen_when_new_ones_shift_the_pages(
    api: LocalAPI, client: Client
) -> None:
    before = {job.id for job in client.iter_jobs(page_size=100)}
    walk = client.iter_jobs(page_size=10)

    seen = [next(walk) for _ in range(10)]
    # Three jobs arrive mid-walk; newest first, so they push every page down.
    for _ in range(3):
        api.create_job(duration=5.0)
    seen.extend(walk)

    ids = [job.id for job in seen]
    assert len(ids) == len(set(ids))
    assert before <= set(ids)


def test_iter_jobs_filters(client: Client) -> None:
    failed = list(client.iter_jobs(status=KnownJobStatus.FAILED, page_size=2))

    assert failed
    assert {job.status for job in failed} == {KnownJobStatus.FAILED}


@pytest.mark.parametrize("page_size", [0, 101])
def test_iter_jobs_rejects_a_page_size_outside_the_spec(
    client: Client, page_size: int
) -> None:
    with pytest.raises(ValueError, match="page_size"):
        next(client.iter_jobs(page_size=page_size))
