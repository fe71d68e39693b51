"""The one place where HTTP answers and transport failures become SDK exceptions."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
from qomplement_jobs_client.models import ErrorResponse, HTTPValidationError

from . import errors
from ._headers import parse_retry_after

logger = logging.getLogger(__name__)

T = TypeVar("T")

# How much of an error body is read to describe it; error bodies are small.
MAX_ERROR_BODY = 64 * 1024


@contextmanager
def translating_transport_errors(what: str) -> Iterator[None]:
    """Re-raise httpx's transport exceptions as `TransportError` (the only translation).

    `what` names the operation for the message, such as "GET /v1/jobs".
    """
    try:
        yield
    except httpx.TimeoutException as exc:
        raise errors.TransportError(f"{what} timed out ({type(exc).__name__})") from exc
    except httpx.DecodingError as exc:
        raise errors.InvalidResponseError(
            f"{what}: the body could not be decoded ({exc})"
        ) from exc
    except httpx.TransportError as exc:
        raise errors.TransportError(
            f"{what} failed: {type(exc).__name__}: {exc or 'connection closed'}"
        ) from exc


def host_to_connect(url: str) -> str:
    """The host httpx connects to for `url`.

    Raises:
        ConfigurationError: httpx cannot parse `url`.
    """
    try:
        return httpx.URL(url).host
    except httpx.InvalidURL as exc:
        problem = str(exc)
    # Raised outside the handler, so that no chained exception repeats the
    # URL (which may hold a key given in the wrong argument).
    raise errors.ConfigurationError(f"Invalid base URL {url!r}: {problem}")


def retry_after_of(response: httpx.Response) -> float | None:
    """The answer's Retry-After in seconds, or None."""
    return parse_retry_after(
        response.headers.get("retry-after"), date=response.headers.get("date")
    )


def parse_body(response: httpx.Response, build: Callable[[Mapping[str, Any]], T]) -> T:
    """Parse a 2xx JSON body with a generated model's `from_dict`.

    Raises:
        InvalidResponseError: the body is not JSON, or not the shape the spec gives.
    """
    what = f"{response.request.method} {response.request.url.path}"
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise errors.InvalidResponseError(
            f"{what} answered {response.status_code} with a body that is not JSON",
            status_code=response.status_code,
        ) from exc
    if not isinstance(data, dict):
        raise errors.InvalidResponseError(
            f"{what} answered with JSON that is not an object",
            status_code=response.status_code,
        )
    try:
        return build(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise errors.InvalidResponseError(
            f"{what} answered with a body the spec does not allow "
            f"({type(exc).__name__}: {exc})",
            status_code=response.status_code,
        ) from exc


def error_for_status(
    response: httpx.Response, content: bytes, *, download: bool = False
) -> errors.QomplementError:
    """Build the exception for an answer with an error status.

    `content` is the (possibly truncated) body already read; `download`
    selects the download endpoint's meanings of 404, 409 and 410.
    """
    status = response.status_code
    what = f"{response.request.method} {response.request.url.path}"
    data = _json_object(content)
    body: ErrorResponse | HTTPValidationError | None = None
    detail = ""
    if status == 422 and data is not None:
        try:
            body = HTTPValidationError.from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError):
            body = None
    if body is None and data is not None:
        try:
            body = ErrorResponse.from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError):
            body = None
    if isinstance(body, ErrorResponse):
        detail = str(body.detail or body.error or "")
    code = body.code if isinstance(body, ErrorResponse) and body.code else None
    message = f"{what} answered {status}" + (f": {detail}" if detail else "")
    common: dict[str, Any] = {
        "status_code": status,
        "body": body,
        "retry_after": retry_after_of(response),
    }

    if status == 401:
        return errors.AuthenticationError(message, **common)
    if status == 403:
        return errors.PermissionDeniedError(message, **common)
    if status == 422:
        field_errors = body.detail if isinstance(body, HTTPValidationError) else []
        if field_errors:
            described = "; ".join(
                f"{'.'.join(str(part) for part in item.loc)}: {item.msg}"
                for item in field_errors
            )
            message = f"{what} answered 422: {described}"
        return errors.ValidationError(message, errors=list(field_errors), **common)
    if status == 429:
        return errors.RateLimitedError(message, **common)
    if download and status == 404 and code == "no_file":
        return errors.NoFileError(message, **common)
    if status == 404:
        return errors.NotFoundError(message, **common)
    if download and status == 409:
        return errors.JobNotFinishedError(message, **common)
    if download and status == 410:
        return errors.FileExpiredError(message, **common)
    if 500 <= status <= 599:
        return errors.ServerError(message, **common)
    return errors.UnexpectedStatusError(message, **common)


def _json_object(content: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is anything else."""
    try:
        data = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def is_transient(error: errors.QomplementError) -> bool:
    """Whether trying the same request again later may succeed."""
    return isinstance(
        error, errors.TransportError | errors.ServerError | errors.InvalidResponseError
    )
