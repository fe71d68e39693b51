"""The control surface: the handle, the /_local/ routes, LocalAPIControl, deviations."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import httpx
import pytest
from qomplement_local_api import (
    SAMPLE_FILL_PDF_JOB_ID,
    Exchange,
    Fault,
    LocalAPI,
    LocalAPIControl,
    LocalAPIControlError,
    ManualClock,
    serve,
)

SAMPLE_TOTAL = 45


@pytest.fixture
def control(api: LocalAPI) -> Iterator[LocalAPIControl]:
    with LocalAPIControl(api.base_url) as steering:
        yield steering


def test_info_tells_a_remote_client_the_keys_and_clock(
    api: LocalAPI, control: LocalAPIControl
) -> None:
    info = control.info()

    assert info["base_url"] == api.base_url
    assert control.api_key == api.api_key
    assert control.revoked_key == api.revoked_key
    assert info["clock"] == "manual"
    assert info["now"] == 1_000.0
    assert info["sample_data"] is True


def test_jobs_created_over_http_advance_with_the_remote_clock(
    control: LocalAPIControl, client: httpx.Client
) -> None:
    job_id = control.create_job(type="fill_excel", duration=5.0, progress_steps=2)

    before = client.get(f"/v1/jobs/{job_id}").json()
    now = control.advance_clock(6.0)
    after = client.get(f"/v1/jobs/{job_id}").json()

    assert before["status"] == "processing"
    assert before["progress"]["total"] == 2
    assert now == 1_006.0
    assert after["status"] == "completed"
    assert client.get(f"/v1/jobs/{job_id}/download").status_code == 200


def test_jobs_can_belong_to_a_key_made_over_http(control: LocalAPIControl) -> None:
    key = control.new_key()
    job_id = control.create_job(type="extract", key=key)

    listing = httpx.get(
        f"{control.base_url}/v1/jobs", headers={"Authorization": f"Bearer {key}"}
    ).json()

    assert [job["id"] for job in listing["jobs"]] == [job_id]


def test_faults_over_http_are_queued_listed_applied_and_cleared(
    control: LocalAPIControl, client: httpx.Client
) -> None:
    control.inject(Fault("status", path="/v1/jobs", times=3, status=504))

    queued = control.faults()
    first = client.get("/v1/jobs")
    control.clear_faults()
    second = client.get("/v1/jobs")

    assert queued == [
        {
            "kind": "status",
            "path": "/v1/jobs",
            "times": 3,
            "status": 504,
            "retry_after": None,
            "delay": 0.0,
            "after_bytes": None,
            "left": 3,
        }
    ]
    assert first.status_code == 504
    assert second.status_code == 200
    assert control.faults() == []


def test_rate_limit_and_stats_over_http(
    control: LocalAPIControl, client: httpx.Client
) -> None:
    control.set_rate_limit(2, burst=1)

    statuses = [client.get("/v1/jobs").status_code for _ in range(2)]
    client.get(f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID}")
    stats = control.stats()

    assert statuses == [200, 429]
    assert stats == {
        "requests": 3,
        "by_path": {"/v1/jobs": 2, f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID}": 1},
        "status_counts": {"200": 1, "429": 2},
        "429": 2,
        "faults": {},
    }


def test_reset_drops_created_jobs_keys_faults_limits_and_counts(
    api: LocalAPI, control: LocalAPIControl, client: httpx.Client
) -> None:
    job_id = control.create_job(type="extract")
    key = control.new_key()
    control.inject(Fault("status", status=500))
    control.set_rate_limit(1, burst=1)
    client.get("/v1/jobs")

    control.reset()

    listing = client.get("/v1/jobs").json()
    assert listing["total"] == SAMPLE_TOTAL
    assert client.get(f"/v1/jobs/{job_id}").status_code == 404
    assert control.faults() == []
    assert [client.get("/v1/jobs").status_code for _ in range(3)] == [200] * 3
    assert api.stats()["requests"] == 5
    refused = httpx.get(
        f"{api.base_url}/v1/jobs", headers={"Authorization": f"Bearer {key}"}
    )
    assert refused.status_code == 401


def test_control_requests_are_not_counted(
    api: LocalAPI, control: LocalAPIControl
) -> None:
    control.info()
    control.stats()

    assert api.stats()["requests"] == 0


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/_local/jobs", {"outcome": "maybe"}, 400),
        ("POST", "/_local/jobs", {"duration": -1}, 400),
        ("POST", "/_local/jobs", {"colour": "blue"}, 422),
        ("POST", "/_local/jobs", {"key": "sd_" + "0" * 48}, 400),
        ("POST", "/_local/jobs", {"duration": 1e300}, 400),
        ("POST", "/_local/jobs", {"job_id": "not-a-uuid"}, 400),
        ("POST", "/_local/jobs", {"type": "extract", "file_size": 10_000}, 400),
        ("POST", "/_local/faults", {"kind": "explode"}, 400),
        ("POST", "/_local/faults", {"kind": "status", "colour": 1}, 400),
        ("POST", "/_local/faults", {"kind": "status", "path": 5}, 400),
        ("POST", "/_local/faults", {"kind": "status", "status": "503"}, 400),
        ("POST", "/_local/faults", {"kind": "latency", "delay": "1"}, 400),
        ("POST", "/_local/faults", {"kind": "stall", "after_bytes": 1.5}, 400),
        ("PUT", "/_local/rate-limit", {"rps": 0}, 400),
        ("POST", "/_local/clock/advance", {"seconds": -1}, 400),
        ("POST", "/_local/clock/advance", {}, 422),
    ],
)
def test_control_routes_refuse_what_they_cannot_do(
    api: LocalAPI, method: str, path: str, body: dict[str, object], status: int
) -> None:
    response = httpx.request(method, api.base_url + path, json=body)

    assert response.status_code == status
    assert "detail" in response.json()


def test_a_clock_moved_beyond_any_date_answers_without_5xx(
    api: LocalAPI, client: httpx.Client, control: LocalAPIControl
) -> None:
    control.advance_clock(1e15)

    listing = client.get("/v1/jobs", params={"limit": 100})
    with pytest.raises(LocalAPIControlError) as caught:
        control.create_job()

    assert listing.status_code == 200
    assert {job["status"] for job in listing.json()["jobs"]} <= {"completed", "failed"}
    assert caught.value.status == 400


def test_control_client_raises_with_the_servers_reason(
    control: LocalAPIControl,
) -> None:
    with pytest.raises(LocalAPIControlError, match="outcome must be") as caught:
        control.create_job(outcome="maybe")

    assert caught.value.status == 400


def test_advancing_a_monotonic_clock_is_refused() -> None:
    with serve(sample_data=False) as api, LocalAPIControl(api.base_url) as control:
        with pytest.raises(LocalAPIControlError) as caught:
            control.advance_clock(1.0)
        info = control.info()

    assert caught.value.status == 409
    assert info["clock"] == "monotonic"
    assert info["sample_data"] is False


def test_server_without_sample_data_lists_nothing() -> None:
    with serve(sample_data=False) as api:
        listing = httpx.get(
            f"{api.base_url}/v1/jobs",
            headers={"Authorization": f"Bearer {api.api_key}"},
        ).json()

    assert listing == {"jobs": [], "total": 0, "has_more": False}


def test_serve_refuses_hosts_that_are_not_loopback() -> None:
    with pytest.raises(ValueError, match="not a loopback address"):
        serve(host="0.0.0.0")


def test_serve_uses_a_given_key_and_refuses_a_malformed_one() -> None:
    key = "sd_" + "ab" * 24
    with serve(api_key=key, sample_data=False) as api:
        assert api.api_key == key
    with pytest.raises(ValueError, match="api_key"):
        serve(api_key="sd_short")


def test_docs_and_openapi_routes_are_off(api: LocalAPI) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert httpx.get(api.base_url + path).status_code == 404


def test_handle_stops_serving_when_the_block_ends() -> None:
    with serve(sample_data=False) as api:
        assert api.running
        base_url = api.base_url

    assert not api.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/v1/jobs")


@dataclass
class TeapotJobs:
    """Answers single-job requests with 418; marks streamed answers with a header."""

    name: str = "teapot_jobs"

    def rewrite(self, exchange: Exchange) -> Exchange:
        if exchange.body is None:
            return replace(exchange, headers=[*exchange.headers, (b"x-streamed", b"1")])
        if exchange.path.count("/") != 3:
            return exchange
        return replace(exchange, status=418, body=b'{"detail":"I am a teapot"}')


def test_deviation_rewrites_answers_on_their_way_out() -> None:
    clock = ManualClock()
    with serve(clock=clock, deviations=["total_as_string", TeapotJobs()]) as api:
        big = api.create_job(type="fill_pdf", duration=1.0, file_size=2_000_000)
        clock.advance(1.0)
        headers = {"Authorization": f"Bearer {api.api_key}"}
        with httpx.Client(base_url=api.base_url, headers=headers) as client:
            job = client.get(f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID}")
            listing = client.get("/v1/jobs")
            small = client.get(f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID}/download")
            large = client.get(f"/v1/jobs/{big}/download")
        names = api.deviations

    assert names == ("total_as_string", "teapot_jobs")
    assert job.status_code == 418
    assert job.json() == {"detail": "I am a teapot"}
    assert job.headers["content-length"] == str(len(job.content))
    assert listing.status_code == 200 and isinstance(listing.json()["total"], str)
    assert small.status_code == 200 and "x-streamed" not in small.headers
    assert large.status_code == 200 and large.headers["x-streamed"] == "1"
    assert len(large.content) == 2_000_000
