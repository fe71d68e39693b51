"""Run the local API under uvicorn in a background thread, and steer it.

Example::

    from qomplement_local_api import ManualClock, serve

    with serve(clock=ManualClock()) as api:
        job_id = api.create_job(type="fill_pdf", duration=2.0)
        api.clock.advance(3.0)
        # GET {api.base_url}/v1/jobs/{job_id} with api.api_key: completed
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .app import Backend, create_app
from .clock import Clock, MonotonicClock
from .deviations import Deviation, resolve
from .faults import ConnectionRegistry, Fault, LocalMiddleware
from .jobs import JobStore

__all__ = ["LocalAPI", "is_loopback", "serve"]

logger = logging.getLogger(__name__)

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _protocol_class(connections: ConnectionRegistry) -> type[H11Protocol]:
    """Return uvicorn's h11 protocol, registering each connection's transport."""

    class RegisteringH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            connections.add(self.client, transport)

        def connection_lost(self, exc: Exception | None) -> None:
            connections.discard(self.client)
            super().connection_lost(exc)

    return RegisteringH11Protocol


def _bind(host: str, port: int) -> socket.socket:
    """Return a socket bound to ``host`` and ``port`` (0: a free port)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def _url(sock: socket.socket) -> str:
    """Return the base URL of the bound ``sock``."""
    address, port = sock.getsockname()[:2]
    if ":" in address:
        address = f"[{address}]"
    return f"http://{address}:{port}"


class LocalAPI:
    """A running local API: its address, its keys and its control surface.

    Made by :func:`serve`; stop it with :meth:`stop` or a ``with`` block.
    """

    def __init__(
        self, backend: Backend, server: uvicorn.Server, sock: socket.socket
    ) -> None:
        self._backend = backend
        self._server = server
        self._socket = sock
        self._thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name="qomplement-local-api",
            daemon=True,
        )

    # -- lifecycle -----------------------------------------------------------

    def _start(self) -> None:
        """Start the server thread and wait until it accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the local API did not start")
            time.sleep(0.005)
        logger.debug("local API listening on %s", self.base_url)

    def stop(self) -> None:
        """Stop the server, close its connections and delete its files."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(_STOP_TIMEOUT)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(_STOP_TIMEOUT)
        self._socket.close()
        self._backend.files.close()

    @property
    def running(self) -> bool:
        """Whether the server thread is still serving."""
        return self._thread.is_alive() and not self._server.should_exit

    def __enter__(self) -> LocalAPI:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LocalAPI(base_url={self.base_url!r})"

    # -- what clients need ---------------------------------------------------

    @property
    def base_url(self) -> str:
        """The server's address, such as ``http://127.0.0.1:54321``."""
        return self._backend.base_url

    @property
    def api_key(self) -> str:
        """A valid key; it owns the sample data."""
        return self._backend.store.api_key

    @property
    def revoked_key(self) -> str:
        """A well-formed key that answers ``403``."""
        return self._backend.store.revoked_key

    @property
    def clock(self) -> Clock:
        """The clock the jobs, expiry and rate limit follow."""
        return self._backend.clock

    @property
    def deviations(self) -> tuple[str, ...]:
        """Names of the deviations the server was started with."""
        return tuple(self._backend.deviation_names)

    # -- control -------------------------------------------------------------

    def create_job(
        self,
        *,
        type: str = "fill_pdf",
        duration: float = 2.0,
        pending: float = 0.0,
        outcome: str = "completed",
        error_code: str | None = None,
        error_message: str | None = None,
        progress_steps: int | None = None,
        status_override: str | None = None,
        file_size: int | None = None,
        filename: str | None = None,
        content_disposition: str | None = None,
        expires_in: float = 7 * 86400,
        retry_after: int | None = None,
        key: str | None = None,
        job_id: str | None = None,
    ) -> str:
        """Create a job that runs from now on and return its id.

        The job stays ``pending`` for ``pending`` seconds, ``processing`` for
        ``duration`` seconds (with ``progress`` when ``progress_steps`` is
        set), then ends as ``outcome``. A failed job's ``error_code``
        defaults to ``no_form_fields`` for ``fill_pdf``, else
        ``processing_error``. ``file_size`` pads the download to
        exactly that many bytes. ``key`` owns the job (default
        :attr:`api_key`); ``job_id`` fixes its id.

        Raises:
            ValueError: an argument is out of range.
        """
        job = self._backend.create_job(
            owner=key,
            type=type,
            duration=duration,
            pending=pending,
            outcome=outcome,
            error_code=error_code,
            error_message=error_message,
            progress_steps=progress_steps,
            status_override=status_override,
            file_size=file_size,
            filename=filename,
            content_disposition=content_disposition,
            expires_in=expires_in,
            retry_after=retry_after,
            job_id=job_id,
        )
        return str(job.id)

    def new_key(self, *, revoked: bool = False) -> str:
        """Register another key (valid unless ``revoked``) and return it."""
        return self._backend.store.new_key(revoked=revoked)

    def inject(self, fault: Fault) -> None:
        """Queue ``fault`` for the next matching requests."""
        self._backend.faults.add(fault)

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        self._backend.faults.clear()

    def faults(self) -> list[dict[str, Any]]:
        """Return the queued faults and the requests each has left."""
        return self._backend.faults.pending()

    def set_rate_limit(self, rps: float | None, burst: int | None = None) -> None:
        """Limit each key to ``rps`` requests a second (``None``: no limit).

        Requests beyond the bucket answer ``429`` with ``Retry-After``.
        ``burst`` defaults to ``rps`` rounded up.
        """
        self._backend.limiter.configure(rps, burst)

    def stats(self) -> dict[str, Any]:
        """Return request counts: ``requests``, ``by_path``, ``status_counts``,
        ``"429"`` and ``faults`` (applied, by kind)."""
        return self._backend.stats.snapshot()

    def reset(self) -> None:
        """Drop created jobs, extra keys, faults, the rate limit and the counts.

        The sample data stays.
        """
        self._backend.reset()


def serve(
    *,
    clock: Clock | None = None,
    port: int = 0,
    host: str = "127.0.0.1",
    sample_data: bool = True,
    deviations: Iterable[str | Deviation] = (),
    api_key: str | None = None,
    allow_non_loopback: bool = False,
) -> LocalAPI:
    """Start the local API in a background thread and return its handle.

    Use it as a context manager so the server stops::

        with serve() as api:
            ...

    ``port`` 0 picks a free port. ``api_key`` fixes the valid key (default:
    a new random one). ``deviations`` are departures from the spec the
    server makes: names from
    :data:`~qomplement_local_api.deviations.KNOWN_DEVIATIONS` or objects of
    your own (see :mod:`qomplement_local_api.deviations`).

    Raises:
        ValueError: ``host`` is not loopback and ``allow_non_loopback`` is
            false, ``api_key`` is malformed, or a deviation's name is unknown.
        OSError: the address cannot be bound.
        RuntimeError: the server did not start.
    """
    if not allow_non_loopback and not is_loopback(host):
        raise ValueError(f"refusing to serve on {host!r}: not a loopback address")
    clock = clock if clock is not None else MonotonicClock()
    names, active = resolve(deviations)
    backend = Backend(
        clock=clock,
        store=JobStore(clock, api_key=api_key),
        deviation_names=names,
        deviations=active,
        sample_data=sample_data,
    )
    if sample_data:
        backend.store.add_sample_data()
    connections = ConnectionRegistry()
    app = LocalMiddleware(
        create_app(backend),
        faults=backend.faults,
        limiter=backend.limiter,
        stats=backend.stats,
        connections=connections,
        deviations=lambda: backend.deviations,
        server_key=lambda: backend.store.api_key,
    )
    config = uvicorn.Config(
        app,
        http=_protocol_class(connections),
        ws="none",
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=3,
    )
    sock = _bind(host, port)
    backend.base_url = _url(sock)
    api = LocalAPI(backend, uvicorn.Server(config), sock)
    api._start()
    return api
