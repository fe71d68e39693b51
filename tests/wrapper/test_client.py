"""Configuration, transport safety, and keeping the API key secret."""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from pathlib import Path

import httpx
import pytest
from qomplement_jobs import (
    AsyncClient,
    Client,
    ConfigurationError,
    DestinationExistsError,
    NotFoundError,
    Polling,
    QomplementError,
    ServerError,
    TransportError,
)
from qomplement_jobs._config import DEFAULT_BASE_URL, ApiKeyAuth
from qomplement_jobs.errors import REDACTED
from qomplement_local_api import (
    SAMPLE_EXPIRED_JOB_ID,
    SAMPLE_FAILED_JOB_ID,
    SAMPLE_FILL_PDF_JOB_ID,
    SAMPLE_PROCESSING_JOB_ID,
    Fault,
    LocalAPI,
)

SECRET = "sd_" + "5ec7e7" * 8


def test_client_reads_key_and_url_from_the_environment(
    api: LocalAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QOMPLEMENT_API_KEY", api.api_key)
    monkeypatch.setenv("QOMPLEMENT_BASE_URL", api.base_url)

    with Client() as client:
        assert client.base_url == api.base_url
        assert client.get_job(SAMPLE_FILL_PDF_JOB_ID).status == "completed"


def test_keyword_arguments_win_over_the_environment(
    api: LocalAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QOMPLEMENT_API_KEY", "sd_" + "0" * 48)
    monkeypatch.setenv("QOMPLEMENT_BASE_URL", "http://127.0.0.1:9")

    with Client(api_key=api.api_key, base_url=api.base_url) as client:
        assert client.get_job(SAMPLE_FILL_PDF_JOB_ID).status == "completed"


def test_default_base_url_is_the_production_service() -> None:
    # Constructing a client sends nothing; no request is made here.
    with Client(api_key=SECRET) as client:
        assert (
            client.base_url
            == DEFAULT_BASE_URL
            == "https://developer-api.qomplement.com"
        )


def test_missing_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="QOMPLEMENT_API_KEY"):
        Client(base_url="http://127.0.0.1:9")


@pytest.mark.parametrize(
    "url", ["http://example.com", "http://10.0.0.5:8000", "http://[2001:db8::1]"]
)
def test_plain_http_to_a_remote_host_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="allow_insecure_http=True"):
        Client(api_key=SECRET, base_url=url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "http://[::1]:8000",
        "https://x.y",
    ],
)
def test_loopback_http_and_https_are_accepted(url: str) -> None:
    Client(api_key=SECRET, base_url=url).close()


def test_plain_http_to_a_remote_host_can_be_allowed_explicitly_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = Client(
        api_key=SECRET, base_url="http://example.com", allow_insecure_http=True
    )
    client.close()

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "example.com" in warnings[0].getMessage()


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com",
        "example.com",
        "https://user:pw@example.com",
        "https://:99999",
    ],
)
def test_an_invalid_base_url_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError):
        Client(api_key=SECRET, base_url=url)


@pytest.mark.parametrize("timeout", [0.0, -1.0, math.nan, math.inf, 1e10, 1e300])
def test_a_request_timeout_that_is_not_above_0_and_within_a_day_is_refused(
    timeout: float,
) -> None:
    # Beyond about 9e9 s the socket layer's conversion overflows; a day is
    # the bound the SDK promises instead.
    with pytest.raises(ConfigurationError, match="at most 86400"):
        Client(api_key=SECRET, timeout=timeout)
    with pytest.raises(ConfigurationError, match="at most 86400"):
        AsyncClient(api_key=SECRET, timeout=timeout)


def test_a_request_timeout_of_a_day_is_accepted() -> None:
    with Client(api_key=SECRET, timeout=86_400) as client:
        assert client._http.timeout.read == 86_400.0


def test_tls_is_verified_and_every_request_has_a_timeout() -> None:
    with Client(api_key=SECRET, timeout=12.0) as client:
        timeout = client._http.timeout
        assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (
            10.0,
            12.0,
            12.0,
            12.0,
        )
        assert client.generated._verify_ssl is True
        assert client.generated._follow_redirects is False


def test_a_slow_answer_times_out_as_a_transport_error(api: LocalAPI) -> None:
    api.inject(Fault("latency", path=f"/v1/jobs/{SAMPLE_FILL_PDF_JOB_ID}", delay=1.0))

    with (
        Client(api_key=api.api_key, base_url=api.base_url, timeout=0.2) as client,
        pytest.raises(TransportError, match="timed out"),
    ):
        client.get_job(SAMPLE_FILL_PDF_JOB_ID)


def test_a_refused_connection_is_a_transport_error() -> None:
    with (
        Client(api_key=SECRET, base_url="http://127.0.0.1:9") as client,
        pytest.raises(TransportError, match="ConnectError"),
    ):
        client.get_job(SAMPLE_FILL_PDF_JOB_ID)


def test_the_key_is_sent_but_kept_out_of_reprs_and_default_headers(
    api: LocalAPI,
) -> None:
    with Client(api_key=api.api_key, base_url=api.base_url) as client:
        assert client.get_job(SAMPLE_FILL_PDF_JOB_ID)
        shown = [
            repr(client),
            repr(client.generated),
            str(
                client.generated.__dict__
                if hasattr(client.generated, "__dict__")
                else ""
            ),
            repr(client._http.headers),
            str(dict(client._http.headers)),
            repr(client._http.auth),
        ]
    assert all(api.api_key not in text for text in shown)
    assert repr(ApiKeyAuth(SECRET)) == "ApiKeyAuth(api_key=<hidden>)"


def test_no_exception_text_repr_or_log_line_contains_the_key(
    api: LocalAPI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    revoked = api.revoked_key
    key = api.api_key
    polling = Polling(max_retries=1, initial_interval=0.01, min_interval=0.0)
    raised: list[BaseException] = []

    def attempt(action: object) -> None:
        try:
            action()  # type: ignore[operator]
        except (QomplementError, ValueError) as exc:
            raised.append(exc)

    api.set_rate_limit(rps=1000, burst=1000)
    for used_key in (key, revoked, SECRET):
        with Client(api_key=used_key, base_url=api.base_url, polling=polling) as client:
            attempt(lambda c=client: c.get_job(uuid.uuid4()))
            attempt(lambda c=client: c.wait(SAMPLE_FAILED_JOB_ID))
            attempt(lambda c=client: c.wait(SAMPLE_PROCESSING_JOB_ID, timeout=0))
            attempt(lambda c=client: c.list_jobs(limit=0))
            attempt(lambda c=client: c.download(SAMPLE_EXPIRED_JOB_ID, tmp_path))
            attempt(lambda c=client: c.download(SAMPLE_PROCESSING_JOB_ID, tmp_path))
            attempt(
                lambda c=client: c.download(
                    SAMPLE_FILL_PDF_JOB_ID, tmp_path / "x" / "y"
                )
            )
            api.inject(Fault("status", status=429, retry_after=0))
            attempt(lambda c=client: c.get_job(SAMPLE_FILL_PDF_JOB_ID))
            api.inject(Fault("reset", times=2))
            attempt(lambda c=client: c.wait(SAMPLE_FILL_PDF_JOB_ID))
            api.inject(Fault("truncate", path="*/download"))
            attempt(lambda c=client: c.download_bytes(SAMPLE_FILL_PDF_JOB_ID))
    with Client(api_key=SECRET, base_url="http://127.0.0.1:9") as client:
        attempt(lambda: client.get_job(SAMPLE_FILL_PDF_JOB_ID))
    attempt(lambda: Client(api_key=SECRET, base_url="http://example.com"))

    async def async_failures() -> None:
        async with AsyncClient(api_key=revoked, base_url=api.base_url) as client:
            try:
                await client.get_job(SAMPLE_FILL_PDF_JOB_ID)
            except QomplementError as exc:
                raised.append(exc)

    asyncio.run(async_failures())

    assert len(raised) >= 30
    texts = []
    for exc in raised:
        chain: BaseException | None = exc
        while chain is not None:
            texts += [str(chain), repr(chain), *getattr(chain, "__notes__", [])]
            texts += [repr(value) for value in vars(chain).values()]
            chain = chain.__cause__ or chain.__context__
    texts += [record.getMessage() for record in caplog.records]
    texts += [str(record.args) for record in caplog.records]
    for secret in (key, revoked, SECRET):
        assert not [text for text in texts if secret in text]


def readable_texts(exc: BaseException) -> list[str]:
    """What a user can read from `exc` and the exceptions chained to it."""
    texts: list[str] = []
    chain: BaseException | None = exc
    while chain is not None:
        texts += [str(chain), repr(chain), *getattr(chain, "__notes__", [])]
        texts += [repr(value) for value in vars(chain).values()]
        chain = chain.__cause__ or chain.__context__
    return texts


def test_a_key_that_ended_up_in_the_base_url_is_redacted_from_errors_and_logs(
    api: LocalAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = api.api_key

    with Client(api_key=key, base_url=f"{api.base_url}/{key}") as client:
        shown = repr(client)
        with pytest.raises(NotFoundError) as caught:
            client.list_jobs()

    assert str(caught.value).startswith("GET /[REDACTED]/v1/jobs answered 404")
    assert shown == f"Client(base_url='{api.base_url}/[REDACTED]')"
    logged = [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("qomplement_jobs")
    ]
    assert "GET /[REDACTED]/v1/jobs -> 404" in logged
    assert not [
        text for text in [*readable_texts(caught.value), *logged] if key in text
    ]


@pytest.mark.parametrize(
    "url_around_key",
    ["{key}", "http://127.0.0.1:{key}", "http://[{key}]", "ftp://x.y/{key}"],
    ids=["bare", "as-port", "as-ipv6-host", "wrong-scheme"],
)
def test_an_invalid_base_url_holding_the_key_does_not_echo_it(
    api: LocalAPI, url_around_key: str
) -> None:
    key = api.api_key

    # The key and the URL given in each other's place.
    with pytest.raises(ConfigurationError) as caught:
        Client(api_key=api.base_url, base_url=url_around_key.format(key=key))

    assert str(caught.value).startswith("Invalid base URL ")
    assert REDACTED in str(caught.value)
    assert not [text for text in readable_texts(caught.value) if key in text]


def test_an_invalid_base_url_never_echoes_a_value_shaped_like_a_key() -> None:
    never_configured = "sd_" + "c0ffee" * 8

    with pytest.raises(ConfigurationError) as caught:
        Client(api_key=SECRET, base_url=never_configured)

    assert str(caught.value) == (
        "Invalid base URL '[REDACTED]': expected http(s)://host[:port]"
    )


def test_every_sdk_error_hides_a_configured_key_wherever_it_was_built() -> None:
    # Not shaped like a qomplement key, so only the client's configuration
    # marks it as secret.
    key = "my-key-from-the-wrong-vault"
    Client(api_key=key).close()

    built = [
        ServerError(f"GET /{key}/v1/jobs answered 500"),
        DestinationExistsError(Path("/tmp") / key),
        QomplementError(f"first {key} and again {key}"),
    ]

    assert [str(error) for error in built] == [
        "GET /[REDACTED]/v1/jobs answered 500",
        "/tmp/[REDACTED] exists; pass overwrite=True to replace it",
        "first [REDACTED] and again [REDACTED]",
    ]
    assert not [e for e in built if key in repr(e) or key in str(e.message)]


def test_generated_low_level_calls_work_with_the_same_client(api: LocalAPI) -> None:
    from qomplement_jobs_client.api.jobs import get_job

    with Client(api_key=api.api_key, base_url=api.base_url) as client:
        job = get_job.sync(uuid.UUID(SAMPLE_FILL_PDF_JOB_ID), client=client.generated)
    assert job is not None and not isinstance(job, httpx.Response)
