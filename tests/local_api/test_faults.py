"""Injected faults and the rate limit, as an httpx client meets them."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from qomplement_local_api import (
    SAMPLE_FILL_PDF_JOB_ID,
    Fault,
    LocalAPI,
    ManualClock,
)

SchemaCheck = Callable[[Any, str], None]
JOB = f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID}"
DOWNLOAD = f"{JOB}/download"


def raw_get(api: LocalAPI, path: str) -> tuple[bytes, bytes]:
    """GET ``path`` over a bare socket; return the head and every byte after it."""
    address = urlsplit(api.base_url)
    assert address.hostname is not None and address.port is not None
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
        f"Authorization: Bearer {api.api_key}\r\n\r\n"
    )
    data = b""
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(request.encode())
        while chunk := sock.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def test_status_fault_answers_its_status_once(
    api: LocalAPI, client: httpx.Client, check_schema: SchemaCheck
) -> None:
    api.inject(Fault("status", path="/v1/jobs", status=503, retry_after=2))

    faulty = client.get("/v1/jobs")
    healthy = client.get("/v1/jobs")

    assert faulty.status_code == 503
    assert faulty.headers["retry-after"] == "2"
    assert faulty.json() == {"detail": "Service Unavailable"}
    check_schema(faulty.json(), "ErrorResponse")
    assert healthy.status_code == 200


def test_fault_applies_to_times_matching_requests_only(
    api: LocalAPI, client: httpx.Client
) -> None:
    api.inject(Fault("status", path="/v1/jobs/*/download", times=2, status=502))

    statuses = [
        client.get(JOB).status_code,
        client.get(DOWNLOAD).status_code,
        client.get("/v1/jobs").status_code,
        client.get(DOWNLOAD).status_code,
        client.get(DOWNLOAD).status_code,
    ]

    assert statuses == [200, 502, 200, 502, 200]
    assert api.faults() == []


def test_status_fault_bodies_for_429_and_an_unnamed_status(
    api: LocalAPI, client: httpx.Client
) -> None:
    api.inject(Fault("status", status=429, retry_after=7))
    api.inject(Fault("status", status=520))

    limited = client.get(JOB)
    unnamed = client.get(JOB)

    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "7"
    assert limited.json() == {"detail": "Rate limit exceeded", "code": "rate_limited"}
    assert unnamed.status_code == 520
    assert unnamed.json() == {"detail": "Unknown Error"}
    assert "retry-after" not in unnamed.headers


@pytest.mark.parametrize("status", [204, 304])
def test_status_fault_without_a_body_sends_none(
    api: LocalAPI, client: httpx.Client, status: int
) -> None:
    api.inject(Fault("status", status=status))

    response = client.get(JOB)

    assert response.status_code == status
    assert response.content == b""
    assert client.get(JOB).status_code == 200


def test_latency_fault_delays_a_normal_answer(
    api: LocalAPI, client: httpx.Client
) -> None:
    api.inject(Fault("latency", delay=0.3))

    started = time.monotonic()
    response = client.get(JOB)
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert response.json()["id"] == SAMPLE_FILL_PDF_JOB_ID
    assert 0.3 <= elapsed < 3.0


def test_reset_fault_drops_the_connection_without_an_answer(
    api: LocalAPI, client: httpx.Client
) -> None:
    api.inject(Fault("reset", path="/v1/jobs"))

    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        client.get("/v1/jobs")
    after = client.get("/v1/jobs")

    assert after.status_code == 200
    assert api.stats()["faults"] == {"reset": 1}


def test_malformed_json_fault_sends_a_body_that_does_not_parse(
    api: LocalAPI, client: httpx.Client
) -> None:
    api.inject(Fault("malformed_json"))

    response = client.get(JOB)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_truncate_fault_closes_after_part_of_the_declared_body(
    api: LocalAPI, client: httpx.Client, clock: ManualClock
) -> None:
    job_id = api.create_job(type="fill_pdf", duration=1.0, file_size=200_000)
    clock.advance(1.0)
    api.inject(Fault("truncate", path="/v1/jobs/*/download", after_bytes=1000))

    received = 0
    with (
        pytest.raises(httpx.RemoteProtocolError, match=r"received 1000 bytes"),
        client.stream("GET", f"/v1/jobs/{job_id}/download") as response,
    ):
        assert response.headers["content-length"] == "200000"
        for chunk in response.iter_raw():
            received += len(chunk)

    assert received == 1000
    assert client.get(f"/v1/jobs/{job_id}/download").content.startswith(b"%PDF-")


def test_truncate_fault_cuts_a_json_answer_in_half_by_default(
    api: LocalAPI, client: httpx.Client
) -> None:
    length = len(client.get(JOB).content)
    api.inject(Fault("truncate"))

    with pytest.raises(httpx.RemoteProtocolError) as caught:
        client.get(JOB)

    assert f"received {length // 2} bytes, expected {length}" in str(caught.value)


def test_overlong_fault_sends_bytes_beyond_the_content_length(
    api: LocalAPI, client: httpx.Client
) -> None:
    expected = client.get(JOB).content
    api.inject(Fault("overlong"))
    api.inject(Fault("overlong", after_bytes=5))

    response = client.get(JOB)
    head, rest = raw_get(api, JOB)

    # The client reads exactly Content-Length bytes and keeps working.
    assert response.status_code == 200
    assert response.content == expected
    assert client.get(JOB).status_code == 200
    # On the wire the body runs past its declared length.
    assert f"content-length: {len(expected)}".encode() in head.lower()
    assert rest == expected + b"overl"


def test_stall_fault_stops_sending_after_some_bytes(
    api: LocalAPI, client: httpx.Client
) -> None:
    api.inject(Fault("stall", after_bytes=10, delay=0.8))

    received = b""
    timeout = httpx.Timeout(5.0, read=0.2)
    with (
        pytest.raises(httpx.ReadTimeout),
        client.stream("GET", JOB, timeout=timeout) as response,
    ):
        assert response.status_code == 200
        for chunk in response.iter_raw():
            received += chunk

    assert received == b'{"id":"550'


def test_stall_fault_closes_the_connection_after_the_delay(
    api: LocalAPI, client: httpx.Client
) -> None:
    api.inject(Fault("stall", delay=0.3))

    started = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError, match="received 0 bytes"):
        client.get(JOB)

    assert 0.3 <= time.monotonic() - started < 3.0


def test_faults_leave_the_control_routes_alone(api: LocalAPI) -> None:
    api.inject(Fault("status", path="*", status=500))

    response = httpx.get(f"{api.base_url}/_local/stats")

    assert response.status_code == 200
    assert len(api.faults()) == 1


@pytest.mark.parametrize(
    "arguments",
    [
        {"kind": "explode"},
        {"kind": "status", "status": 99},
        {"kind": "status", "status": 600},
        {"kind": "latency", "delay": -1.0},
        {"kind": "reset", "times": 0},
        {"kind": "truncate", "after_bytes": -1},
    ],
)
def test_impossible_faults_are_refused(arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Fault(**arguments)


def test_rate_limit_answers_429_until_the_bucket_refills(
    api: LocalAPI, client: httpx.Client, clock: ManualClock, check_schema: SchemaCheck
) -> None:
    api.set_rate_limit(rps=1, burst=2)

    first = [client.get("/v1/jobs").status_code for _ in range(2)]
    limited = client.get(JOB)
    clock.advance(1.0)
    refilled = client.get(JOB)

    assert first == [200, 200]
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert limited.json() == {"detail": "Rate limit exceeded", "code": "rate_limited"}
    check_schema(limited.json(), "ErrorResponse")
    assert refilled.status_code == 200
    assert api.stats()["429"] == 1


def test_rate_limit_is_kept_per_key(api: LocalAPI, client: httpx.Client) -> None:
    other = api.new_key()
    api.set_rate_limit(rps=1, burst=1)

    mine = [client.get("/v1/jobs").status_code for _ in range(2)]
    theirs = httpx.get(
        f"{api.base_url}/v1/jobs", headers={"Authorization": f"Bearer {other}"}
    )

    assert mine == [200, 429]
    assert theirs.status_code == 200


def test_retry_after_is_the_wait_in_whole_seconds(
    api: LocalAPI, client: httpx.Client, clock: ManualClock
) -> None:
    api.set_rate_limit(rps=0.25, burst=1)

    client.get("/v1/jobs")
    first = client.get("/v1/jobs")
    clock.advance(2.5)
    second = client.get("/v1/jobs")
    clock.advance(1.5)
    third = client.get("/v1/jobs")

    assert first.headers["retry-after"] == "4"
    assert second.headers["retry-after"] == "2"
    assert third.status_code == 200


def test_rate_limit_can_be_turned_off(api: LocalAPI, client: httpx.Client) -> None:
    api.set_rate_limit(rps=1, burst=1)
    client.get("/v1/jobs")
    api.set_rate_limit(None)

    statuses = {client.get("/v1/jobs").status_code for _ in range(5)}

    assert statuses == {200}
