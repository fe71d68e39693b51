"""Transport defaults: TLS is verified, every request has a timeout, and the key
never goes over plain http:// to another host unless the caller says so."""

from __future__ import annotations

import asyncio
import http.server
import ipaddress
import json
import logging
import math
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from hostile_support import OFFLINE_KEY, count, hostile
from hypothesis import example, given
from hypothesis import strategies as st
from qomplement_jobs import AsyncClient, Client, ConfigurationError, TransportError
from qomplement_local_api import SAMPLE_FILL_PDF_JOB_ID, LocalAPI

# Every property here is bounded in examples; this bounds each in time.
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any name lookup or connection attempt fail the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"the SDK used the network: {args!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


def test_the_network_guard_stops_a_connection_attempt(no_network: None) -> None:
    with pytest.raises(AssertionError, match="used the network"):
        httpx.get("http://127.0.0.1:9/", timeout=1)


# TLS


class _Hello(http.server.BaseHTTPRequestHandler):
    """Answers every GET with a small JSON body and counts the requests."""

    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Hello.requests.append(self.path)
        body = json.dumps({"detail": "hello"}).encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the server quiet."""


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate for 127.0.0.1 (its key beside it as key.pem)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(folder / "key.pem"),
            "-out",
            str(folder / "cert.pem"),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return folder / "cert.pem"


@pytest.fixture(scope="module")
def tls_server(self_signed: Path) -> Iterator[str]:
    """An HTTPS server on loopback with a certificate nobody trusts."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(self_signed, self_signed.parent / "key.pem")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_an_untrusted_certificate_is_refused_before_any_request(
    tls_server: str, self_signed: Path
) -> None:
    _Hello.requests.clear()

    with (
        Client(api_key=OFFLINE_KEY, base_url=tls_server, timeout=5) as client,
        pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.get_job(SAMPLE_FILL_PDF_JOB_ID)

    assert _Hello.requests == []
    # The same server answers a client that trusts its certificate.
    trusting = ssl.create_default_context(cafile=str(self_signed))
    answer = httpx.get(f"{tls_server}/v1/jobs", verify=trusting, timeout=5)
    assert answer.status_code == 404
    assert _Hello.requests == ["/v1/jobs"]


def test_the_async_client_refuses_an_untrusted_certificate_too(tls_server: str) -> None:
    _Hello.requests.clear()

    async def look() -> None:
        async with AsyncClient(
            api_key=OFFLINE_KEY, base_url=tls_server, timeout=5
        ) as client:
            await client.get_job(SAMPLE_FILL_PDF_JOB_ID)

    with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
        asyncio.run(look())
    assert _Hello.requests == []


# Timeouts


def _check_timeouts(requests: list[httpx.Request]) -> None:
    """Every request carries a finite, positive timeout for every phase."""
    assert requests
    for request in requests:
        timeout = request.extensions["timeout"]
        assert set(timeout) == {"connect", "read", "write", "pool"}
        assert all(
            value is not None and 0 < value < math.inf for value in timeout.values()
        ), (request.url.path, timeout)


def test_every_request_of_every_call_has_a_timeout(
    api: LocalAPI, tmp_path: Path
) -> None:
    sent: list[httpx.Request] = []
    job_id = api.create_job(duration=0.0)

    with Client(api_key=api.api_key, base_url=api.base_url) as client:
        client.generated.get_httpx_client().event_hooks["request"].append(sent.append)
        client.get_job(job_id)
        client.wait(job_id, timeout=None)
        list(client.wait_many([job_id], timeout=None))
        client.list_jobs()
        list(client.iter_jobs(page_size=20))
        client.download(job_id, tmp_path)
        client.download_bytes(job_id)

    _check_timeouts(sent)
    assert {request.url.path for request in sent} == {
        "/v1/jobs",
        f"/v1/jobs/{job_id}",
        f"/v1/jobs/{job_id}/download",
    }


def test_every_request_of_the_async_client_has_a_timeout(
    api: LocalAPI, tmp_path: Path
) -> None:
    sent: list[httpx.Request] = []
    job_id = api.create_job(duration=0.0)

    async def note(request: httpx.Request) -> None:
        sent.append(request)

    async def calls() -> None:
        async with AsyncClient(api_key=api.api_key, base_url=api.base_url) as client:
            client.generated.get_async_httpx_client().event_hooks["request"].append(
                note
            )
            await client.get_job(job_id)
            await client.wait(job_id, timeout=None)
            async for _outcome in client.wait_many([job_id], timeout=None):
                pass
            async for _job in client.iter_jobs(page_size=20):
                pass
            await client.download(job_id, tmp_path)

    asyncio.run(calls())

    _check_timeouts(sent)


@hostile(max_examples=60)
@given(timeout=st.floats() | st.integers(min_value=-(10**6), max_value=10**300))
@example(timeout=math.inf)
@example(timeout=math.nan)
@example(timeout=0)
@example(timeout=-1)
@example(timeout=1e-9)
def test_any_client_timeout_is_refused_or_bounds_every_phase(
    timeout: float, no_network: None
) -> None:
    count("transport: client timeouts are finite")

    for make in (Client, AsyncClient):
        try:
            client = make(
                api_key=OFFLINE_KEY, base_url="http://127.0.0.1:9", timeout=timeout
            )
        except (ConfigurationError, OverflowError) as exc:
            assert isinstance(exc, ConfigurationError)
            continue
        request = client.generated.get_httpx_client().build_request("GET", "/v1/jobs")
        if isinstance(client, AsyncClient):
            request = client.generated.get_async_httpx_client().build_request(
                "GET", "/v1/jobs"
            )
        values = request.extensions["timeout"].values()
        assert all(value is not None and 0 < value < math.inf for value in values)


# Plain http


REMOTE_HTTP = [
    "http://example.com",
    "http://developer-api.qomplement.com",
    "http://10.0.0.5:8000",
    "http://192.168.1.1",
    "http://0.0.0.0:8000",
    "http://[2001:db8::1]:8000",
    "http://[::ffff:127.0.0.1]",
    "http://127.0.0.1.example.com",
    "http://localhost.example.com",
    "http://127.1",
    "http://2130706433",
    "HTTP://EXAMPLE.COM",
]


@pytest.mark.parametrize("url", REMOTE_HTTP)
def test_plain_http_to_another_host_is_refused_before_any_connection(
    url: str, no_network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = httpx.URL(url).host
    for make in (Client, AsyncClient):
        with pytest.raises(ConfigurationError) as refused:
            make(api_key=OFFLINE_KEY, base_url=url)
        message = str(refused.value)
        assert host.lower() in message.lower()
        assert "https://" in message
        assert "allow_insecure_http=True" in message

    monkeypatch.setenv("QOMPLEMENT_BASE_URL", url)
    with pytest.raises(ConfigurationError, match="allow_insecure_http=True"):
        Client(api_key=OFFLINE_KEY)


def test_plain_http_to_another_host_is_allowed_on_request_with_a_warning(
    no_network: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="qomplement_jobs")

    with Client(
        api_key=OFFLINE_KEY, base_url="http://10.0.0.5:8000", allow_insecure_http=True
    ) as client:
        request = client.generated.get_httpx_client().build_request("GET", "/v1/jobs")

    assert request.url.host == "10.0.0.5"
    warnings = [record.getMessage() for record in caplog.records]
    assert any("10.0.0.5" in text and "http://" in text for text in warnings)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "http://127.8.9.10",
        "http://localhost:8000",
        "http://LOCALHOST",
        "http://[::1]:8000",
        "https://developer-api.qomplement.com",
    ],
)
def test_loopback_http_and_any_https_are_accepted_without_connecting(
    url: str, no_network: None
) -> None:
    for make in (Client, AsyncClient):
        client = make(api_key=OFFLINE_KEY, base_url=url)
        assert client.base_url == url.rstrip("/")


def test_loopback_http_reaches_the_local_api(api: LocalAPI) -> None:
    port = httpx.URL(api.base_url).port
    for base_url in (api.base_url, f"http://localhost:{port}"):
        with Client(api_key=api.api_key, base_url=base_url) as client:
            assert (
                str(client.get_job(SAMPLE_FILL_PDF_JOB_ID).id) == SAMPLE_FILL_PDF_JOB_ID
            )


HOSTS = [
    "127.0.0.1",
    "localhost",
    "[::1]",
    "example.com",
    "10.0.0.5",
    "evil.localhost.example",
    "127.0.0.1.nip.io",
]
SEPARATORS = ["", "@", ":", "\\", "/", "#", "?", "%2F", "%40", ".", " ", "\t", "[", "]"]


def _is_loopback(host: str) -> bool:
    """Whether httpx's idea of `host` is this machine."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@hostile(max_examples=400)
@given(
    pieces=st.lists(
        st.sampled_from(HOSTS + SEPARATORS) | st.text(max_size=3),
        min_size=1,
        max_size=6,
    ),
    port=st.sampled_from(["", ":8000", ":0", ":65535"]),
)
@example(pieces=["127.0.0.1", "@", "example.com"], port="")
@example(pieces=["example.com", "\\", "@", "127.0.0.1"], port="")
@example(pieces=["example.com", "#", "@", "127.0.0.1"], port="")
@example(pieces=["127.0.0.1", "%2F", "@", "example.com"], port="")
def test_no_accepted_plain_http_url_sends_to_another_host(
    pieces: list[str], port: str, no_network: None
) -> None:
    count("transport: accepted http:// URLs are loopback")
    url = "http://" + "".join(pieces) + port

    try:
        client = Client(api_key=OFFLINE_KEY, base_url=url)
    except ConfigurationError:
        return

    request = client.generated.get_httpx_client().build_request("GET", "/v1/jobs")
    assert request.url.scheme == "http"
    assert _is_loopback(request.url.host), (url, request.url.host)
