"""`Client` and `AsyncClient`: the SDK's entry points, mirroring each other."""

from __future__ import annotations

import asyncio
import collections
import heapq
import itertools
import logging
import math
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from uuid import UUID

import httpx
from qomplement_jobs_client import Client as GeneratedClient
from qomplement_jobs_client.api.jobs import download_job_file, get_job, list_jobs
from qomplement_jobs_client.models import Job, JobList, KnownJobStatus, KnownJobType
from qomplement_jobs_client.types import UNSET

from . import errors
from ._config import (
    DEFAULT_TIMEOUT,
    ApiKeyAuth,
    make_timeout,
    resolve_api_key,
    resolve_base_url,
    user_agent,
)
from ._download import (
    CHUNK_SIZE,
    DownloadProgressCallback,
    DownloadTarget,
    check_file_answer,
    check_length,
    incomplete,
)
from ._http import (
    MAX_ERROR_BODY,
    error_for_status,
    parse_body,
    retry_after_of,
    translating_transport_errors,
)
from ._waiting import JobWait, ProgressCallback, RateGate, WaitOutcome
from .clock import Clock, SystemClock
from .polling import Polling

logger = logging.getLogger(__name__)

JobId = UUID | str

DEFAULT_WAIT_TIMEOUT = 600.0
DEFAULT_PAGE_SIZE = 50
DEFAULT_CONCURRENCY = 8


class _ClientBase:
    """Configuration and bookkeeping shared by `Client` and `AsyncClient`."""

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: float,
        allow_insecure_http: bool,
        polling: Polling | None,
        clock: Clock | None,
    ) -> None:
        key = resolve_api_key(api_key)
        self.base_url = resolve_base_url(
            base_url, allow_insecure_http=allow_insecure_http
        )
        self.timeout = float(timeout)
        self.polling = polling if polling is not None else Polling()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._gate = RateGate(self.clock)
        self._warned_statuses: set[str] = set()
        self._warned_lock = threading.Lock()
        # The key reaches httpx only inside an Auth object whose repr hides it,
        # never as a default header, so no repr or headers dict shows it.
        self._generated = GeneratedClient(
            base_url=self.base_url,
            headers={"User-Agent": user_agent()},
            timeout=make_timeout(self.timeout),
            verify_ssl=True,
            follow_redirects=False,
            httpx_args={"auth": ApiKeyAuth(key)},
        )

    @property
    def generated(self) -> GeneratedClient:
        """The generated client, for calling `qomplement_jobs_client.api` directly."""
        return self._generated

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={errors.redact(self.base_url)!r})"

    def _warn_unknown_status(self, status: str) -> None:
        """Warn once per client about a status the spec does not list."""
        with self._warned_lock:
            if status in self._warned_statuses:
                return
            self._warned_statuses.add(status)
        logger.warning(
            "Job status %r is not in the spec; treating it as not finished. "
            "A newer SDK may know what it means.",
            status,
        )

    def _new_wait(
        self, job_id: UUID, timeout: float | None, on_progress: ProgressCallback | None
    ) -> JobWait:
        """Start the bookkeeping of one wait."""
        return JobWait(
            job_id,
            timeout=timeout,
            clock=self.clock,
            polling=self.polling,
            gate=self._gate,
            on_progress=on_progress,
            warn_unknown_status=self._warn_unknown_status,
        )

    def _build_request(
        self,
        client: httpx.Client | httpx.AsyncClient,
        kwargs: dict[str, Any],
        timeout: float | None,
    ) -> httpx.Request:
        """Build a request from a generated `_get_kwargs`, with its own timeout.

        The generated call styles take no per-request timeout and always read
        the whole body, so requests are built from the generated arguments and
        sent here.
        """
        return client.build_request(
            **kwargs,
            timeout=make_timeout(timeout if timeout is not None else self.timeout),
        )

    def _pause_before_sending(self, kwargs: dict[str, Any]) -> float:
        """Seconds to hold a request back for an earlier 429's Retry-After.

        Raises:
            RateLimitedError: the pause is longer than `Polling.max_retry_after`,
                so the request is not sent rather than held back that long.
        """
        paused = self._gate.remaining()
        if paused > self.polling.max_retry_after:
            raise errors.RateLimitedError(
                f"Not sending {kwargs['method'].upper()} {kwargs['url']}: the service "
                f"asked this client to pause {paused:.0f}s more, longer than "
                f"max_retry_after ({self.polling.max_retry_after:.0f}s)",
                retry_after=paused,
            )
        return paused

    def _after_response(self, response: httpx.Response) -> None:
        """Pause the whole client when the answer is a 429, then log it.

        Called once the status and headers are known and before the body is
        read, so no other request leaves while a 429's body is on its way.
        """
        if response.status_code == 429:
            self._gate.pause(retry_after_of(response) or 0.0)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d",
                response.request.method,
                errors.redact(response.request.url.path),
                response.status_code,
            )


class Client(_ClientBase):
    """A synchronous client of the qomplement Jobs API.

    Configure it with keyword arguments or the environment
    (`QOMPLEMENT_API_KEY`, `QOMPLEMENT_BASE_URL`). One pooled connection
    set serves every call; close it with `close()` or a `with` block.

    Args:
        api_key: The API key (`sd_...`); defaults to `QOMPLEMENT_API_KEY`.
        base_url: The service's URL; defaults to `QOMPLEMENT_BASE_URL`, then
            `https://developer-api.qomplement.com`.
        timeout: Seconds allowed for each phase of a request (connecting is
            capped at 10 s).
        allow_insecure_http: Allow `http://` to a host that is not loopback.
        polling: How `wait` spaces its looks (see `Polling`). Its
            `max_retry_after` also bounds how long any call is held back
            after a 429: a longer pause raises `RateLimitedError` instead.
        clock: Where waiting reads time and sleeps (tests pass a fake).

    Raises:
        ConfigurationError: no key, or an unsafe or invalid base URL.

    Example:
        >>> with Client() as client:
        ...     job = client.wait("550e8400-e29b-41d4-a716-446655440000")
        ...     client.download(job.id, "out/")
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        allow_insecure_http: bool = False,
        polling: Polling | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            allow_insecure_http=allow_insecure_http,
            polling=polling,
            clock=clock,
        )
        self._http = self._generated.get_httpx_client()

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # Sending

    def _send(
        self,
        kwargs: dict[str, Any],
        *,
        timeout: float | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send a request built from generated arguments, after any 429 pause.

        The pause is looked at again right before sending, after every sleep
        (a 429 seen meanwhile may have made it longer), and a 429 sets it as
        soon as its headers arrive, before its body is read.
        """
        while (paused := self._pause_before_sending(kwargs)) > 0:
            self.clock.sleep(paused)
        request = self._build_request(self._http, kwargs, timeout)
        where = f"{request.method} {request.url.path}"
        with translating_transport_errors(where):
            response = self._http.send(request, stream=True)
        self._after_response(response)
        if not stream:
            try:
                with translating_transport_errors(where):
                    response.read()
            finally:
                response.close()
        return response

    def _raise_for_status(
        self, response: httpx.Response, *, download: bool = False
    ) -> None:
        """Raise the SDK's exception for an error status (reading a bounded body)."""
        if 200 <= response.status_code < 300:
            return
        content = b""
        with translating_transport_errors("reading an error body"):
            for chunk in response.iter_bytes():
                content += chunk
                if len(content) >= MAX_ERROR_BODY:
                    break
        response.close()
        raise error_for_status(response, content, download=download)

    # Jobs

    def get_job(self, job_id: JobId) -> Job:
        """Return the current state of one job.

        Raises:
            NotFoundError: no job with this id exists for this key.
            QomplementError: any other failure (see `errors`).
        """
        return self._look(_as_uuid(job_id), timeout=None)[0]

    def _look(self, job_id: UUID, *, timeout: float | None) -> tuple[Job, float | None]:
        """One GET of a job: the job and the answer's Retry-After."""
        response = self._send(get_job._get_kwargs(job_id=job_id), timeout=timeout)
        self._raise_for_status(response)
        return parse_body(response, Job.from_dict), retry_after_of(response)

    def list_jobs(
        self,
        *,
        status: KnownJobStatus | str | None = None,
        type: KnownJobType | str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> JobList:
        """Return one page of the key's jobs, newest first.

        Raises:
            ValueError: `status` or `type` is not a value the spec knows.
            ValidationError: the service rejected `limit` or `offset`.
        """
        kwargs = _list_kwargs(status=status, type=type, limit=limit, offset=offset)
        response = self._send(kwargs)
        self._raise_for_status(response)
        return parse_body(response, JobList.from_dict)

    def iter_jobs(
        self,
        *,
        status: KnownJobStatus | str | None = None,
        type: KnownJobType | str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[Job]:
        """Yield every matching job, fetching pages lazily by offset.

        A job is yielded at most once per walk: when new jobs arrive during
        the walk and shift the pages, the ones already seen are skipped.

        Example:
            >>> failed = [job.id for job in client.iter_jobs(status="failed")]
        """
        walk = _PageWalk(page_size)
        while walk.more:
            page = self.list_jobs(
                status=status, type=type, limit=page_size, offset=walk.offset
            )
            yield from walk.take(page)

    # Waiting

    def wait(
        self,
        job_id: JobId,
        *,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        on_progress: ProgressCallback | None = None,
    ) -> Job:
        """Wait until a job finishes and return it completed.

        Looks at once, then at intervals set by `Polling`: backoff, the job's
        progress, and the service's `Retry-After`. Transient failures are
        retried up to `Polling.max_retries` times in a row. A status the spec
        does not list counts as not finished (and is logged once as a
        warning). `on_progress` is called with the job after every look.

        Args:
            timeout: Seconds until giving up, measured on a monotonic clock;
                None waits without limit. The deadline is passed by at most
                one request.

        Raises:
            JobFailedError: the job failed (`code`, `error_message`, `job`).
            WaitTimeoutError: the job was still running at the deadline (`job`).
            RateLimitedError: the service asked for a pause over `max_retry_after`.
            TransportError, ServerError, InvalidResponseError: the retries ran out.
            NotFoundError, AuthenticationError, ...: at once, not retried.

        Example:
            >>> job = client.wait(job_id, timeout=120, on_progress=print)
            >>> job.result.fields_filled
        """
        return self._follow(self._new_wait(_as_uuid(job_id), timeout, on_progress))

    def _follow(self, wait: JobWait) -> Job:
        """Look, pause, look again until the job finishes or the wait gives up."""
        while True:
            delay = self._poll_once(wait)
            if delay is None:
                assert wait.last_job is not None
                return wait.last_job
            self.clock.sleep(delay)

    def _poll_once(self, wait: JobWait) -> float | None:
        """Look at the job once: None if it completed, else the pause to take."""
        wait.check_gate()
        try:
            job, retry_after = self._look(
                wait.job_id, timeout=wait.request_timeout(self.timeout)
            )
        except errors.QomplementError as exc:
            return wait.on_error(exc)
        return wait.on_job(job, retry_after)

    def wait_many(
        self,
        job_ids: Iterable[JobId],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
    ) -> Iterator[WaitOutcome]:
        """Wait for many jobs, yielding each one's outcome as soon as it is known.

        Every job is followed from the start, each with `wait`'s schedule and
        its own `timeout` counted from the call. Looks are interleaved in one
        thread, one at a time, so `concurrency` (kept to mirror
        `AsyncClient.wait_many`) only has to be at least 1. A due look goes
        before the first look at another job. A job that fails or times out
        becomes an outcome with `error` set; it does not stop the others.

        Example:
            >>> for outcome in client.wait_many(ids):
            ...     print(outcome.job_id, "ok" if outcome.ok else outcome.error)
        """
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        job_uuids = [_as_uuid(job_id) for job_id in job_ids]
        # As in `AsyncClient.wait_many`: jobs not looked at yet in the order
        # given, the others in a heap by when their next look is due.
        fresh = collections.deque(
            self._new_wait(job_id, timeout, None) for job_id in job_uuids
        )
        due: list[tuple[float, int, JobWait]] = []
        order = itertools.count()
        while fresh or due:
            now = self.clock.monotonic()
            if due and due[0][0] <= now:
                wait = heapq.heappop(due)[2]
            elif fresh:
                wait = fresh.popleft()
            else:
                self.clock.sleep(due[0][0] - now)
                continue
            try:
                delay = self._poll_once(wait)
            except errors.QomplementError as exc:
                yield WaitOutcome(wait.job_id, wait.last_job, exc)
                continue
            if delay is None:
                yield WaitOutcome(wait.job_id, wait.last_job)
            else:
                heapq.heappush(due, (self.clock.monotonic() + delay, next(order), wait))

    # Downloading

    def download(
        self,
        job_id: JobId,
        destination: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        on_progress: DownloadProgressCallback | None = None,
    ) -> Path:
        """Stream a job's file to disk and return the path written.

        `destination` is a file path, or an existing directory, in which case
        the file is named from Content-Disposition (sanitised) or else
        `<job id>.<extension>`. The body goes to a temporary file beside the
        destination, is synced and checked against Content-Length, then
        renamed into place: the destination is never left partial.
        `on_progress(bytes_done, total_or_None)` follows each chunk.

        Raises:
            DestinationExistsError: the destination exists and `overwrite` is false.
            JobNotFinishedError, NoFileError, FileExpiredError: the job has no file now.
            NotFoundError: no job with this id exists for this key.
            DownloadIncompleteError: the body was cut short or had the wrong length.
            InvalidResponseError: the answer is JSON, not a file.

        Example:
            >>> path = client.download(job.id, "downloads/")
        """
        uuid = _as_uuid(job_id)
        target = DownloadTarget(destination, job_id=str(uuid), overwrite=overwrite)
        response = self._open_download(uuid)
        try:
            target.open(response)
            received = 0
            total = _content_length(response)
            for chunk in self._body_chunks(response):
                target.write(chunk)
                received += len(chunk)
                if on_progress is not None:
                    on_progress(received, total)
            check_length(response)
            target.sync()
            return target.publish()
        except BaseException:
            target.abort()
            raise
        finally:
            response.close()

    def download_bytes(self, job_id: JobId) -> bytes:
        """Return a job's file as bytes (use `download` for large files).

        Raises the same errors as `download`.
        """
        return b"".join(self.iter_download(job_id))

    def iter_download(self, job_id: JobId) -> Iterator[bytes]:
        """Yield a job's file in chunks as they arrive.

        The request is sent on the first `next()`; close the iterator (or
        exhaust it) to release the connection. Raises the same errors as
        `download`, `DownloadIncompleteError` after the last chunk if the
        body was short.
        """
        response = self._open_download(_as_uuid(job_id))
        try:
            yield from self._body_chunks(response)
            check_length(response)
        finally:
            response.close()

    def _open_download(self, job_id: UUID) -> httpx.Response:
        """Send the download request and return the streaming 200 answer."""
        response = self._send(download_job_file._get_kwargs(job_id=job_id), stream=True)
        self._raise_for_status(response, download=True)
        try:
            check_file_answer(response)
        except errors.InvalidResponseError:
            response.close()
            raise
        return response

    def _body_chunks(self, response: httpx.Response) -> Iterator[bytes]:
        """The body in chunks; a transport failure becomes `DownloadIncompleteError`."""
        try:
            with translating_transport_errors("download"):
                yield from response.iter_bytes(CHUNK_SIZE)
        except errors.TransportError as exc:
            raise incomplete(response, exc) from exc


class AsyncClient(_ClientBase):
    """An asyncio client of the qomplement Jobs API, mirroring `Client`.

    Every method of `Client` exists here as a coroutine (or an async
    iterator), with the same arguments and behaviour. Cancelling a call
    cancels its requests and sleeps and leaves no task behind.

    Example:
        >>> async with AsyncClient() as client:
        ...     async for outcome in client.wait_many(ids, concurrency=4):
        ...         print(outcome.job_id, outcome.ok)
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        allow_insecure_http: bool = False,
        polling: Polling | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            allow_insecure_http=allow_insecure_http,
            polling=polling,
            clock=clock,
        )
        self._http = self._generated.get_async_httpx_client()

    async def close(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # Sending

    async def _send(
        self,
        kwargs: dict[str, Any],
        *,
        timeout: float | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send a request built from generated arguments, after any 429 pause.

        As in `Client._send`: the pause is looked at again right before
        sending and after every sleep, and a 429 sets it before its body is
        read. Nothing awaits between the last look and the send, so no other
        task can set a pause in between.
        """
        while (paused := self._pause_before_sending(kwargs)) > 0:
            await self.clock.asleep(paused)
        request = self._build_request(self._http, kwargs, timeout)
        where = f"{request.method} {request.url.path}"
        with translating_transport_errors(where):
            response = await self._http.send(request, stream=True)
        self._after_response(response)
        if not stream:
            try:
                with translating_transport_errors(where):
                    await response.aread()
            finally:
                await response.aclose()
        return response

    async def _raise_for_status(
        self, response: httpx.Response, *, download: bool = False
    ) -> None:
        """Raise the SDK's exception for an error status (reading a bounded body)."""
        if 200 <= response.status_code < 300:
            return
        content = b""
        with translating_transport_errors("reading an error body"):
            async for chunk in response.aiter_bytes():
                content += chunk
                if len(content) >= MAX_ERROR_BODY:
                    break
        await response.aclose()
        raise error_for_status(response, content, download=download)

    # Jobs

    async def get_job(self, job_id: JobId) -> Job:
        """Return the current state of one job (see `Client.get_job`)."""
        return (await self._look(_as_uuid(job_id), timeout=None))[0]

    async def _look(
        self, job_id: UUID, *, timeout: float | None
    ) -> tuple[Job, float | None]:
        """One GET of a job: the job and the answer's Retry-After."""
        response = await self._send(get_job._get_kwargs(job_id=job_id), timeout=timeout)
        await self._raise_for_status(response)
        return parse_body(response, Job.from_dict), retry_after_of(response)

    async def list_jobs(
        self,
        *,
        status: KnownJobStatus | str | None = None,
        type: KnownJobType | str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> JobList:
        """Return one page of the key's jobs, newest first (see `Client.list_jobs`)."""
        kwargs = _list_kwargs(status=status, type=type, limit=limit, offset=offset)
        response = await self._send(kwargs)
        await self._raise_for_status(response)
        return parse_body(response, JobList.from_dict)

    async def iter_jobs(
        self,
        *,
        status: KnownJobStatus | str | None = None,
        type: KnownJobType | str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[Job]:
        """Yield every matching job, fetching pages lazily (see `Client.iter_jobs`).

        Example:
            >>> async for job in client.iter_jobs(type="fill_pdf"):
            ...     print(job.id)
        """
        walk = _PageWalk(page_size)
        while walk.more:
            page = await self.list_jobs(
                status=status, type=type, limit=page_size, offset=walk.offset
            )
            for job in walk.take(page):
                yield job

    # Waiting

    async def wait(
        self,
        job_id: JobId,
        *,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        on_progress: ProgressCallback | None = None,
    ) -> Job:
        """Wait until a job finishes and return it completed (see `Client.wait`)."""
        return await self._follow(
            self._new_wait(_as_uuid(job_id), timeout, on_progress)
        )

    async def _follow(self, wait: JobWait) -> Job:
        """Look, pause, look again until the job finishes or the wait gives up."""
        while True:
            delay = await self._poll_once(wait)
            if delay is None:
                assert wait.last_job is not None
                return wait.last_job
            await self.clock.asleep(delay)

    async def _poll_once(self, wait: JobWait) -> float | None:
        """Look at the job once: None if it completed, else the pause to take."""
        wait.check_gate()
        try:
            job, retry_after = await self._look(
                wait.job_id, timeout=wait.request_timeout(self.timeout)
            )
        except errors.QomplementError as exc:
            return wait.on_error(exc)
        return wait.on_job(job, retry_after)

    async def wait_many(
        self,
        job_ids: Iterable[JobId],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
    ) -> AsyncIterator[WaitOutcome]:
        """Wait for many jobs, yielding each outcome as soon as it is known.

        Every job is followed from the start, each with `wait`'s schedule
        and its own `timeout` counted from the call; `concurrency` bounds
        the looks in flight at once (halved after a 429, then widened again
        answer by answer), and a look that is due goes before the first look
        at a job not looked at yet. A failure or timeout is an outcome with
        `error` set and does not cancel the others; a 429 on one job pauses
        the looks of all of them. Leaving the loop early (or cancelling)
        cancels and awaits every task; use `contextlib.aclosing` to make
        that immediate after a `break`.

        Example:
            >>> async for outcome in client.wait_many(ids, concurrency=4):
            ...     print(outcome.job_id, outcome.ok)
        """
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        job_uuids = [_as_uuid(job_id) for job_id in job_ids]
        # Jobs not looked at yet wait in the order given; the others in a
        # heap by when their next look is due. A due look goes before a
        # first look: when a rate limit makes looks scarce, they go to the
        # jobs already followed, and each job is first looked at when there
        # is room, later and so more likely finished.
        fresh = collections.deque(
            self._new_wait(job_id, timeout, None) for job_id in job_uuids
        )
        due: list[tuple[float, int, JobWait]] = []
        order = itertools.count()
        looks: dict[asyncio.Future[float | None], JobWait] = {}
        sleeper: asyncio.Task[None] | None = None
        # The looks allowed in flight: halved after a 429, then widened by
        # one per window of answers, so that after a pause the service sees
        # a few looks at a time rather than `concurrency` at once, and the
        # next time the limit is met fewer looks are already on their way.
        window = float(concurrency)
        pauses_seen = self._gate.pauses
        resumed_at = -math.inf
        try:
            while fresh or due or looks:
                # Start the looks there is room for; during a 429's pause
                # they wait in `_send`, which also gives up on a pause that
                # is too long, or past a job's deadline, at once.
                now = self.clock.monotonic()
                while len(looks) < int(window):
                    if due and due[0][0] <= now:
                        wait = heapq.heappop(due)[2]
                    elif fresh:
                        wait = fresh.popleft()
                    else:
                        break
                    task = asyncio.create_task(
                        self._poll_once(wait), name=f"qomplement-look-{wait.job_id}"
                    )
                    looks[task] = wait
                waiting_on: set[asyncio.Future[Any]] = set(looks)
                if due and not fresh and len(looks) < int(window):
                    # Wake for the next due look.
                    pause = due[0][0] - now
                    sleeper = asyncio.create_task(self.clock.asleep(pause))
                    waiting_on.add(sleeper)
                done, _ = await asyncio.wait(
                    waiting_on, return_when=asyncio.FIRST_COMPLETED
                )
                if sleeper is not None and not sleeper.done():
                    sleeper.cancel()
                    await asyncio.gather(sleeper, return_exceptions=True)
                sleeper = None
                limited = self._gate.pauses != pauses_seen
                if limited:
                    pauses_seen = self._gate.pauses
                    # Once per pause: the 429s of looks already in flight
                    # when the first one came do not halve it again.
                    if self.clock.monotonic() >= resumed_at:
                        window = max(1.0, window / 2)
                        resumed_at = self.clock.monotonic() + self._gate.remaining()
                for finished in done:
                    wait_of = looks.pop(finished, None)
                    if wait_of is None:
                        continue
                    if not limited:
                        window = min(float(concurrency), window + 1 / window)
                    outcome = self._look_outcome(finished, wait_of)
                    if not isinstance(outcome, WaitOutcome):
                        at = self.clock.monotonic() + outcome
                        heapq.heappush(due, (at, next(order), wait_of))
                    else:
                        yield outcome
        finally:
            running: list[asyncio.Future[Any]] = list(looks)
            if sleeper is not None:
                running.append(sleeper)
            for future in running:
                future.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    @staticmethod
    def _look_outcome(
        look: asyncio.Future[float | None], wait: JobWait
    ) -> WaitOutcome | float:
        """The outcome of a finished look, or the pause before the job's next one.

        Raises:
            BaseException: whatever the look raised that is not an API error.
        """
        try:
            delay = look.result()
        except errors.QomplementError as exc:
            return WaitOutcome(wait.job_id, wait.last_job, exc)
        if delay is None:
            return WaitOutcome(wait.job_id, wait.last_job)
        return delay

    # Downloading

    async def download(
        self,
        job_id: JobId,
        destination: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        on_progress: DownloadProgressCallback | None = None,
    ) -> Path:
        """Stream a job's file to disk; return the path (see `Client.download`)."""
        uuid = _as_uuid(job_id)
        target = DownloadTarget(destination, job_id=str(uuid), overwrite=overwrite)
        response = await self._open_download(uuid)
        try:
            target.open(response)
            received = 0
            total = _content_length(response)
            async for chunk in self._body_chunks(response):
                # Limitation: chunks are written on the event loop; a very slow
                # disk delays other tasks by one 64 KiB write at a time. The
                # fsync, which can take long, runs in a thread.
                target.write(chunk)
                received += len(chunk)
                if on_progress is not None:
                    on_progress(received, total)
            check_length(response)
            await _off_loop(target.sync)
            return target.publish()
        except BaseException:
            target.abort()
            raise
        finally:
            await response.aclose()

    async def download_bytes(self, job_id: JobId) -> bytes:
        """Return a job's file as bytes (see `Client.download_bytes`)."""
        return b"".join([chunk async for chunk in self.iter_download(job_id)])

    async def iter_download(self, job_id: JobId) -> AsyncIterator[bytes]:
        """Yield a job's file in chunks as they arrive (see `Client.iter_download`)."""
        response = await self._open_download(_as_uuid(job_id))
        try:
            async for chunk in self._body_chunks(response):
                yield chunk
            check_length(response)
        finally:
            await response.aclose()

    async def _open_download(self, job_id: UUID) -> httpx.Response:
        """Send the download request and return the streaming 200 answer."""
        response = await self._send(
            download_job_file._get_kwargs(job_id=job_id), stream=True
        )
        await self._raise_for_status(response, download=True)
        try:
            check_file_answer(response)
        except errors.InvalidResponseError:
            await response.aclose()
            raise
        return response

    async def _body_chunks(self, response: httpx.Response) -> AsyncIterator[bytes]:
        """The body in chunks; a transport failure becomes `DownloadIncompleteError`."""
        try:
            with translating_transport_errors("download"):
                async for chunk in response.aiter_bytes(CHUNK_SIZE):
                    yield chunk
        except errors.TransportError as exc:
            raise incomplete(response, exc) from exc


class _PageWalk:
    """Offset bookkeeping of a walk over pages, skipping jobs already yielded."""

    def __init__(self, page_size: int) -> None:
        if not 1 <= page_size <= 100:
            raise ValueError("page_size must be between 1 and 100")
        self.offset = 0
        self.more = True
        self._seen: set[UUID] = set()

    def take(self, page: JobList) -> list[Job]:
        """The jobs of `page` not seen before; advances the offset."""
        # Limitation: offsets shift when jobs arrive (handled: seen ids are
        # skipped) but also when they leave the filter during the walk, e.g.
        # a job listed by status=processing that completes; then a job can
        # be skipped. Walks without a status filter are not affected.
        fresh: list[Job] = []
        for job in page.jobs:
            # Checked one by one, so a page that lists a job twice yields it once.
            if job.id not in self._seen:
                self._seen.add(job.id)
                fresh.append(job)
        skipped = len(page.jobs) - len(fresh)
        if skipped:
            logger.debug(
                "Skipped %d jobs already seen at offset %d", skipped, self.offset
            )
        self.offset += len(page.jobs)
        # `has_more` means `offset + page length < total`; trusting it alone
        # would let an answer that contradicts `total` page forever.
        within_total = not isinstance(page.total, int) or self.offset < page.total
        self.more = bool(page.has_more) and bool(page.jobs) and within_total
        return fresh


def _as_uuid(job_id: JobId) -> UUID:
    """A job id as a UUID.

    Raises:
        ValueError: the id is not a UUID (the service would answer 422).
    """
    if isinstance(job_id, UUID):
        return job_id
    try:
        return UUID(str(job_id))
    except ValueError:
        pass
    # Raised outside the handler, so no chained exception repeats the id.
    raise ValueError(errors.redact(f"Job id {job_id!r} is not a UUID"))


def _list_kwargs(
    *,
    status: KnownJobStatus | str | None,
    type: KnownJobType | str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """The generated request arguments of `GET /v1/jobs`."""
    problem: str | None = None
    try:
        status_value = KnownJobStatus(status) if status is not None else UNSET
        type_value = KnownJobType(type) if type is not None else UNSET
    except ValueError as exc:
        problem = str(exc)
    # Raised outside the handler, so no chained exception repeats the value.
    if problem is not None:
        raise ValueError(
            errors.redact(
                f"{problem}; the service rejects values the spec does not list"
            )
        )
    return list_jobs._get_kwargs(
        status=status_value, type_=type_value, limit=limit, offset=offset
    )


def _content_length(response: httpx.Response) -> int | None:
    """The decoded size to report as progress total, when the body is not compressed."""
    from ._download import expected_length

    encoding = response.headers.get("content-encoding", "identity").lower()
    return expected_length(response) if encoding in ("", "identity") else None


async def _off_loop(function: Callable[[], None]) -> None:
    """Run blocking `function` in a thread; if cancelled, let it end first."""
    future = asyncio.get_running_loop().run_in_executor(None, function)
    try:
        await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise
