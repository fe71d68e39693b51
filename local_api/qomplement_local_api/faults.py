"""Faults, rate limiting and request statistics: the ASGI layer in front of the app.

:class:`LocalMiddleware` sees every request before FastAPI does. It counts
it, applies the next matching :class:`Fault`, enforces the per-key token
bucket and lets deviations rewrite the answer. Faults that break the HTTP
exchange itself (``reset``, ``truncate``, ``overlong``, ``stall``) need the
connection's transport, which the server's protocol class registers in a
:class:`ConnectionRegistry`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import http
import ipaddress
import json
import logging
import math
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .clock import Clock
from .deviations import Deviation, Exchange, Incoming, rewrite_request

__all__ = [
    "FAULT_KINDS",
    "ConnectionRegistry",
    "Fault",
    "FaultQueue",
    "LocalMiddleware",
    "RateLimiter",
    "Stats",
]

logger = logging.getLogger(__name__)

FAULT_KINDS = (
    "status",
    "latency",
    "reset",
    "malformed_json",
    "truncate",
    "overlong",
    "stall",
)
CONTROL_PREFIX = "/_local/"
_OVERLONG_DEFAULT = 64
# Answers up to this size are buffered whole so deviations can rewrite them.
_REWRITE_LIMIT = 1024 * 1024
_DISCONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Fault:
    """A fault to apply to the next ``times`` requests whose path matches.

    ``path`` is an :func:`fnmatch.fnmatchcase` pattern on the URL path (its
    ``*`` also matches ``/``). ``after_bytes`` is where ``truncate`` and
    ``stall`` cut the body (default: half of it for ``truncate``, nothing
    for ``stall``; always at least one byte short of the whole), and how
    many extra bytes ``overlong`` sends (default 64). ``delay`` is real
    seconds, for ``latency`` and ``stall``.

    Example::

        api.inject(Fault("status", path="/v1/jobs/*", status=503, retry_after=1))

    Raises:
        ValueError: the kind is unknown or an argument is out of range.
    """

    kind: str
    path: str = "*"
    times: int = 1
    status: int | None = None
    retry_after: int | None = None
    delay: float = 0.0
    after_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        if not isinstance(self.path, str):
            raise ValueError("path must be a string")
        if not _is_int(self.times) or self.times < 1:
            raise ValueError("times must be an integer >= 1")
        if self.status is not None and (
            not _is_int(self.status) or not 200 <= self.status <= 599
        ):
            raise ValueError("status must be an integer from 200 to 599")
        if self.retry_after is not None and (
            not _is_int(self.retry_after) or self.retry_after < 0
        ):
            raise ValueError("retry_after must be an integer >= 0")
        if not isinstance(self.delay, int | float) or not 0 <= self.delay <= 3600:
            raise ValueError("delay must be between 0 and 3600 seconds")
        if self.after_bytes is not None and (
            not _is_int(self.after_bytes) or self.after_bytes < 0
        ):
            raise ValueError("after_bytes must be an integer >= 0")

    def to_json(self) -> dict[str, Any]:
        """Return the fault as the ``/_local/faults`` route takes it."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        """Build a fault from its JSON form.

        Raises:
            ValueError: a property is unknown or a value is out of range.
        """
        known = {item.name for item in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault properties: {', '.join(sorted(unknown))}")
        return cls(**data)


def _is_int(value: object) -> bool:
    """Whether ``value`` is an int (and not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


class FaultQueue:
    """Faults waiting for their requests, first injected first applied."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[list[Any]] = []  # [fault, requests left]

    def add(self, fault: Fault) -> None:
        """Queue ``fault``."""
        with self._lock:
            self._queue.append([fault, fault.times])

    def take(self, path: str) -> Fault | None:
        """Return the fault for a request to ``path``, using up one of its times."""
        with self._lock:
            for entry in self._queue:
                fault: Fault = entry[0]
                if fnmatch.fnmatchcase(path, fault.path):
                    entry[1] -= 1
                    if entry[1] == 0:
                        self._queue.remove(entry)
                    return fault
        return None

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._queue.clear()

    def pending(self) -> list[dict[str, Any]]:
        """Return the queued faults and how many requests each has left."""
        with self._lock:
            return [{**fault.to_json(), "left": left} for fault, left in self._queue]


class RateLimiter:
    """A token bucket per key: ``rps`` tokens a second, at most ``burst``."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._rps: float | None = None
        self._burst = 0.0
        self._buckets: dict[str, tuple[float, float]] = {}

    def configure(self, rps: float | None, burst: int | None = None) -> None:
        """Limit each key to ``rps`` requests a second; ``None`` turns it off.

        ``burst`` defaults to ``rps`` rounded up (at least 1).

        Raises:
            ValueError: ``rps`` or ``burst`` is not positive.
        """
        if rps is not None and (not math.isfinite(rps) or rps <= 0):
            raise ValueError("rps must be a positive number or None")
        if burst is not None and burst < 1:
            raise ValueError("burst must be >= 1")
        with self._lock:
            self._rps = rps
            self._burst = float(burst or max(1, math.ceil(rps or 1)))
            self._buckets.clear()

    @property
    def settings(self) -> dict[str, float | None]:
        """The current ``rps`` and ``burst`` (both ``None`` when off)."""
        with self._lock:
            if self._rps is None:
                return {"rps": None, "burst": None}
            return {"rps": self._rps, "burst": self._burst}

    def acquire(self, key: str) -> int | None:
        """Take a token for ``key``; return ``None`` or seconds to wait."""
        with self._lock:
            if self._rps is None:
                return None
            now = self._clock.now()
            tokens, last = self._buckets.get(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rps)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return None
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self._rps))


class Stats:
    """Counts of the requests to the documented API (not ``/_local/``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every count."""
        with self._lock:
            self._requests = 0
            self._by_path: Counter[str] = Counter()
            self._statuses: Counter[str] = Counter()
            self._faults: Counter[str] = Counter()

    def request(self, path: str) -> None:
        """Count a request to ``path``."""
        with self._lock:
            self._requests += 1
            self._by_path[path] += 1

    def status(self, status: int) -> None:
        """Count an answer with ``status``."""
        with self._lock:
            self._statuses[str(status)] += 1

    def fault(self, kind: str) -> None:
        """Count an applied fault of ``kind``."""
        with self._lock:
            self._faults[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        """Return the counts as JSON-ready data."""
        with self._lock:
            return {
                "requests": self._requests,
                "by_path": dict(self._by_path),
                "status_counts": dict(self._statuses),
                "429": self._statuses["429"],
                "faults": dict(self._faults),
            }


class ConnectionRegistry:
    """Transports of open connections, by the client address in the scope."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._transports: dict[tuple[str, int], asyncio.Transport] = {}

    def add(self, client: Sequence[Any] | None, transport: asyncio.Transport) -> None:
        """Remember the transport of the connection from ``client``."""
        if client is not None:
            with self._lock:
                self._transports[_address(client)] = transport

    def discard(self, client: Sequence[Any] | None) -> None:
        """Forget the connection from ``client``."""
        if client is not None:
            with self._lock:
                self._transports.pop(_address(client), None)

    def get(self, scope: Scope) -> asyncio.Transport | None:
        """Return the transport the request in ``scope`` arrived on."""
        client = scope.get("client")
        if client is None:
            return None
        with self._lock:
            return self._transports.get(_address(client))


def _address(client: Sequence[Any]) -> tuple[str, int]:
    """Return a client address as a hashable (host, port) pair."""
    return str(client[0]), int(client[1])


class _Cut(Exception):
    """Raised through the app to stop an answer at a fault's cut."""


class LocalMiddleware:
    """The ASGI layer that applies faults, rate limits and deviations."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        faults: FaultQueue,
        limiter: RateLimiter,
        stats: Stats,
        connections: ConnectionRegistry,
        deviations: Callable[[], list[Deviation]],
        server_key: Callable[[], str] | None = None,
    ) -> None:
        self.app = app
        self.faults = faults
        self.limiter = limiter
        self.stats = stats
        self.connections = connections
        self.deviations = deviations
        self.server_key = server_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(CONTROL_PREFIX):
            if not _from_loopback(scope):
                await _send_json(send, 404, {"detail": "Not Found"})
                return
            await self.app(scope, receive, send)
            return
        self.stats.request(path)
        send = self._counting(send)
        fault = self.faults.take(path)
        if fault is None:
            await self._answer(scope, receive, send)
            return
        self.stats.fault(fault.kind)
        logger.debug("applying fault %s to %s", fault.kind, path)
        await self._apply(fault, scope, receive, send)

    def _counting(self, send: Send) -> Send:
        """Wrap ``send`` so every answer's status is counted."""

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.stats.status(message["status"])
            await send(message)

        return counting_send

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer normally: deviations, then the rate limit, then the app."""
        deviations = self.deviations()
        if deviations:
            send = _rewriting(scope, send, deviations)
            key = self.server_key() if self.server_key is not None else ""
            scope = _deviated_request(scope, deviations, key)
        if scope["path"].startswith("/v1/"):
            wait = self.limiter.acquire(_limit_key(scope))
            if wait is not None:
                body = {"detail": "Rate limit exceeded", "code": "rate_limited"}
                await _send_json(send, 429, body, [(b"retry-after", b"%d" % wait)])
                return
        await self.app(scope, receive, send)

    async def _apply(
        self, fault: Fault, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Answer the request as ``fault`` says."""
        if fault.kind == "status":
            await _send_status(send, fault)
        elif fault.kind == "latency":
            await asyncio.sleep(fault.delay)
            await self._answer(scope, receive, send)
        elif fault.kind == "malformed_json":
            body = b'{"id": "550e8400-e29b-41d4-a716-446655440000", "status": "compl'
            await _send_raw(send, 200, body, b"application/json")
        elif fault.kind == "reset":
            await self._reset(scope, receive)
        elif fault.kind == "overlong":
            await self._overlong(fault, scope, receive, send)
        else:
            await self._cut(fault, scope, receive, send)

    def _transport(self, scope: Scope, kind: str) -> asyncio.Transport:
        """Return the request's transport, which raw faults write to."""
        transport = self.connections.get(scope)
        if transport is None:
            raise RuntimeError(f"the {kind!r} fault needs the local API's own server")
        return transport

    async def _reset(self, scope: Scope, receive: Receive) -> None:
        """Drop the connection with a TCP reset and answer nothing."""
        transport = self._transport(scope, "reset")
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # A zero linger time makes close() send RST instead of FIN.
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        transport.abort()
        await _wait_for_disconnect(receive)

    async def _cut(
        self, fault: Fault, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Send part of the body (then wait, to stall), then close."""
        transport = self._transport(scope, fault.kind)
        sent = 0
        cut: int | None = fault.after_bytes

        async def cutting_send(message: Message) -> None:
            nonlocal sent, cut
            if message["type"] == "http.response.start":
                if cut is None:
                    declared = _header(message.get("headers", []), b"content-length")
                    truncating = declared is not None and fault.kind == "truncate"
                    cut = int(declared or 0) // 2 if truncating else 0
                await send(message)
                return
            body: bytes = message.get("body", b"")
            assert cut is not None
            if not message.get("more_body", False):
                cut = max(0, min(cut, sent + len(body) - 1))
            if sent + len(body) < cut:
                sent += len(body)
                await send(message)
                return
            part = body[: cut - sent]
            if part:
                await send(
                    {"type": "http.response.body", "body": part, "more_body": True}
                )
            sent = cut
            if fault.kind == "stall":
                await asyncio.sleep(fault.delay)
            raise _Cut

        try:
            await self._answer(scope, receive, cutting_send)
        except* _Cut:
            pass
        transport.close()
        await _wait_for_disconnect(receive)

    async def _overlong(
        self, fault: Fault, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Send the whole answer, then bytes beyond its Content-Length, then close."""
        transport = self._transport(scope, "overlong")
        extra = (
            fault.after_bytes if fault.after_bytes is not None else _OVERLONG_DEFAULT
        )
        junk = (b"overlong-" * (extra // 9 + 1))[:extra]

        async def overlong_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                # The server then closes the connection after the answer, so
                # no client sends its next request into the stray bytes.
                headers = [*message.get("headers", []), (b"connection", b"close")]
                await send({**message, "headers": headers})
                return
            if message.get("more_body"):
                await send(message)
                return
            await send({**message, "more_body": True})
            # The server's HTTP layer refuses bytes beyond Content-Length, so
            # they go straight to the transport, between body and end.
            transport.write(junk)
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self._answer(scope, receive, overlong_send)


def _from_loopback(scope: Scope) -> bool:
    """Whether the request came from a loopback address."""
    client = scope.get("client")
    if not client:
        return False
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


def _limit_key(scope: Scope) -> str:
    """Return the bucket a request draws from: its credentials, else its host."""
    authorization = _header(scope["headers"], b"authorization")
    if authorization:
        return "auth:" + authorization.decode("latin-1")
    client = scope.get("client")
    return f"host:{client[0] if client else ''}"


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """Return the first value of header ``name`` (lower case), if any."""
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


async def _send_raw(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Send a complete answer."""
    headers = [
        (b"content-type", content_type),
        (b"content-length", b"%d" % len(body)),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_json(
    send: Send,
    status: int,
    data: dict[str, Any],
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Send a JSON answer."""
    body = json.dumps(data, separators=(",", ":")).encode()
    await _send_raw(send, status, body, b"application/json", extra)


async def _send_status(send: Send, fault: Fault) -> None:
    """Answer with the fault's status and a JSON error body."""
    status = fault.status or 500
    extra = []
    if fault.retry_after is not None:
        extra.append((b"retry-after", b"%d" % fault.retry_after))
    if status in (204, 304):
        # These statuses carry no body; HTTP/1.1 forbids sending one.
        await send({"type": "http.response.start", "status": status, "headers": extra})
        await send({"type": "http.response.body", "body": b""})
        return
    if status == 429:
        body: dict[str, Any] = {"detail": "Rate limit exceeded", "code": "rate_limited"}
    else:
        try:
            body = {"detail": http.HTTPStatus(status).phrase}
        except ValueError:
            body = {"detail": "Unknown Error"}
    await _send_json(send, status, body, extra)


async def _wait_for_disconnect(receive: Receive) -> None:
    """Wait until the server reports the connection gone (bounded)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_DISCONNECT_TIMEOUT):
            while (await receive())["type"] != "http.disconnect":
                pass


def _deviated_request(
    scope: Scope, deviations: list[Deviation], server_key: str
) -> Scope:
    """Return ``scope`` with the query and headers the deviations give the request."""
    incoming = Incoming(
        method=scope["method"],
        path=scope["path"],
        query_string=scope.get("query_string", b""),
        headers=list(scope["headers"]),
        server_key=server_key,
    )
    changed = rewrite_request(incoming, deviations)
    if changed == incoming:
        return scope
    return {**scope, "query_string": changed.query_string, "headers": changed.headers}


def _rewriting(scope: Scope, send: Send, deviations: list[Deviation]) -> Send:
    """Wrap ``send`` so each deviation may rewrite the answer."""
    start: Message | None = None
    chunks: list[bytes] = []
    streamed = False

    def exchange(
        status: int, headers: list[tuple[bytes, bytes]], body: bytes | None
    ) -> Exchange:
        current = Exchange(
            method=scope["method"],
            path=scope["path"],
            query_string=scope.get("query_string", b""),
            request_headers=list(scope["headers"]),
            status=status,
            headers=list(headers),
            body=body,
        )
        for deviation in deviations:
            current = deviation.rewrite(current)
        return current

    async def rewriting_send(message: Message) -> None:
        nonlocal start, streamed
        if message["type"] == "http.response.start":
            start = message
            length = _header(message.get("headers", []), b"content-length")
            streamed = length is None or int(length) > _REWRITE_LIMIT
            if streamed:
                result = exchange(message["status"], message.get("headers", []), None)
                await send(
                    {**message, "status": result.status, "headers": result.headers}
                )
            return
        if streamed or message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        assert start is not None
        result = exchange(start["status"], start.get("headers", []), b"".join(chunks))
        body = result.body or b""
        headers = [(k, v) for k, v in result.headers if k.lower() != b"content-length"]
        headers.append((b"content-length", b"%d" % len(body)))
        await send({**start, "status": result.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return rewriting_send
