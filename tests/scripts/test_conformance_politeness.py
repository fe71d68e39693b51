"""How the contract suite treats its target: pacing, 429s, GET only, no key shown.

The pacing and the ``Retry-After`` waits run on an injected clock, so nothing
here sleeps for real: the local API's rate limiter and the suite's pacer share
one ``ManualClock``, and the pacer's "sleep" advances it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
for folder in ("", "generated", "local_api", "wrapper"):
    if str(ROOT / folder) not in sys.path:
        sys.path.append(str(ROOT / folder))

from qomplement_local_api import ManualClock, serve  # noqa: E402
from qomplement_local_api.deviations import Exchange  # noqa: E402

from contract_tests._results import curl_line  # noqa: E402
from contract_tests._spec import load_schema, schemathesis_config  # noqa: E402
from contract_tests._target import (  # noqa: E402
    MAX_RATE_LIMIT_RETRIES,
    MAX_RETRY_AFTER_SECONDS,
    Pacer,
    PacerLimiter,
    Target,
    TargetConfigError,
    max_examples_from_env,
    remote_target_from_env,
    retry_after_seconds,
)

KEY = "sd_" + "0123456789abcdef" * 3


class FakeClock:
    """A monotonic clock whose sleep only moves it forward."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_pacer_spaces_requests_evenly_at_the_rate_cap() -> None:
    """At 4 requests a second, each request waits a quarter second after the last."""
    clock = FakeClock()
    pacer = Pacer(4.0, clock=clock, sleep=clock.sleep)

    sent_at = []
    for _ in range(5):
        pacer.wait()
        sent_at.append(clock.now - 100.0)

    assert sent_at == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_pacer_without_a_cap_never_waits() -> None:
    """The local API is not paced."""
    clock = FakeClock()
    pacer = Pacer(None, clock=clock, sleep=clock.sleep)

    for _ in range(10):
        pacer.wait()

    assert clock.slept == []


def test_pacer_holds_the_next_request_for_the_whole_retry_after() -> None:
    """A server's Retry-After delays the next request, whoever sends it."""
    clock = FakeClock()
    pacer = Pacer(2.0, clock=clock, sleep=clock.sleep)
    pacer.wait()

    pacer.hold(7.0)
    pacer.wait()

    assert clock.now - 100.0 == pytest.approx(7.0)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": ["2"]}, 2.0),
        ({}, 1.0),
        ({"Retry-After": "soon"}, 1.0),
        ({"Retry-After": "-4"}, 0.0),
        ({"Retry-After": "86400"}, MAX_RETRY_AFTER_SECONDS),
    ],
)
def test_retry_after_is_read_bounded_and_defaulted(
    headers: dict[str, Any], seconds: float
) -> None:
    """Retry-After in seconds is honoured, within bounds; without it, one second."""
    assert retry_after_seconds(headers) == seconds


def test_target_redacts_its_key_and_any_bearer_credential() -> None:
    """Neither the key nor another bearer token survives redaction."""
    target = Target(base_url="http://127.0.0.1:1", api_key=KEY, is_local=False)

    text = target.redact(f"key={KEY} Authorization: Bearer other-token")

    assert KEY not in text
    assert "other-token" not in text
    assert KEY not in repr(target)


def test_curl_line_keeps_the_scheme_but_not_the_credential() -> None:
    """A reproduction line shows `Bearer [REDACTED]` and the URL, quoted."""
    line = curl_line(
        "get",
        "http://127.0.0.1:1/v1/jobs?limit=1&offset=0",
        {"Authorization": f"Bearer {KEY}", "Host": "127.0.0.1:1"},
    )

    assert line == (
        "curl -X GET -H 'Authorization: Bearer [REDACTED]' "
        "'http://127.0.0.1:1/v1/jobs?limit=1&offset=0'"
    )


def test_running_service_target_comes_from_the_environment() -> None:
    """Base URL and key make a paced, GET-only target; the rate defaults to 2/s."""
    target = remote_target_from_env(
        {"QOMPLEMENT_BASE_URL": "http://127.0.0.1:8000/", "QOMPLEMENT_API_KEY": KEY}
    )

    assert target is not None
    assert (target.base_url, target.max_rps, target.is_local) == (
        "http://127.0.0.1:8000",
        2.0,
        False,
    )
    assert target.allows_only_get
    assert remote_target_from_env({}) is None


@pytest.mark.parametrize(
    ("environ", "complaint"),
    [
        ({"QOMPLEMENT_BASE_URL": "http://127.0.0.1:8000"}, "QOMPLEMENT_API_KEY"),
        (
            {"QOMPLEMENT_BASE_URL": "127.0.0.1:8000", "QOMPLEMENT_API_KEY": KEY},
            "http(s) URL",
        ),
        (
            {
                "QOMPLEMENT_BASE_URL": "http://127.0.0.1:8000",
                "QOMPLEMENT_API_KEY": KEY,
                "QOMPLEMENT_MAX_RPS": "0",
            },
            "positive number",
        ),
    ],
)
def test_unusable_target_settings_are_refused(
    environ: dict[str, str], complaint: str
) -> None:
    """A target the suite cannot use politely is refused before any request."""
    with pytest.raises(TargetConfigError, match=re.escape(complaint)) as caught:
        remote_target_from_env(environ)

    assert KEY not in str(caught.value)


def test_running_services_get_fewer_examples_by_default() -> None:
    """100 examples per operation for the local API, 20 for a running service."""
    remote = {"QOMPLEMENT_BASE_URL": "http://127.0.0.1:1"}

    assert max_examples_from_env({}) == 100
    assert max_examples_from_env(remote) == 20
    assert max_examples_from_env({"QOMPLEMENT_MAX_EXAMPLES": "7"}) == 7
    with pytest.raises(TargetConfigError):
        max_examples_from_env({"QOMPLEMENT_MAX_EXAMPLES": "-1"})


def test_running_service_config_sends_no_undeclared_methods() -> None:
    """The coverage phase's 405 probes are for the local API only."""
    remote = Target(base_url="http://127.0.0.1:1", api_key=KEY, is_local=False)

    remote_config = schemathesis_config(max_examples=5, target=remote).projects.default
    local_config = schemathesis_config(max_examples=5, target=None).projects.default

    assert remote_config.phases.coverage.unexpected_methods == set()
    assert "delete" in local_config.phases.coverage.unexpected_methods


def test_bound_schema_paces_its_own_requests_with_the_target_pacer() -> None:
    """Schemathesis' probes wait for the same pacer as every other request."""
    clock = FakeClock()
    target = Target(base_url="http://127.0.0.1:1", api_key=KEY, is_local=False)
    target.pacer = Pacer(10.0, clock=clock, sleep=clock.sleep)
    schema = load_schema(schemathesis_config(max_examples=5, target=target))

    target.bind(schema)
    limiter = schema.config.rate_limit
    assert isinstance(limiter, PacerLimiter)
    for _ in range(3):
        assert limiter.try_acquire("127.0.0.1:1")

    assert schema.get_base_url() == "http://127.0.0.1:1"
    assert clock.now - 100.0 == pytest.approx(0.2)


def test_generated_non_get_case_is_never_sent_to_a_running_service() -> None:
    """Even a DELETE that slipped through generation stops before the network."""
    remote = Target(base_url="http://127.0.0.1:1", api_key=KEY, is_local=False)
    schema = load_schema(schemathesis_config(max_examples=5, target=remote))
    case = schema["/v1/jobs/{job_id}"]["GET"].Case(
        method="DELETE",
        path_parameters={"job_id": "550e8400-e29b-41d4-a716-446655440000"},
    )

    with pytest.raises(TargetConfigError, match="refusing to send DELETE"):
        remote.send_case(case)

    assert sum(remote.examples.values()) == 0


@pytest.fixture
def rate_limited_api() -> Iterator[tuple[Any, ManualClock]]:
    """A local API allowing one request a second per key, on a manual clock."""
    clock = ManualClock()
    with serve(clock=clock) as api:
        api.set_rate_limit(rps=1, burst=1)
        yield api, clock


def _target_on(api: Any, clock: ManualClock) -> Target:
    """A running-service target whose waits advance ``clock`` instead of sleeping."""
    target = Target(base_url=api.base_url, api_key=api.api_key, is_local=False)
    target.pacer = Pacer(None, clock=clock.now, sleep=clock.advance)
    return target


def test_explicit_requests_wait_out_each_429_and_then_succeed(
    rate_limited_api: tuple[Any, ManualClock],
) -> None:
    """Three requests in a row under a 1/s limit all end in 200 after waiting."""
    api, clock = rate_limited_api
    target = _target_on(api, clock)
    started = time.monotonic()

    with target.client() as client:
        statuses = [
            client.get(
                "/v1/jobs", operation="GET /v1/jobs", params={"limit": 1}
            ).status_code
            for _ in range(3)
        ]

    assert statuses == [200, 200, 200]
    assert api.stats()["429"] == 2
    assert clock.now() == pytest.approx(2.0)
    assert target.requests["GET /v1/jobs"] == 5
    assert time.monotonic() - started < 5.0


def test_generated_cases_wait_out_each_429_and_then_succeed(
    rate_limited_api: tuple[Any, ManualClock],
) -> None:
    """Schemathesis' requests go through the same 429 handling."""
    api, clock = rate_limited_api
    target = _target_on(api, clock)
    schema = load_schema(schemathesis_config(max_examples=5, target=None))
    operation = schema["/v1/jobs"]["GET"]

    statuses = [
        target.send_case(operation.Case(query={"limit": 1})).status_code
        for _ in range(2)
    ]

    assert statuses == [200, 200]
    assert api.stats()["429"] == 1
    assert target.examples["GET /v1/jobs"] == 3


def test_a_429_that_never_ends_is_given_up_after_the_retry_bound(
    rate_limited_api: tuple[Any, ManualClock],
) -> None:
    """A server that always says 429 gets a bounded number of retries."""
    api, clock = rate_limited_api
    target = Target(base_url=api.base_url, api_key=api.api_key, is_local=False)
    # Waits that do not move the server's clock: the bucket never refills.
    target.pacer = Pacer(None, clock=clock.now, sleep=lambda _: None)

    with target.client() as client:
        client.get("/v1/jobs", operation="GET /v1/jobs")
        last = client.get("/v1/jobs", operation="GET /v1/jobs")

    assert last.status_code == 429
    assert target.requests["GET /v1/jobs"] == 1 + 1 + MAX_RATE_LIMIT_RETRIES


@dataclass
class RequestLog:
    """A pass-through deviation that notes each request's method and arrival."""

    name: str = "request_log"
    methods: Counter[str] = field(default_factory=Counter)
    arrivals: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def rewrite(self, exchange: Exchange) -> Exchange:
        """Record the request; change nothing."""
        with self.lock:
            self.methods[exchange.method.upper()] += 1
            self.arrivals.append(time.monotonic())
        return exchange


def test_main_job_sends_only_paced_get_requests_to_a_running_service(
    tmp_path: Path,
) -> None:
    """Pointed at a service by URL, the whole run is GET only and under the cap."""
    log = RequestLog()
    max_rps = 40
    with serve(deviations=[log]) as api:
        environment = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("QOMPLEMENT_")
        }
        environment |= {
            "QOMPLEMENT_API_KEY": api.api_key,
            "QOMPLEMENT_MAX_RPS": str(max_rps),
        }
        run = subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts" / "conformance.py"),
                "--base-url",
                api.base_url,
                "--max-examples",
                "3",
                "--skip-drift",
                "--results",
                str(tmp_path / "results.json"),
                "--junit",
                str(tmp_path / "junit.xml"),
            ],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )

    assert run.returncode == 0, run.stdout + run.stderr
    assert set(log.methods) == {"GET"}
    arrivals = sorted(log.arrivals)
    busiest = max(
        sum(1 for later in arrivals[i:] if later - start < 1.0)
        for i, start in enumerate(arrivals)
    )
    # Answers are timed when sent back, so a slow answer followed by quick ones
    # can crowd a second by a request or two.
    assert busiest <= max_rps + 3, f"{busiest} requests answered within one second"
