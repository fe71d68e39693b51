"""What the main job checks before the suite sends anything: transport, key, target.

A key never goes over plain http to another machine unless the user says the
network is trusted, and that refusal comes before any socket is opened: the
runs that show it are made where no socket can be opened at all (an audit
hook refuses every one, inside an empty network namespace when ``unshare``
allows). A key the target refuses ends the run after one request. Everything
else here talks only to a local API on loopback, and no test sleeps: the
preflight's ``Retry-After`` waits run on an injected clock.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "conformance.py"
RUN_TIMEOUT_SECONDS = 60
WRONG_KEY = "sd_" + "ab" * 24

for folder in ("", "generated", "local_api", "wrapper"):
    if str(ROOT / folder) not in sys.path:
        sys.path.append(str(ROOT / folder))

from qomplement_local_api import Fault, serve  # noqa: E402

from contract_tests._target import (  # noqa: E402
    MAX_RATE_LIMIT_RETRIES,
    MAX_RETRY_AFTER_SECONDS,
    Pacer,
    Target,
    TargetConfigError,
    remote_target_from_env,
)

# Run as the script's `__main__`, with every socket refused and reported on
# stderr, so a run that tried to reach the network says so and gets nowhere.
_NO_SOCKETS = """
import runpy, sys

def refuse_sockets(event, args):
    if event.startswith("socket.") and event != "socket.sethostname":
        sys.stderr.write(f"SOCKET ATTEMPTED: {event}\\n")
        raise PermissionError(f"{event} refused: this run must not use the network")

sys.addaudithook(refuse_sockets)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _load_main_job() -> ModuleType:
    """Import scripts/conformance.py as a module."""
    spec = importlib.util.spec_from_file_location("conformance_main_job", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Dataclasses look their module up here while the class is built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


main_job = _load_main_job()


@functools.cache
def _isolating_prefix() -> tuple[str, ...]:
    """``unshare -n`` (a network namespace with nothing in it) where it works."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    for prefix in ((unshare, "-n"), (unshare, "-rn")):
        probe = subprocess.run(
            [*prefix, "true"], capture_output=True, timeout=10, check=False
        )
        if probe.returncode == 0:
            return prefix
    return ()


@dataclass
class Outcome:
    """What one run of the main job printed."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def said(self) -> str:
        """Everything printed, with line wrapping undone."""
        return " ".join((self.stdout + self.stderr).split())


def _clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The test's environment without any QOMPLEMENT_ setting, plus ``extra``."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("QOMPLEMENT_")
    }
    environment.update(extra)
    return environment


def run_offline(*args: str, env: Mapping[str, str]) -> Outcome:
    """Run the main job where it cannot open a single socket."""
    completed = subprocess.run(
        [*_isolating_prefix(), sys.executable, "-c", _NO_SOCKETS, str(SCRIPT), *args],
        cwd=ROOT,
        env=_clean_environment(env),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )
    return Outcome(completed.returncode, completed.stdout, completed.stderr)


def run_main_job(*args: str, env: Mapping[str, str]) -> Outcome:
    """Run the main job as a user runs it."""
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=ROOT,
        env=_clean_environment(env),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )
    return Outcome(completed.returncode, completed.stdout, completed.stderr)


# Plain http to the main job ----------------------------------------------------


def test_offline_harness_reports_a_socket_the_run_tries_to_open() -> None:
    """The harness itself works: a run that must connect is stopped and named."""
    outcome = run_offline(
        "--base-url", "http://127.0.0.1:9", env={"QOMPLEMENT_API_KEY": WRONG_KEY}
    )

    assert outcome.returncode == 2
    assert "SOCKET ATTEMPTED" in outcome.stderr


@pytest.mark.parametrize(
    "base_url", ["http://10.255.255.1:8000", "http://staging.example.com"]
)
def test_main_job_refuses_plain_http_to_another_machine_before_connecting(
    base_url: str,
) -> None:
    """``--base-url http://<not loopback>`` exits 2 without opening a socket."""
    outcome = run_offline("--base-url", base_url, env={"QOMPLEMENT_API_KEY": WRONG_KEY})

    assert outcome.returncode == 2, outcome.said
    assert "SOCKET ATTEMPTED" not in outcome.stderr
    host = base_url.removeprefix("http://").split(":")[0]
    assert f"refusing to send the key over plain http:// to {host}" in outcome.said
    assert "--allow-insecure-http" in outcome.said
    assert "QOMPLEMENT_ALLOW_INSECURE_HTTP=1" in outcome.said
    assert WRONG_KEY not in outcome.said


def test_main_job_refuses_plain_http_named_by_the_variable_before_connecting() -> None:
    """``QOMPLEMENT_BASE_URL`` gets the same refusal as ``--base-url``."""
    outcome = run_offline(
        env={
            "QOMPLEMENT_BASE_URL": "http://10.255.255.1:8000",
            "QOMPLEMENT_API_KEY": WRONG_KEY,
        }
    )

    assert outcome.returncode == 2, outcome.said
    assert "SOCKET ATTEMPTED" not in outcome.stderr
    assert "refusing to send the key over plain http:// to 10.255.255.1" in (
        outcome.said
    )


@pytest.mark.parametrize(
    "base_url",
    [
        "http://10.255.255.1:8000",
        "http://staging.example.com",
        "http://127.0.0.1.example.com",
        "http://localhost.example.com:8000",
        "http://[2001:db8::1]:8000",
    ],
)
def test_plain_http_to_a_host_that_is_not_loopback_is_refused(base_url: str) -> None:
    """Names that only look local are not loopback."""
    environ = {"QOMPLEMENT_BASE_URL": base_url, "QOMPLEMENT_API_KEY": WRONG_KEY}

    with pytest.raises(TargetConfigError, match="over plain http://"):
        remote_target_from_env(environ)


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8000",
        "http://127.8.9.10:8000",
        "http://localhost:8000",
        "http://api.localhost:8000",
        "http://[::1]:8000",
        "https://staging.example.com",
    ],
)
def test_loopback_http_and_any_https_are_accepted(base_url: str) -> None:
    """The key may go over http on this machine, and over https anywhere."""
    environ = {"QOMPLEMENT_BASE_URL": base_url, "QOMPLEMENT_API_KEY": WRONG_KEY}

    target = remote_target_from_env(environ)

    assert target is not None
    assert target.base_url == base_url


@pytest.mark.parametrize("value", ["1", "true", "YES"])
def test_insecure_http_variable_allows_another_machine(value: str) -> None:
    """``QOMPLEMENT_ALLOW_INSECURE_HTTP`` says the network is trusted."""
    environ = {
        "QOMPLEMENT_BASE_URL": "http://10.255.255.1:8000",
        "QOMPLEMENT_API_KEY": WRONG_KEY,
        "QOMPLEMENT_ALLOW_INSECURE_HTTP": value,
    }

    target = remote_target_from_env(environ)

    assert target is not None
    assert target.base_url == "http://10.255.255.1:8000"


@pytest.mark.parametrize(
    ("value", "message"),
    [("0", "over plain http://"), ("maybe", "QOMPLEMENT_ALLOW_INSECURE_HTTP must be")],
)
def test_insecure_http_variable_refuses_a_no_or_a_value_it_cannot_read(
    value: str, message: str
) -> None:
    """Only a clear yes lets the key travel unencrypted."""
    environ = {
        "QOMPLEMENT_BASE_URL": "http://10.255.255.1:8000",
        "QOMPLEMENT_API_KEY": WRONG_KEY,
        "QOMPLEMENT_ALLOW_INSECURE_HTTP": value,
    }

    with pytest.raises(TargetConfigError, match=message):
        remote_target_from_env(environ)


def test_allow_insecure_http_flag_passes_the_permission_to_the_suite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--allow-insecure-http`` accepts the URL and sets the variable for pytest."""
    for name in list(os.environ):
        if name.startswith("QOMPLEMENT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("QOMPLEMENT_API_KEY", WRONG_KEY)
    args = main_job._parser().parse_args(
        ["--base-url", "http://10.255.255.1:8000", "--allow-insecure-http"]
    )

    env = main_job._environment(args)

    assert env["QOMPLEMENT_BASE_URL"] == "http://10.255.255.1:8000"
    assert env["QOMPLEMENT_ALLOW_INSECURE_HTTP"] == "1"
    assert remote_target_from_env(env) is not None


# A missing key -------------------------------------------------------------------


def test_missing_key_message_names_the_base_url_flag() -> None:
    """With ``--base-url`` and no key, the message names ``--base-url``."""
    outcome = run_offline("--base-url", "http://127.0.0.1:9", env={})

    assert outcome.returncode == 2
    assert "SOCKET ATTEMPTED" not in outcome.stderr
    assert (
        "--base-url names a running service but QOMPLEMENT_API_KEY is not set"
        in outcome.said
    )
    assert "QOMPLEMENT_BASE_URL" not in outcome.said


def test_missing_key_message_names_the_base_url_variable() -> None:
    """With ``QOMPLEMENT_BASE_URL`` and no key, the message names the variable."""
    outcome = run_offline(env={"QOMPLEMENT_BASE_URL": "http://127.0.0.1:9"})

    assert outcome.returncode == 2
    assert (
        "QOMPLEMENT_BASE_URL names a running service but QOMPLEMENT_API_KEY is not "
        "set" in outcome.said
    )


# A refused key ------------------------------------------------------------------


@pytest.fixture
def local_api() -> Iterator[Any]:
    """The local API on loopback, stopped after the test."""
    with serve() as api:
        yield api


@pytest.mark.parametrize(
    ("which_key", "refusal"),
    [
        ("wrong", "the target refused the key (401 Could not validate credentials)"),
        ("revoked", "the target refused the key (403 API key has been revoked)"),
    ],
)
def test_main_job_stops_after_one_request_when_the_key_is_refused(
    local_api: Any, which_key: str, refusal: str
) -> None:
    """A 401 or 403 at the preflight exits 2 at once, without printing the key."""
    key = WRONG_KEY if which_key == "wrong" else local_api.revoked_key

    outcome = run_main_job(
        "--base-url", local_api.base_url, env={"QOMPLEMENT_API_KEY": key}
    )

    assert outcome.returncode == 2, outcome.said
    assert refusal in outcome.said
    assert "DEVIATES" not in outcome.said
    assert key not in outcome.said
    stats = local_api.stats()
    assert stats["requests"] == 1
    assert stats["by_path"] == {"/v1/jobs": 1}


def _target_on(api: Any, sleeps: list[float]) -> Target:
    """A running-service target whose waits are recorded instead of slept."""
    now = [0.0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    target = Target(base_url=api.base_url, api_key=api.api_key, is_local=False)
    target.pacer = Pacer(None, clock=lambda: now[0], sleep=sleep)
    return target


def test_preflight_waits_out_a_429_and_goes_on(local_api: Any) -> None:
    """A 429 at the preflight is retried after its Retry-After, then accepted."""
    local_api.inject(Fault("status", path="/v1/jobs", status=429, retry_after=7))
    sleeps: list[float] = []

    main_job._reach(_target_on(local_api, sleeps))

    assert sleeps == [7.0]
    assert local_api.stats()["status_counts"] == {"429": 1, "200": 1}


def test_preflight_gives_up_waiting_after_the_bounded_retries(local_api: Any) -> None:
    """An endless 429 is waited out a bounded number of times, then left alone."""
    local_api.inject(
        Fault(
            "status",
            path="/v1/jobs",
            status=429,
            retry_after=3600,
            times=MAX_RATE_LIMIT_RETRIES + 1,
        )
    )
    sleeps: list[float] = []

    main_job._reach(_target_on(local_api, sleeps))

    assert sleeps == [MAX_RETRY_AFTER_SECONDS] * MAX_RATE_LIMIT_RETRIES
    assert local_api.stats()["requests"] == MAX_RATE_LIMIT_RETRIES + 1


@pytest.mark.parametrize("status", [404, 500, 503])
def test_preflight_leaves_other_error_answers_to_the_suite(
    local_api: Any, status: int
) -> None:
    """Only 401 and 403 stop the run; other answers are the suite's to judge."""
    local_api.inject(Fault("status", path="/v1/jobs", status=status))

    main_job._reach(_target_on(local_api, []))

    assert local_api.stats()["status_counts"] == {str(status): 1}
