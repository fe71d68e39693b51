"""Rules of openapi.yaml that no single generated request can show broken.

Schemathesis judges each answer on its own. These tests compare answers with
each other or send the requests its generator does not: pages walked one by
one must add up to one long page, newest first; an id that is not a UUID must
be refused with 422; a request without a key, or with a malformed one, must
be refused with 401 and a ``Bearer`` challenge. Against a running service they
send a few dozen GET requests, paced like every other.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from contract_tests._answers import assert_valid, json_body, shown_answer
from contract_tests._results import CheckRecorder
from contract_tests._target import REQUEST_TIMEOUT_SECONDS, Target, TargetClient

LIST = "GET /v1/jobs"
GET = "GET /v1/jobs/{job_id}"
DOWNLOAD = "GET /v1/jobs/{job_id}/download"

ERROR = "/components/schemas/ErrorResponse"
VALIDATION_ERROR = "/components/schemas/HTTPValidationError"

PAGE_LIMIT = 3
PAGES = 4
# Ids a client might send by mistake; none is a UUID, none leaves the path.
MALFORMED_IDS = ("not-a-uuid", "12345", "550e8400-e29b-41d4-a716-44665544000g")
# A well-formed id that is no job's: the 401 must come before any lookup.
SOME_ID = "00000000-0000-4000-8000-000000000000"
MALFORMED_KEY = "Bearer not-a-key"


@pytest.fixture(scope="module")
def client(target: Target) -> Iterator[TargetClient]:
    """A paced client on the target, sending the key."""
    with target.client() as opened:
        yield opened


def _page(response: httpx.Response) -> dict[str, Any]:
    """The body of a list answer, as far as these rules need it.

    Only what the rules read is asserted (a ``jobs`` array of objects with
    ids); the answer's schema is the schema checks' to judge.
    """
    assert response.status_code == 200, f"expected 200, got {response.status_code}"
    body = json_body(response)
    assert isinstance(body, dict) and isinstance(body.get("jobs"), list), (
        f"answer has no jobs array: {response.text[:200]!r}"
    )
    assert all(
        isinstance(job, dict) and isinstance(job.get("id"), str) for job in body["jobs"]
    ), "a listed job has no id"
    return body


def _ids(page: dict[str, Any]) -> list[str]:
    """The ids on a page, in order."""
    return [str(job["id"]) for job in page["jobs"]]


@dataclass
class Walk:
    """One long page, the short pages that should make it up, the long page again."""

    before: httpx.Response
    pages: list[httpx.Response]
    after: httpx.Response


@pytest.fixture(scope="module")
def walk(client: TargetClient) -> Walk:
    """Read the long page, walk the short pages by offset, read the long page."""
    long_limit = {"limit": PAGE_LIMIT * PAGES}
    before = client.get("/v1/jobs", operation=LIST, params=long_limit)
    pages = [
        client.get(
            "/v1/jobs",
            operation=LIST,
            params={"limit": PAGE_LIMIT, "offset": index * PAGE_LIMIT},
        )
        for index in range(PAGES)
    ]
    after = client.get("/v1/jobs", operation=LIST, params=long_limit)
    return Walk(before, pages, after)


def _created(job: dict[str, Any]) -> dt.datetime | None:
    """When the job was created, if it says so with a time zone."""
    try:
        created = dt.datetime.fromisoformat(job["created_at"])
    except (KeyError, TypeError, ValueError):
        return None
    return created if created.tzinfo is not None else None


def test_jobs_are_listed_newest_first(
    walk: Walk, target: Target, conformance: CheckRecorder
) -> None:
    """No listed job was created after the job listed before it.

    Jobs without a readable ``created_at`` are left out; their timestamps are
    the schema checks' to judge.
    """
    with conformance.check(
        LIST, "explicit_list_order", shown_answer(walk.before, target)
    ):
        jobs = _page(walk.before)["jobs"]
        created = [
            (job["id"], moment) for job in jobs if (moment := _created(job)) is not None
        ]
        for (newer_id, newer), (older_id, older) in itertools.pairwise(created):
            assert newer >= older, (
                f"job {older_id} (created {older.isoformat()}) is listed after "
                f"{newer_id} (created {newer.isoformat()}): not newest first"
            )
    conformance.raise_soft_failures()


def test_pages_add_up_to_one_long_page(
    walk: Walk, target: Target, conformance: CheckRecorder
) -> None:
    """Short pages walked by offset list exactly the jobs of one long page.

    If the long page read before the walk differs from the one read after,
    the target's jobs changed meanwhile and the walk proves nothing.
    """
    check = "explicit_pages_add_up"
    try:
        long_page = _page(walk.before)
        unchanged = _ids(long_page) == _ids(_page(walk.after))
    except AssertionError:
        # The long page's own faults are the other checks' to report.
        unchanged = False
    if not unchanged:
        reason = "the long page could not be read twice alike"
        conformance.skipped(LIST, check, reason)
        pytest.skip(reason)
    expected = _ids(long_page)
    walked: list[str] = []
    for index, response in enumerate(walk.pages):
        with conformance.check(LIST, check, shown_answer(response, target)):
            page = _page(response)
            offset = index * PAGE_LIMIT
            assert page["total"] == long_page["total"], (
                f"total is {page['total']} at offset {offset} but "
                f"{long_page['total']} on the long page"
            )
            got = _ids(page)
            repeated = [job_id for job_id in got if job_id in walked]
            assert not repeated, f"jobs listed again at offset {offset}: {repeated}"
            want = expected[offset : offset + PAGE_LIMIT]
            assert got == want, (
                f"the page at offset {offset} lists {got}; the long page has "
                f"{want} there"
            )
            walked += got
    conformance.raise_soft_failures()


@pytest.mark.parametrize(
    ("operation", "template"),
    [(GET, "/v1/jobs/{}"), (DOWNLOAD, "/v1/jobs/{}/download")],
)
def test_an_id_that_is_not_a_uuid_is_refused_with_422(
    operation: str,
    template: str,
    client: TargetClient,
    target: Target,
    conformance: CheckRecorder,
) -> None:
    """A malformed job id answers 422 with FastAPI's body naming the path."""
    for job_id in MALFORMED_IDS:
        response = client.get(template.format(job_id), operation=operation)
        with conformance.check(
            operation, "explicit_malformed_id", shown_answer(response, target)
        ):
            assert response.status_code == 422, (
                f"job id {job_id!r} answers {response.status_code}, expected 422"
            )
            body = json_body(response)
            assert_valid(body, VALIDATION_ERROR)
            locations = [error["loc"] for error in body["detail"]]
            assert ["path", "job_id"] in locations, (
                f"the 422 for {job_id!r} names {locations}, not the path's job_id"
            )
    conformance.raise_soft_failures()


@pytest.fixture(scope="module")
def keyless(target: Target) -> Iterator[httpx.Client]:
    """An httpx client on the target that sends no key of its own."""
    with httpx.Client(
        base_url=target.base_url, timeout=REQUEST_TIMEOUT_SECONDS
    ) as opened:
        yield opened


@pytest.mark.parametrize(
    ("operation", "path"),
    [
        (LIST, "/v1/jobs"),
        (GET, f"/v1/jobs/{SOME_ID}"),
        (DOWNLOAD, f"/v1/jobs/{SOME_ID}/download"),
    ],
)
def test_a_missing_or_malformed_key_is_refused_with_401(
    operation: str,
    path: str,
    keyless: httpx.Client,
    target: Target,
    conformance: CheckRecorder,
) -> None:
    """No key, or a key that is not one, answers 401 with a Bearer challenge."""
    for authorization in (None, MALFORMED_KEY):
        headers = {} if authorization is None else {"Authorization": authorization}
        response = target.politely(
            functools.partial(keyless.get, path, headers=headers),
            operation,
            target.requests,
        )
        sent = "no key" if authorization is None else "a malformed key"
        with conformance.check(
            operation, "explicit_auth_refusals", shown_answer(response, target)
        ):
            assert response.status_code == 401, (
                f"a request with {sent} answers {response.status_code}, expected 401"
            )
            challenge = response.headers.get("www-authenticate")
            assert challenge == "Bearer", (
                f"the 401 for {sent} has WWW-Authenticate {challenge!r}, "
                "expected 'Bearer'"
            )
            assert_valid(json_body(response), ERROR)
    conformance.raise_soft_failures()
