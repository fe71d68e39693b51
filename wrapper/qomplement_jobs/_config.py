"""Client configuration: the key, the base URL, and the rules that keep them safe."""

from __future__ import annotations

import ipaddress
import logging
import math
import os
from collections.abc import Generator
from importlib import metadata
from urllib.parse import urlsplit

import httpx

from ._http import host_to_connect
from .errors import ConfigurationError, protect

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://developer-api.qomplement.com"
API_KEY_ENV = "QOMPLEMENT_API_KEY"
BASE_URL_ENV = "QOMPLEMENT_BASE_URL"

# Seconds allowed for connecting, and for each read/write of one request.
DEFAULT_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
# The longest request timeout accepted: a day. Far longer ones overflow the
# socket layer's time conversion, and none of them means anything useful.
MAX_TIMEOUT = 86_400.0


class ApiKeyAuth(httpx.Auth):
    """Sends the API key as a bearer token; its repr never shows the key.

    The key lives here rather than in a default header, so neither the
    generated client's attributes nor the httpx client's `headers` hold it.
    """

    def __init__(self, api_key: str) -> None:
        self.__key = api_key

    def auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Add `Authorization: Bearer <key>` to the request."""
        request.headers["Authorization"] = f"Bearer {self.__key}"
        yield request

    def __repr__(self) -> str:
        return "ApiKeyAuth(api_key=<hidden>)"


def resolve_api_key(api_key: str | None) -> str:
    """The key given, or `QOMPLEMENT_API_KEY`.

    Raises:
        ConfigurationError: neither is set, or the key has surrounding spaces.
    """
    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
    if not key:
        raise ConfigurationError(
            f"No API key: pass api_key= or set the {API_KEY_ENV} environment variable"
        )
    if key != key.strip() or any(ch in key for ch in "\r\n"):
        raise ConfigurationError("The API key contains whitespace or line breaks")
    protect(key)
    return key


def resolve_base_url(base_url: str | None, *, allow_insecure_http: bool) -> str:
    """The base URL given, or `QOMPLEMENT_BASE_URL`, or the production service.

    Raises:
        ConfigurationError: the URL is not http(s), or is plain http to a host
            that is not loopback and `allow_insecure_http` is false.
    """
    url_text = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    problem: str | None = None
    try:
        url = urlsplit(url_text)
        host = url.hostname
        url.port  # noqa: B018 - reading it validates the port
    except ValueError as exc:
        problem = str(exc)
    # Raised outside the handler, so that no chained exception repeats the
    # URL (which may hold a key given in the wrong argument).
    if problem is not None:
        raise ConfigurationError(f"Invalid base URL {url_text!r}: {problem}")
    # httpx parses the URL again to connect; both readings must be valid and
    # name loopback before plain http is allowed.
    connected_host = host_to_connect(url_text)
    if url.scheme not in ("http", "https") or not host:
        raise ConfigurationError(
            f"Invalid base URL {url_text!r}: expected http(s)://host[:port]"
        )
    if url.username or url.password:
        raise ConfigurationError("The base URL must not contain credentials")
    if url.query or url.fragment:
        raise ConfigurationError("The base URL must not have a query or fragment")
    loopback = is_loopback(host) and is_loopback(connected_host)
    if url.scheme == "http" and not allow_insecure_http and not loopback:
        raise ConfigurationError(
            f"Refusing plain http:// to {host}: the API key would travel "
            "unencrypted. Use https://, or pass allow_insecure_http=True if the "
            "network is trusted."
        )
    if url.scheme == "http" and not loopback:
        logger.warning(
            "Sending the API key to %s over plain http:// (allow_insecure_http=True)",
            host,
        )
    return url_text.rstrip("/")


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine (localhost, 127.0.0.0/8, ::1)."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def make_timeout(seconds: float) -> httpx.Timeout:
    """A timeout for every phase of a request, connecting capped at 10 s.

    Raises:
        ConfigurationError: `seconds` is not above 0 and at most a day.
    """
    if not (seconds > 0 and math.isfinite(seconds) and seconds <= MAX_TIMEOUT):
        raise ConfigurationError(
            f"timeout must be a number of seconds above 0 and at most {MAX_TIMEOUT:g}"
        )
    return httpx.Timeout(seconds, connect=min(seconds, CONNECT_TIMEOUT))


def user_agent() -> str:
    """The User-Agent header: the distribution's name and version."""
    try:
        version = metadata.version("qomplement-jobs")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"qomplement-jobs/{version} httpx/{httpx.__version__}"
