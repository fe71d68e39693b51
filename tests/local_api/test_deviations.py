"""Named deviations: each one changes what the server sends, in its one way.

Every test sends the same request to a faithful server and to one started
with a deviation, and asserts the difference the deviation's description
promises (and, where it matters, that nearby requests are left alone).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from qomplement_local_api import (
    SAMPLE_EXTRACT_JOB_ID,
    SAMPLE_FAILED_JOB_ID,
    SAMPLE_FILL_PDF_JOB_ID,
    SAMPLE_PROCESSING_JOB_ID,
    LocalAPI,
    ManualClock,
    serve,
)
from qomplement_local_api.deviations import (
    KNOWN_DEVIATIONS,
    Exchange,
    Incoming,
    resolve,
)

SAMPLE_TOTAL = 45
UNKNOWN_JOB_ID = "00000000-0000-4000-8000-000000000000"
PDF = "application/pdf"


@dataclass
class Pair:
    """A faithful server and a deviating one, asked the same things."""

    faithful: LocalAPI
    deviating: LocalAPI

    def get(
        self, path: str, *, auth: str = "key", **params: Any
    ) -> tuple[httpx.Response, httpx.Response]:
        """Send ``GET path`` to both; ``auth`` is ``key``, ``none`` or ``malformed``."""
        return (
            _get(self.faithful, path, auth, params),
            _get(self.deviating, path, auth, params),
        )


def _get(api: LocalAPI, path: str, auth: str, params: dict[str, Any]) -> httpx.Response:
    """Send one request to ``api`` with the credentials ``auth`` names."""
    headers = {
        "key": {"Authorization": f"Bearer {api.api_key}"},
        "none": {},
        "malformed": {"Authorization": "Bearer not-a-key"},
    }[auth]
    return httpx.get(api.base_url + path, params=params, headers=headers, timeout=10.0)


@pytest.fixture(scope="module")
def faithful() -> Iterator[LocalAPI]:
    """One faithful server for the module; no test changes it."""
    with serve(clock=ManualClock(start=1_000.0)) as api:
        yield api


@contextmanager
def _pair(faithful: LocalAPI, name: str) -> Iterator[Pair]:
    """The faithful server and a fresh one deviating by ``name``."""
    with serve(clock=ManualClock(start=1_000.0), deviations=[name]) as deviating:
        yield Pair(faithful, deviating)


def _ids(response: httpx.Response) -> list[str]:
    """The ids on a page."""
    return [job["id"] for job in response.json()["jobs"]]


# -- the registry --------------------------------------------------------------


def test_at_least_twenty_deviations_are_known_each_described_in_one_line() -> None:
    assert len(KNOWN_DEVIATIONS) >= 20
    for name, cls in KNOWN_DEVIATIONS.items():
        assert cls.name == name
        assert re.fullmatch(r"[a-z0-9_]+", name)
        assert cls.description.endswith(".") and "\n" not in cls.description


def test_an_unknown_deviation_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'no_such_deviation'") as refused:
        serve(deviations=["total_as_string", "no_such_deviation"])

    assert "total_as_string" in str(refused.value)  # the known ones are listed


def test_each_server_gets_fresh_deviations() -> None:
    _, first = resolve(["rate_limit_without_retry_after"])
    _, second = resolve(["rate_limit_without_retry_after"])

    assert first[0] is not second[0]


def test_a_deviation_of_ones_own_may_rewrite_requests(faithful: LocalAPI) -> None:
    @dataclass
    class OnlyFillPdf:
        """Lists fill_pdf jobs whatever the filter says; answers unchanged."""

        name: str = "only_fill_pdf"

        def rewrite(self, exchange: Exchange) -> Exchange:
            return exchange

        def rewrite_request(self, request: Incoming) -> Incoming:
            return Incoming(
                request.method,
                request.path,
                b"type=fill_pdf",
                request.headers,
                request.server_key,
            )

    with serve(clock=ManualClock(start=1_000.0), deviations=[OnlyFillPdf()]) as api:
        listed = _get(api, "/v1/jobs", "key", {"type": "extract"})

    assert listed.status_code == 200
    assert {job["type"] for job in listed.json()["jobs"]} == {"fill_pdf"}


# -- what each deviation sends ---------------------------------------------------

Effect = Callable[[Pair], None]
EFFECTS: dict[str, Effect] = {}


def effect(name: str) -> Callable[[Effect], Effect]:
    """Register the test of deviation ``name``."""

    def register(function: Effect) -> Effect:
        EFFECTS[name] = function
        return function

    return register


@effect("total_as_string")
def _(pair: Pair) -> None:
    faithful, deviating = pair.get("/v1/jobs")
    assert faithful.json()["total"] == SAMPLE_TOTAL
    assert deviating.json()["total"] == str(SAMPLE_TOTAL)


@effect("progress_as_percentage")
def _(pair: Pair) -> None:
    faithful, deviating = pair.get(f"/v1/jobs/{SAMPLE_PROCESSING_JOB_ID}")
    progress = faithful.json()["progress"]
    assert progress["total"] == 5
    assert deviating.json()["progress"] == round(
        100 * progress["current"] / progress["total"]
    )


@effect("job_without_created_at")
def _(pair: Pair) -> None:
    faithful, deviating = pair.get(f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID}")
    assert "created_at" in faithful.json()
    assert "created_at" not in deviating.json()
    assert deviating.json()["id"] == SAMPLE_FILL_PDF_JOB_ID
    _, listed = pair.get("/v1/jobs")
    assert not any("created_at" in job for job in listed.json()["jobs"])


@effect("null_error_message")
def _(pair: Pair) -> None:
    faithful, deviating = pair.get(f"/v1/jobs/{SAMPLE_FAILED_JOB_ID}")
    assert faithful.json()["error"]["message"] == "The PDF has no fillable form fields"
    assert deviating.json()["error"] == {"code": "no_form_fields", "message": None}


@effect("datetime_without_timezone")
def _(pair: Pair) -> None:
    faithful, deviating = pair.get(f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID}")
    stamp = r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d"
    for name in ("created_at", "started_at", "completed_at"):
        assert re.fullmatch(stamp.replace("[T ]", "T") + "Z", faithful.json()[name])
        assert re.fullmatch(stamp.replace("[T ]", " "), deviating.json()[name])


@effect("error_object_body")
def _(pair: Pair) -> None:
    faithful, deviating = pair.get(f"/v1/jobs/{UNKNOWN_JOB_ID}")
    assert faithful.json() == {"detail": "Job not found"}
    assert deviating.status_code == 404
    assert deviating.json() == {
        "error": {"code": "job_not_found", "message": "Job not found"}
    }
    _, no_file = pair.get(f"/v1/jobs/{SAMPLE_EXTRACT_JOB_ID}/download")
    assert no_file.json() == {
        "error": {"code": "no_file", "message": "Job has no downloadable file"}
    }


@effect("unknown_job_answers_400")
def _(pair: Pair) -> None:
    faithful, deviating = pair.get(f"/v1/jobs/{UNKNOWN_JOB_ID}")
    assert faithful.status_code == 404
    assert deviating.status_code == 400
    assert deviating.json() == {"detail": "Unknown job id"}
    _, known = pair.get(f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID}")
    assert known.status_code == 200


@effect("limit_100_server_error")
def _(pair: Pair) -> None:
    faithful, deviating = pair.get("/v1/jobs", limit=100)
    assert faithful.status_code == 200
    assert deviating.status_code == 500
    assert deviating.text == "Internal Server Error"
    _, smaller = pair.get("/v1/jobs", limit=99)
    assert smaller.status_code == 200


@effect("offset_past_end_server_error")
def _(pair: Pair) -> None:
    faithful, deviating = pair.get("/v1/jobs", offset=SAMPLE_TOTAL)
    assert faithful.status_code == 200 and faithful.json()["jobs"] == []
    assert deviating.status_code == 500
    _, last = pair.get("/v1/jobs", offset=SAMPLE_TOTAL - 1)
    assert last.status_code == 200 and len(last.json()["jobs"]) == 1


@effect("malformed_id_not_found")
def _(pair: Pair) -> None:
    for path in ("/v1/jobs/not-a-uuid", "/v1/jobs/not-a-uuid/download"):
        faithful, deviating = pair.get(path)
        assert faithful.status_code == 422
        assert deviating.status_code == 404
        assert deviating.json() == {"detail": "Job not found"}
    _, bad_limit = pair.get("/v1/jobs", limit=0)
    assert bad_limit.status_code == 422


@effect("json_as_text_plain")
def _(pair: Pair) -> None:
    faithful, deviating = pair.get("/v1/jobs")
    assert faithful.headers["content-type"] == "application/json"
    assert deviating.headers["content-type"] == "text/plain; charset=utf-8"
    assert deviating.json()["total"] == SAMPLE_TOTAL


@effect("download_without_content_type")
def _(pair: Pair) -> None:
    faithful, deviating = pair.get(f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID}/download")
    assert faithful.headers["content-type"] == PDF
    assert deviating.status_code == 200 and "content-type" not in deviating.headers
    assert deviating.content == faithful.content


@effect("download_without_content_disposition")
def _(pair: Pair) -> None:
    faithful, deviating = pair.get(f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID}/download")
    assert faithful.headers["content-disposition"].startswith("attachment;")
    assert "content-disposition" not in deviating.headers
    assert deviating.headers["content-type"] == PDF


@effect("json_download")
def _(pair: Pair) -> None:
    faithful, deviating = pair.get(f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID}/download")
    assert faithful.content.startswith(b"%PDF-")
    assert deviating.status_code == 200
    assert deviating.headers["content-type"] == "application/json"
    assert deviating.json() == {
        "url": f"/files/{SAMPLE_FILL_PDF_JOB_ID}",
        "size": len(faithful.content),
    }


@effect("rate_limit_without_retry_after")
def _(pair: Pair) -> None:
    answers = [pair.get("/v1/jobs", limit=1) for _ in range(50)]
    assert all(faithful.status_code == 200 for faithful, _ in answers)
    assert [deviating.status_code for _, deviating in answers] == [200] * 49 + [429]
    limited = answers[-1][1]
    assert limited.json() == {"detail": "Rate limit exceeded", "code": "rate_limited"}
    assert "retry-after" not in limited.headers


@effect("www_authenticate_basic")
def _(pair: Pair) -> None:
    faithful, deviating = pair.get("/v1/jobs", auth="none")
    assert faithful.headers["www-authenticate"] == "Bearer"
    assert deviating.status_code == 401
    assert deviating.headers["www-authenticate"] == 'Basic realm="api"'


@effect("no_key_accepted")
def _(pair: Pair) -> None:
    faithful, deviating = pair.get("/v1/jobs", auth="none")
    assert faithful.status_code == 401
    assert deviating.status_code == 200
    assert deviating.json()["total"] == SAMPLE_TOTAL
    _, malformed = pair.get("/v1/jobs", auth="malformed")
    assert malformed.status_code == 401


@effect("missing_key_answers_403")
def _(pair: Pair) -> None:
    faithful, deviating = pair.get(f"/v1/jobs/{UNKNOWN_JOB_ID}", auth="none")
    assert faithful.status_code == 401
    assert deviating.status_code == 403
    assert "www-authenticate" not in deviating.headers
    _, malformed = pair.get(f"/v1/jobs/{UNKNOWN_JOB_ID}", auth="malformed")
    assert malformed.status_code == 401


@effect("has_more_always_false")
def _(pair: Pair) -> None:
    faithful, deviating = pair.get("/v1/jobs", limit=20)
    assert faithful.json()["has_more"] is True
    assert deviating.json()["has_more"] is False
    assert _ids(deviating) == _ids(faithful)


@effect("total_counts_page")
def _(pair: Pair) -> None:
    faithful, deviating = pair.get("/v1/jobs", limit=20)
    assert faithful.json()["total"] == SAMPLE_TOTAL
    assert deviating.json()["total"] == 20
    assert deviating.json()["has_more"] is True


@effect("oldest_first")
def _(pair: Pair) -> None:
    faithful, deviating = pair.get("/v1/jobs", limit=5)
    assert _ids(deviating) == _ids(faithful)[::-1]


@effect("type_filter_ignored")
def _(pair: Pair) -> None:
    faithful, deviating = pair.get("/v1/jobs", type="extract", limit=100)
    assert {job["type"] for job in faithful.json()["jobs"]} == {"extract"}
    assert deviating.json()["total"] == SAMPLE_TOTAL
    assert {job["type"] for job in deviating.json()["jobs"]} == {
        "extract",
        "fill_pdf",
        "fill_excel",
    }


@effect("unknown_status_accepted")
def _(pair: Pair) -> None:
    faithful, deviating = pair.get("/v1/jobs", status="archived")
    assert faithful.status_code == 422
    assert deviating.status_code == 200
    assert deviating.json()["total"] == SAMPLE_TOTAL
    known_faithful, known_deviating = pair.get("/v1/jobs", status="failed")
    assert known_deviating.json()["total"] == known_faithful.json()["total"] < 10
    assert _ids(known_deviating) == _ids(known_faithful)


@effect("pages_overlap")
def _(pair: Pair) -> None:
    earlier, _ = pair.get("/v1/jobs", limit=3, offset=2)
    faithful, deviating = pair.get("/v1/jobs", limit=3, offset=3)
    assert _ids(deviating) == _ids(earlier)
    assert _ids(deviating)[0] != _ids(faithful)[0]
    first_faithful, first_deviating = pair.get("/v1/jobs", limit=3)
    assert _ids(first_deviating) == _ids(first_faithful)


@effect("pages_skip")
def _(pair: Pair) -> None:
    later, _ = pair.get("/v1/jobs", limit=3, offset=4)
    faithful, deviating = pair.get("/v1/jobs", limit=3, offset=3)
    assert _ids(deviating) == _ids(later)
    assert _ids(faithful)[0] not in _ids(deviating)


@pytest.mark.parametrize("name", sorted(KNOWN_DEVIATIONS))
def test_deviation_changes_what_the_server_sends(name: str, faithful: LocalAPI) -> None:
    assert name in EFFECTS, f"deviation {name!r} has no test of what it changes"
    with _pair(faithful, name) as pair:
        EFFECTS[name](pair)
