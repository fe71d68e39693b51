"""The API under test: where it is, how to authenticate, how fast to talk to it.

A target is either the bundled local API (started by the suite itself) or a
running service named by ``QOMPLEMENT_BASE_URL``. Against a running service the
suite is polite: it sends only ``GET`` requests, no faster than
``QOMPLEMENT_MAX_RPS`` per second, and waits out every ``429``'s ``Retry-After``
before its next request.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx
from pyrate_limiter import Limiter

# The SDK's rule for where a key may go over plain http, so the runner and the
# SDK can never disagree about it.
from qomplement_jobs._config import is_loopback

if TYPE_CHECKING:
    from schemathesis import Case, Response
    from schemathesis.schemas import BaseSchema

logger = logging.getLogger(__name__)

BASE_URL_VARIABLE = "QOMPLEMENT_BASE_URL"
API_KEY_VARIABLE = "QOMPLEMENT_API_KEY"
MAX_RPS_VARIABLE = "QOMPLEMENT_MAX_RPS"
MAX_EXAMPLES_VARIABLE = "QOMPLEMENT_MAX_EXAMPLES"
ALLOW_INSECURE_HTTP_VARIABLE = "QOMPLEMENT_ALLOW_INSECURE_HTTP"

DEFAULT_MAX_RPS = 2.0
# Generated examples per operation (the examples and coverage phases add their
# own cases on top). Against the local API, 100 keep the whole main job near ten
# seconds on two cores; a running service is asked far less, as each request
# there costs half a second of pacing.
DEFAULT_MAX_EXAMPLES = 100
DEFAULT_REMOTE_MAX_EXAMPLES = 20
# A `429` is retried this many times at most, and no single wait lasts longer.
MAX_RATE_LIMIT_RETRIES = 5
MAX_RETRY_AFTER_SECONDS = 60.0
REQUEST_TIMEOUT_SECONDS = 30.0

REDACTED = "[REDACTED]"
_BEARER = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?bearer\s+)[^\s'\"]+")


class _Answer(Protocol):
    """What the pacing needs of an HTTP answer, whichever library made it."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Any: ...


AnswerT = TypeVar("AnswerT", bound=_Answer)


class TargetConfigError(Exception):
    """Raised when the environment names a target that cannot be used."""


class Pacer:
    """Space requests evenly and hold them back while a ``Retry-After`` runs.

    Thread-safe; ``clock`` and ``sleep`` can be replaced so tests need not wait.
    """

    def __init__(
        self,
        max_rps: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self._interval = 1.0 / max_rps if max_rps else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next_at = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next request may be sent, and book its slot."""
        with self._lock:
            now = self._clock()
            delay = self._next_at - now
            if delay > 0:
                logger.debug("pacing: waiting %.2f s before the next request", delay)
                self._sleep(delay)
                now = self._clock()
            self._next_at = max(self._next_at, now) + self._interval

    def hold(self, seconds: float) -> None:
        """Send nothing for ``seconds`` from now (a server asked us to wait)."""
        with self._lock:
            self._next_at = max(self._next_at, self._clock() + seconds)


class PacerLimiter(Limiter):
    """Schemathesis' rate limiter, replaced by a :class:`Pacer`.

    Schemathesis sends some requests of its own (``ignored_auth`` probes the
    operation without the key and with a wrong one) and paces them, like every
    request it sends, through its configured limiter; handing it the target's
    pacer puts those requests on the same schedule as all the others.
    """

    def __init__(self, pacer: Pacer) -> None:
        # No buckets: the pacer does all the limiting.
        self.pacer = pacer

    def try_acquire(
        self,
        name: str = "pyrate",
        weight: int = 1,
        blocking: bool = True,
        timeout: int | float = -1,
    ) -> bool:
        """Wait for the pacer's next slot."""
        self.pacer.wait()
        return True


def retry_after_seconds(headers: Mapping[str, Any]) -> float:
    """Return the wait a ``429`` asks for, bounded; 1 s when it names none."""
    raw: Any = None
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value
            break
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        seconds = 1.0
    if math.isnan(seconds):
        seconds = 1.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


@dataclass
class Target:
    """The API under test and the rules for talking to it.

    The key is kept out of ``repr`` so that no report or traceback shows it.
    """

    base_url: str
    api_key: str = field(repr=False)
    is_local: bool
    max_rps: float | None = None
    pacer: Pacer = field(init=False, repr=False)
    # Generated cases sent, and the explicit tests' own requests, per operation.
    examples: Counter[str] = field(init=False, repr=False, default_factory=Counter)
    requests: Counter[str] = field(init=False, repr=False, default_factory=Counter)
    # Shown every 429 before it is retried, so the suite can judge it too.
    on_rate_limited: Callable[[str, Any], None] | None = field(
        init=False, repr=False, default=None
    )

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.pacer = Pacer(self.max_rps)

    @property
    def auth_headers(self) -> dict[str, str]:
        """The ``Authorization`` header that carries the key."""
        return {"Authorization": f"Bearer {self.api_key}"}

    @property
    def allows_only_get(self) -> bool:
        """Whether requests other than ``GET`` must never be sent."""
        return not self.is_local

    def bind(self, schema: BaseSchema) -> None:
        """Send ``schema``'s requests (probes included) here, on this pacer."""
        schema.config.update(base_url=self.base_url)
        schema.config.rate_limit = PacerLimiter(self.pacer)

    def _paces(self, schema: BaseSchema) -> bool:
        """Whether schemathesis paces ``schema``'s requests with our pacer."""
        limiter = schema.config.rate_limit
        return isinstance(limiter, PacerLimiter) and limiter.pacer is self.pacer

    def redact(self, text: str) -> str:
        """Return ``text`` with the key and any bearer credential blanked out."""
        if self.api_key:
            text = text.replace(self.api_key, REDACTED)
        return _BEARER.sub(rf"\g<1>{REDACTED}", text)

    def send_case(self, case: Case, **kwargs: Any) -> Response:
        """Send a generated case the polite way and return the final response.

        The request is paced; a ``429`` is retried after its ``Retry-After``
        (at most ``MAX_RATE_LIMIT_RETRIES`` times), and the last response is
        returned whatever its status.

        Raises:
            TargetConfigError: if the case is not a ``GET`` and the target is a
                running service.
        """
        if self.allows_only_get and case.method.upper() != "GET":
            raise TargetConfigError(
                f"refusing to send {case.method.upper()} to a running service"
            )
        headers = {**kwargs.pop("headers", {}), **self.auth_headers}
        kwargs.pop("base_url", None)
        kwargs.setdefault("timeout", REQUEST_TIMEOUT_SECONDS)
        return self.politely(
            lambda: case.call(base_url=self.base_url, headers=headers, **kwargs),
            case.operation.label,
            self.examples,
            paced_by_sender=self._paces(case.operation.schema),
        )

    def politely(
        self,
        send: Callable[[], AnswerT],
        operation: str,
        counter: Counter[str],
        *,
        paced_by_sender: bool = False,
    ) -> AnswerT:
        """Call ``send`` in a paced slot; after a ``429``, wait and send again.

        Each wait is the answer's ``Retry-After`` (bounded), held for every
        request, not just this one; after ``MAX_RATE_LIMIT_RETRIES`` retries
        the ``429`` itself is returned. Each send counts once in ``counter``.
        ``paced_by_sender`` says ``send`` waits for the pacer itself. Each
        retried ``429`` is passed to :attr:`on_rate_limited` first.
        """
        for _ in range(MAX_RATE_LIMIT_RETRIES):
            if not paced_by_sender:
                self.pacer.wait()
            answer = send()
            counter[operation] += 1
            if answer.status_code != 429:
                return answer
            if self.on_rate_limited is not None:
                self.on_rate_limited(operation, answer)
            delay = retry_after_seconds(answer.headers)
            logger.debug("429 from %s: retrying in %.1f s", operation, delay)
            close = getattr(answer, "close", None)
            if close is not None:
                close()
            self.pacer.hold(delay)
        if not paced_by_sender:
            self.pacer.wait()
        answer = send()
        counter[operation] += 1
        return answer

    @contextmanager
    def client(self) -> Iterator[TargetClient]:
        """Open an httpx client that paces requests and honours ``429``."""
        with httpx.Client(
            base_url=self.base_url,
            headers=self.auth_headers,
            timeout=REQUEST_TIMEOUT_SECONDS,
        ) as http:
            yield TargetClient(self, http)


class TargetClient:
    """A thin httpx wrapper for the explicit tests: paced, ``GET`` only."""

    def __init__(self, target: Target, http: httpx.Client) -> None:
        self._target = target
        self._http = http
        self.last_request: httpx.Request | None = None

    def get(
        self,
        path: str,
        *,
        operation: str,
        params: Mapping[str, Any] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send ``GET path`` and return the final response.

        With ``stream=True`` the body is not read; the caller must close the
        response. ``operation`` (e.g. ``GET /v1/jobs``) is what the request
        counts towards.
        """

        def send() -> httpx.Response:
            request = self._http.build_request("GET", path, params=params)
            self.last_request = request
            return self._http.send(request, stream=stream)

        return self._target.politely(send, operation, self._target.requests)


def _positive_float(name: str, raw: str) -> float:
    """Parse the variable ``name``'s value ``raw`` as a finite positive number."""
    try:
        value = float(raw)
    except ValueError:
        raise TargetConfigError(f"{name} must be a number, not {raw!r}") from None
    if not value > 0 or math.isinf(value):
        raise TargetConfigError(f"{name} must be a positive number, not {raw!r}")
    return value


def max_examples_from_env(environ: Mapping[str, str] = os.environ) -> int:
    """Return the examples to generate per operation (``QOMPLEMENT_MAX_EXAMPLES``).

    The default is smaller for a running service than for the local API.

    Raises:
        TargetConfigError: if the variable is set but not a positive integer.
    """
    raw = environ.get(MAX_EXAMPLES_VARIABLE, "").strip()
    if not raw:
        if environ.get(BASE_URL_VARIABLE, "").strip():
            return DEFAULT_REMOTE_MAX_EXAMPLES
        return DEFAULT_MAX_EXAMPLES
    if not raw.isdigit() or int(raw) < 1:
        raise TargetConfigError(
            f"{MAX_EXAMPLES_VARIABLE} must be a positive integer, not {raw!r}"
        )
    return int(raw)


def _allows_insecure_http(environ: Mapping[str, str]) -> bool:
    """Read ``QOMPLEMENT_ALLOW_INSECURE_HTTP`` (``1``/``true``/``yes`` or not).

    Raises:
        TargetConfigError: if the value is neither a yes nor a no.
    """
    raw = environ.get(ALLOW_INSECURE_HTTP_VARIABLE, "").strip().lower()
    if raw in ("1", "true", "yes"):
        return True
    if raw in ("", "0", "false", "no"):
        return False
    raise TargetConfigError(
        f"{ALLOW_INSECURE_HTTP_VARIABLE} must be 1 or 0, not {raw!r}"
    )


def _check_transport(
    base_url: str, *, allow_insecure_http: bool, base_url_from: str
) -> None:
    """Refuse a URL that would send the key unencrypted to another machine.

    Both readings of the host must be loopback: the standard library's and
    the one httpx connects to, so that a URL the two parse differently
    cannot slip through.

    Raises:
        TargetConfigError: if the URL cannot be parsed, or is plain http to
            a host that is not loopback and ``allow_insecure_http`` is false.
    """
    try:
        url = urlsplit(base_url)
        host = url.hostname or ""
        url.port  # noqa: B018 - reading it validates the port
        connected_host = httpx.URL(base_url).host
    except (ValueError, httpx.InvalidURL) as error:
        raise TargetConfigError(
            f"{base_url_from} is not a usable URL ({error}): {base_url!r}"
        ) from None
    if url.scheme.lower() != "http":
        return
    if is_loopback(host) and is_loopback(connected_host):
        return
    if not allow_insecure_http:
        raise TargetConfigError(
            f"refusing to send the key over plain http:// to {host or connected_host}:"
            " it would travel unencrypted. Use https://, or pass "
            f"--allow-insecure-http (or set {ALLOW_INSECURE_HTTP_VARIABLE}=1) if the"
            " network is trusted"
        )
    logger.warning(
        "sending the key to %s over plain http:// (insecure http allowed)", host
    )


def remote_target_from_env(
    environ: Mapping[str, str] = os.environ,
    *,
    base_url_from: str = BASE_URL_VARIABLE,
) -> Target | None:
    """Return the running service named by the environment, or ``None``.

    ``base_url_from`` is what the user named the service with (the variable,
    or a command-line flag that set it), for the messages.

    Raises:
        TargetConfigError: if ``QOMPLEMENT_BASE_URL`` is set without a key, or
            is not an http(s) URL, or is plain http to a host that is not
            loopback without ``QOMPLEMENT_ALLOW_INSECURE_HTTP=1``, or
            ``QOMPLEMENT_MAX_RPS`` is not a positive number.
    """
    base_url = environ.get(BASE_URL_VARIABLE, "").strip()
    if not base_url:
        return None
    if not re.match(r"^https?://[^/\s]+", base_url):
        raise TargetConfigError(
            f"{base_url_from} must be an http(s) URL, not {base_url!r}"
        )
    _check_transport(
        base_url,
        allow_insecure_http=_allows_insecure_http(environ),
        base_url_from=base_url_from,
    )
    api_key = environ.get(API_KEY_VARIABLE, "").strip()
    if not api_key:
        raise TargetConfigError(
            f"{base_url_from} names a running service but {API_KEY_VARIABLE} is "
            "not set; the suite needs a key for the target"
        )
    raw_rps = environ.get(MAX_RPS_VARIABLE, "").strip()
    max_rps = _positive_float(MAX_RPS_VARIABLE, raw_rps) if raw_rps else DEFAULT_MAX_RPS
    return Target(base_url=base_url, api_key=api_key, is_local=False, max_rps=max_rps)
