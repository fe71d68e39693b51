"""Named departures from openapi.yaml that the local API can be told to make.

Each deviation breaks the spec in one realistic way, so a conformance suite
can be shown to catch it: start the server with ``serve(deviations=[name])``
and the suite must fail. Most deviations rewrite an answer on its way out
(:meth:`Deviation.rewrite`); a few change the request before the app sees it
(:meth:`RequestDeviation.rewrite_request`), where the app's own answer to the
changed request is the departure (a filter dropped, a page shifted, a missing
key taken for the server's own).

:data:`KNOWN_DEVIATIONS` maps each name to its class; every server gets fresh
instances, so a deviation that counts requests counts only its server's.

Example::

    from qomplement_local_api import serve

    with serve(deviations=["total_as_string"]) as api:
        ...  # GET /v1/jobs now answers {"total": "45", ...}
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlencode

__all__ = [
    "KNOWN_DEVIATIONS",
    "Deviation",
    "Exchange",
    "Incoming",
    "KnownDeviation",
    "RequestDeviation",
    "operation_of",
    "resolve",
    "rewrite_request",
]

LIST = "list"
GET = "get"
DOWNLOAD = "download"

_JSON = b"application/json"
_KNOWN_STATUSES = ("pending", "processing", "completed", "failed")


@dataclass
class Exchange:
    """One request and the answer about to be sent for it.

    ``body`` is ``None`` for streamed answers (downloads): a deviation can
    then change the status and headers only.
    """

    method: str
    path: str
    query_string: bytes
    request_headers: list[tuple[bytes, bytes]]
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes | None


@dataclass(frozen=True)
class Incoming:
    """A request before the app sees it.

    A request deviation may replace ``query_string`` and ``headers``;
    ``method`` and ``path`` are there to read. ``server_key`` is the key that
    owns the server's sample data, for deviations that act on its behalf.
    """

    method: str
    path: str
    query_string: bytes
    headers: list[tuple[bytes, bytes]]
    server_key: str = field(repr=False)


@runtime_checkable
class Deviation(Protocol):
    """A named rewrite of answers."""

    name: str

    def rewrite(self, exchange: Exchange) -> Exchange:
        """Return the answer to send instead (or ``exchange`` unchanged)."""
        ...


@runtime_checkable
class RequestDeviation(Protocol):
    """A deviation that also changes requests before the app answers them."""

    name: str

    def rewrite_request(self, request: Incoming) -> Incoming:
        """Return the request the app should see (or ``request`` unchanged)."""
        ...


class KnownDeviation:
    """Base of the registered deviations: a name, what it breaks, no change.

    A subclass's one-line docstring is its ``description``.
    """

    name = ""
    description = ""

    def rewrite(self, exchange: Exchange) -> Exchange:
        """Return ``exchange`` unchanged; subclasses rewrite the answers they break."""
        return exchange

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


KNOWN_DEVIATIONS: dict[str, type[KnownDeviation]] = {}


def _register(cls: type[KnownDeviation]) -> type[KnownDeviation]:
    """Add ``cls`` to :data:`KNOWN_DEVIATIONS`, described by its docstring."""
    assert cls.name and cls.__doc__ and cls.name not in KNOWN_DEVIATIONS
    cls.description = cls.__doc__
    KNOWN_DEVIATIONS[cls.name] = cls
    return cls


def resolve(deviations: Iterable[str | Deviation]) -> tuple[list[str], list[Deviation]]:
    """Return the names of ``deviations`` and the deviations to apply.

    A name is looked up in :data:`KNOWN_DEVIATIONS` and gets a fresh
    instance; anything else is used as it is.

    Raises:
        ValueError: a name is not in :data:`KNOWN_DEVIATIONS`.
    """
    names: list[str] = []
    active: list[Deviation] = []
    for item in deviations:
        if isinstance(item, str):
            known = KNOWN_DEVIATIONS.get(item)
            if known is None:
                raise ValueError(
                    f"unknown deviation {item!r}; known deviations: "
                    + ", ".join(sorted(KNOWN_DEVIATIONS))
                )
            names.append(item)
            active.append(known())
        else:
            names.append(item.name)
            active.append(item)
    return names, active


def rewrite_request(request: Incoming, deviations: Iterable[Deviation]) -> Incoming:
    """Pass ``request`` through every deviation that rewrites requests, in order."""
    for deviation in deviations:
        if isinstance(deviation, RequestDeviation):
            request = deviation.rewrite_request(request)
    return request


# -- helpers -------------------------------------------------------------------


def operation_of(path: str) -> str | None:
    """Which Jobs endpoint ``path`` names: ``list``, ``get``, ``download`` or None."""
    parts = path.split("/")[1:]
    if parts[:2] != ["v1", "jobs"] or not all(parts):
        return None
    if len(parts) == 2:
        return LIST
    if len(parts) == 3:
        return GET
    if len(parts) == 4 and parts[3] == "download":
        return DOWNLOAD
    return None


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower case), if any."""
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _without(
    headers: list[tuple[bytes, bytes]], name: bytes
) -> list[tuple[bytes, bytes]]:
    """``headers`` with every ``name`` header (lower case) removed."""
    return [(key, value) for key, value in headers if key.lower() != name]


def _with(
    headers: list[tuple[bytes, bytes]], name: bytes, value: bytes
) -> list[tuple[bytes, bytes]]:
    """``headers`` with header ``name`` (lower case) set to ``value`` alone."""
    return [*_without(headers, name), (name, value)]


def _json_body(exchange: Exchange) -> Any:
    """The answer's parsed JSON body; None when it has none or it is not JSON."""
    content_type = _header(exchange.headers, b"content-type") or b""
    if exchange.body is None or not content_type.startswith(_JSON):
        return None
    try:
        return json.loads(exchange.body)
    except ValueError:
        return None


def _with_json(exchange: Exchange, data: Any, status: int | None = None) -> Exchange:
    """``exchange`` answering ``data`` as JSON (the middleware fixes the length)."""
    return replace(
        exchange,
        status=exchange.status if status is None else status,
        headers=_with(exchange.headers, b"content-type", _JSON),
        body=json.dumps(data, separators=(",", ":")).encode(),
    )


def _query(raw: bytes) -> list[tuple[str, str]]:
    """The query string's pairs, in order."""
    return parse_qsl(raw.decode("latin-1"), keep_blank_values=True)


def _query_value(raw: bytes, name: str) -> str | None:
    """The first value of query parameter ``name``, if any."""
    for key, value in _query(raw):
        if key == name:
            return value
    return None


def _int_or_none(text: str | None) -> int | None:
    """``text`` as an int, or None when it is not one."""
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


def _with_query(request: Incoming, pairs: list[tuple[str, str]]) -> Incoming:
    """``request`` with its query string replaced by ``pairs``."""
    return replace(request, query_string=urlencode(pairs).encode("latin-1"))


def _shift_offset(request: Incoming, by: int) -> Incoming:
    """``request`` with a positive ``offset`` moved by ``by``."""
    if operation_of(request.path) != LIST:
        return request
    offset = _int_or_none(_query_value(request.query_string, "offset"))
    if offset is None or offset <= 0:
        return request
    pairs = [(k, v) for k, v in _query(request.query_string) if k != "offset"]
    return _with_query(request, [*pairs, ("offset", str(max(0, offset + by)))])


def _rewrite_jobs(
    exchange: Exchange, change: Callable[[dict[str, Any]], None]
) -> Exchange:
    """Apply ``change`` to the job of a 200 get, or to each job of a 200 list."""
    operation = operation_of(exchange.path)
    body = _json_body(exchange)
    if exchange.status != 200 or not isinstance(body, dict):
        return exchange
    if operation == GET:
        change(body)
    elif operation == LIST and isinstance(body.get("jobs"), list):
        for job in body["jobs"]:
            if isinstance(job, dict):
                change(job)
    else:
        return exchange
    return _with_json(exchange, body)


def _rewrite_page(
    exchange: Exchange, change: Callable[[dict[str, Any]], None]
) -> Exchange:
    """Apply ``change`` to the body of a 200 list answer."""
    body = _json_body(exchange)
    if operation_of(exchange.path) != LIST or exchange.status != 200:
        return exchange
    if not isinstance(body, dict):
        return exchange
    change(body)
    return _with_json(exchange, body)


def _is_download_file(exchange: Exchange) -> bool:
    """Whether the answer is a download's file (200 on the download path)."""
    return operation_of(exchange.path) == DOWNLOAD and exchange.status == 200


def _server_error(exchange: Exchange) -> Exchange:
    """The answer an unhandled exception gets from the service's framework."""
    return replace(
        exchange,
        status=500,
        headers=_with(
            _without(exchange.headers, b"retry-after"),
            b"content-type",
            b"text/plain; charset=utf-8",
        ),
        body=b"Internal Server Error",
    )


# -- bodies --------------------------------------------------------------------


@_register
class TotalAsString(KnownDeviation):
    """A job list's `total` is a string ("45"), not an integer."""

    name = "total_as_string"

    def rewrite(self, exchange: Exchange) -> Exchange:
        def change(page: dict[str, Any]) -> None:
            page["total"] = str(page.get("total"))

        return _rewrite_page(exchange, change)


@_register
class ProgressAsPercentage(KnownDeviation):
    """A processing job's `progress` is a bare percentage, not an object."""

    name = "progress_as_percentage"

    def rewrite(self, exchange: Exchange) -> Exchange:
        def change(job: dict[str, Any]) -> None:
            progress = job.get("progress")
            if isinstance(progress, dict) and progress.get("total"):
                job["progress"] = round(100 * progress["current"] / progress["total"])

        return _rewrite_jobs(exchange, change)


@_register
class JobWithoutCreatedAt(KnownDeviation):
    """Jobs are sent without `created_at`, which the spec requires."""

    name = "job_without_created_at"

    def rewrite(self, exchange: Exchange) -> Exchange:
        return _rewrite_jobs(exchange, lambda job: job.pop("created_at", None))


@_register
class NullErrorMessage(KnownDeviation):
    """A failed job's `error.message` is null; the spec says a string."""

    name = "null_error_message"

    def rewrite(self, exchange: Exchange) -> Exchange:
        def change(job: dict[str, Any]) -> None:
            if isinstance(job.get("error"), dict):
                job["error"]["message"] = None

        return _rewrite_jobs(exchange, change)


@_register
class DatetimeWithoutTimezone(KnownDeviation):
    """Timestamps read `2025-02-26 10:30:00`: a space and no offset, not RFC 3339."""

    name = "datetime_without_timezone"

    def rewrite(self, exchange: Exchange) -> Exchange:
        def change(job: dict[str, Any]) -> None:
            for name in ("created_at", "started_at", "completed_at"):
                value = job.get(name)
                if isinstance(value, str):
                    job[name] = value.replace("T", " ").removesuffix("Z")

        return _rewrite_jobs(exchange, change)


@_register
class ErrorObjectBody(KnownDeviation):
    """Error answers carry `{"error": {"code", "message"}}`, not `detail` text."""

    name = "error_object_body"

    def rewrite(self, exchange: Exchange) -> Exchange:
        body = _json_body(exchange)
        if exchange.status < 400 or not isinstance(body, dict):
            return exchange
        detail = body.get("detail")
        if not isinstance(detail, str):
            return exchange
        code = body.get("code") or detail.lower().replace(" ", "_")
        return _with_json(exchange, {"error": {"code": code, "message": detail}})


# -- statuses ------------------------------------------------------------------


@_register
class UnknownJobAnswers400(KnownDeviation):
    """An id that matches no job answers 400, a status the spec never lists."""

    name = "unknown_job_answers_400"

    def rewrite(self, exchange: Exchange) -> Exchange:
        body = _json_body(exchange)
        if operation_of(exchange.path) != GET or exchange.status != 404:
            return exchange
        if not isinstance(body, dict):
            return exchange
        return _with_json(exchange, {"detail": "Unknown job id"}, status=400)


@_register
class Limit100ServerError(KnownDeviation):
    """`limit=100`, the documented maximum, answers 500."""

    name = "limit_100_server_error"

    def rewrite(self, exchange: Exchange) -> Exchange:
        limit = _int_or_none(_query_value(exchange.query_string, "limit"))
        if (
            operation_of(exchange.path) == LIST
            and exchange.status == 200
            and limit == 100
        ):
            return _server_error(exchange)
        return exchange


@_register
class OffsetPastEndServerError(KnownDeviation):
    """An `offset` past the last job answers 500, not an empty page."""

    name = "offset_past_end_server_error"

    def rewrite(self, exchange: Exchange) -> Exchange:
        body = _json_body(exchange)
        offset = _int_or_none(_query_value(exchange.query_string, "offset"))
        if operation_of(exchange.path) != LIST or exchange.status != 200:
            return exchange
        if not isinstance(body, dict) or offset is None or offset <= 0:
            return exchange
        total = body.get("total")
        if isinstance(total, int) and offset >= total:
            return _server_error(exchange)
        return exchange


@_register
class MalformedIdNotFound(KnownDeviation):
    """A job id that is not a UUID answers 404 instead of 422."""

    name = "malformed_id_not_found"

    def rewrite(self, exchange: Exchange) -> Exchange:
        body = _json_body(exchange)
        if operation_of(exchange.path) not in (GET, DOWNLOAD) or exchange.status != 422:
            return exchange
        if not isinstance(body, dict) or not isinstance(body.get("detail"), list):
            return exchange
        about_id = any(
            isinstance(error, dict) and error.get("loc") == ["path", "job_id"]
            for error in body["detail"]
        )
        if not about_id:
            return exchange
        return _with_json(exchange, {"detail": "Job not found"}, status=404)


# -- headers -------------------------------------------------------------------


@_register
class JsonAsTextPlain(KnownDeviation):
    """JSON answers are labelled `Content-Type: text/plain`."""

    name = "json_as_text_plain"

    def rewrite(self, exchange: Exchange) -> Exchange:
        content_type = _header(exchange.headers, b"content-type") or b""
        if operation_of(exchange.path) is None or not content_type.startswith(_JSON):
            return exchange
        return replace(
            exchange,
            headers=_with(
                exchange.headers, b"content-type", b"text/plain; charset=utf-8"
            ),
        )


@_register
class DownloadWithoutContentType(KnownDeviation):
    """The downloaded file comes without a `Content-Type`."""

    name = "download_without_content_type"

    def rewrite(self, exchange: Exchange) -> Exchange:
        if not _is_download_file(exchange):
            return exchange
        return replace(exchange, headers=_without(exchange.headers, b"content-type"))


@_register
class DownloadWithoutContentDisposition(KnownDeviation):
    """The downloaded file comes without the required `Content-Disposition`."""

    name = "download_without_content_disposition"

    def rewrite(self, exchange: Exchange) -> Exchange:
        if not _is_download_file(exchange):
            return exchange
        return replace(
            exchange, headers=_without(exchange.headers, b"content-disposition")
        )


@_register
class JsonDownload(KnownDeviation):
    """The download answers 200 with JSON pointing at the file, not the file."""

    name = "json_download"

    def rewrite(self, exchange: Exchange) -> Exchange:
        if not _is_download_file(exchange) or exchange.body is None:
            return exchange
        job_id = exchange.path.split("/")[3]
        data = {"url": f"/files/{job_id}", "size": len(exchange.body)}
        return _with_json(exchange, data)


@_register
class RateLimitWithoutRetryAfter(KnownDeviation):
    """Every 50th request answers 429 with no `Retry-After`."""

    name = "rate_limit_without_retry_after"

    every = 50

    def __init__(self) -> None:
        self._answers = 0

    def rewrite(self, exchange: Exchange) -> Exchange:
        # Streamed files cannot be replaced by a 429 body; they are not counted.
        if operation_of(exchange.path) is None or exchange.body is None:
            return exchange
        # Deviations run on the server's one event loop thread: no lock needed.
        self._answers += 1
        if self._answers % self.every:
            return exchange
        body = {"detail": "Rate limit exceeded", "code": "rate_limited"}
        return _with_json(
            replace(exchange, headers=_without(exchange.headers, b"retry-after")),
            body,
            status=429,
        )


@_register
class WwwAuthenticateBasic(KnownDeviation):
    """401 answers challenge with `Basic`; the spec's only value is `Bearer`."""

    name = "www_authenticate_basic"

    def rewrite(self, exchange: Exchange) -> Exchange:
        if operation_of(exchange.path) is None or exchange.status != 401:
            return exchange
        return replace(
            exchange,
            headers=_with(exchange.headers, b"www-authenticate", b'Basic realm="api"'),
        )


# -- authentication ------------------------------------------------------------


@_register
class NoKeyAccepted(KnownDeviation):
    """A request without a key is answered as if it carried a valid one."""

    name = "no_key_accepted"

    def rewrite_request(self, request: Incoming) -> Incoming:
        if operation_of(request.path) is None:
            return request
        if _header(request.headers, b"authorization") is not None:
            return request
        bearer = b"Bearer " + request.server_key.encode("ascii")
        return replace(request, headers=[*request.headers, (b"authorization", bearer)])


@_register
class MissingKeyAnswers403(KnownDeviation):
    """A request without a key answers 403 instead of 401."""

    name = "missing_key_answers_403"

    def rewrite(self, exchange: Exchange) -> Exchange:
        if operation_of(exchange.path) is None or exchange.status != 401:
            return exchange
        if _header(exchange.request_headers, b"authorization") is not None:
            return exchange
        return replace(
            exchange,
            status=403,
            headers=_without(exchange.headers, b"www-authenticate"),
        )


# -- listing -------------------------------------------------------------------


@_register
class HasMoreAlwaysFalse(KnownDeviation):
    """`has_more` is false even when more jobs follow the page."""

    name = "has_more_always_false"

    def rewrite(self, exchange: Exchange) -> Exchange:
        def change(page: dict[str, Any]) -> None:
            page["has_more"] = False

        return _rewrite_page(exchange, change)


@_register
class TotalCountsPage(KnownDeviation):
    """`total` counts the jobs on the page, not every matching job."""

    name = "total_counts_page"

    def rewrite(self, exchange: Exchange) -> Exchange:
        def change(page: dict[str, Any]) -> None:
            if isinstance(page.get("jobs"), list):
                page["total"] = len(page["jobs"])

        return _rewrite_page(exchange, change)


@_register
class OldestFirst(KnownDeviation):
    """Each page lists its jobs oldest first; the spec says newest first."""

    name = "oldest_first"

    def rewrite(self, exchange: Exchange) -> Exchange:
        def change(page: dict[str, Any]) -> None:
            if isinstance(page.get("jobs"), list):
                page["jobs"].reverse()

        return _rewrite_page(exchange, change)


@_register
class TypeFilterIgnored(KnownDeviation):
    """The `type` filter is ignored: every type is listed."""

    name = "type_filter_ignored"

    def rewrite_request(self, request: Incoming) -> Incoming:
        if operation_of(request.path) != LIST:
            return request
        pairs = _query(request.query_string)
        kept = [(key, value) for key, value in pairs if key != "type"]
        return request if kept == pairs else _with_query(request, kept)


@_register
class UnknownStatusAccepted(KnownDeviation):
    """A `status` filter outside the spec's enum is ignored, not answered 422."""

    name = "unknown_status_accepted"

    def rewrite_request(self, request: Incoming) -> Incoming:
        if operation_of(request.path) != LIST:
            return request
        pairs = _query(request.query_string)
        kept = [
            (key, value)
            for key, value in pairs
            if key != "status" or value in _KNOWN_STATUSES
        ]
        return request if kept == pairs else _with_query(request, kept)


@_register
class PagesOverlap(KnownDeviation):
    """Each page after the first starts a job early, repeating one."""

    name = "pages_overlap"

    def rewrite_request(self, request: Incoming) -> Incoming:
        return _shift_offset(request, -1)


@_register
class PagesSkip(KnownDeviation):
    """Each page after the first starts a job late, skipping one."""

    name = "pages_skip"

    def rewrite_request(self, request: Incoming) -> Incoming:
        return _shift_offset(request, +1)
