"""The exceptions the SDK raises.

Every exception derives from `QomplementError`, so one `except` clause can catch
anything the SDK raises. Each carries `status_code` (the HTTP status of the
answer that caused it, or None), `body` (that answer's parsed error body, or
None) and `retry_after` (the answer's Retry-After in seconds, or None). No
message, repr or attribute holds the API key: every message passes through
`QomplementError.__init__`, which hides the keys clients were configured with
and anything shaped like a key.

```
QomplementError
├── ConfigurationError
├── AuthenticationError            401
├── PermissionDeniedError          403
├── NotFoundError                  404
├── ValidationError                422
├── RateLimitedError               429
├── ServerError                    5xx
├── UnexpectedStatusError          any other status
├── TransportError
├── InvalidResponseError
├── JobFailedError
├── WaitTimeoutError
├── DownloadError
│   ├── JobNotFinishedError        409
│   ├── NoFileError                404 with code no_file
│   ├── FileExpiredError           410
│   ├── DownloadIncompleteError
│   └── DestinationExistsError
└── InvalidWebhookError
```
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qomplement_jobs_client.models import ErrorResponse, HTTPValidationError, Job
    from qomplement_jobs_client.models import ValidationError as FieldError

    ErrorBody = ErrorResponse | HTTPValidationError

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "DestinationExistsError",
    "DownloadError",
    "DownloadIncompleteError",
    "FileExpiredError",
    "InvalidResponseError",
    "InvalidWebhookError",
    "JobFailedError",
    "JobNotFinishedError",
    "NoFileError",
    "NotFoundError",
    "PermissionDeniedError",
    "QomplementError",
    "RateLimitedError",
    "ServerError",
    "TransportError",
    "UnexpectedStatusError",
    "ValidationError",
    "WaitTimeoutError",
]


REDACTED = "[REDACTED]"

# What a qomplement key looks like ("sd_" and 48 hex digits), matched from 16
# digits on so that a cut-off key is hidden too.
_KEY_SHAPE = re.compile(r"sd_[0-9a-fA-F]{16,}")

# The keys clients of this process were configured with. Keys shorter than
# this are not hidden: replacing every occurrence of a few common characters
# would garble messages, and the service rejects such keys anyway.
_MIN_SECRET_LENGTH = 8
_secrets: frozenset[str] = frozenset()


def protect(key: str) -> None:
    """Hide `key` from every message built from now on (see `redact`)."""
    global _secrets
    if len(key) >= _MIN_SECRET_LENGTH:
        # Replaced whole rather than mutated, so a reader never sees it change.
        _secrets = _secrets | {key}


def redact(text: str) -> str:
    """`text` with each configured key, and anything shaped like a key, hidden."""
    for secret in _secrets:
        text = text.replace(secret, REDACTED)
    return _KEY_SHAPE.sub(REDACTED, text)


class QomplementError(Exception):
    """Base class of every exception the SDK raises."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        body: ErrorBody | None = None,
        retry_after: float | None = None,
    ) -> None:
        # Every message passes here, so none can carry a key: not even one
        # that reached a URL or a path because arguments were swapped.
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = body
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status_code={self.status_code!r})"
        )


# Configuration


class ConfigurationError(QomplementError, ValueError):
    """The client's configuration is missing or unsafe (no key, plain http)."""


# Answers with an error status


class AuthenticationError(QomplementError):
    """The service answered 401: the key is missing, malformed or unknown."""


class PermissionDeniedError(QomplementError):
    """The service answered 403: the key has been revoked."""


class NotFoundError(QomplementError):
    """The service answered 404: no job with this id exists for this key."""


class ValidationError(QomplementError):
    """The service answered 422: a parameter was invalid; `errors` lists each one."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        body: ErrorBody | None = None,
        retry_after: float | None = None,
        errors: list[FieldError] | None = None,
    ) -> None:
        super().__init__(
            message, status_code=status_code, body=body, retry_after=retry_after
        )
        self.errors: list[FieldError] = errors or []


class RateLimitedError(QomplementError):
    """The service answered 429; `retry_after` is how many seconds it asked to wait."""


class ServerError(QomplementError):
    """The service answered with a 5xx status (including the non-standard 52x)."""


class UnexpectedStatusError(QomplementError):
    """The service answered with a status the spec does not document for the call."""


# Transport and protocol


class TransportError(QomplementError):
    """The request did not get an answer: connection refused or reset, or a timeout."""


class InvalidResponseError(QomplementError):
    """The service answered, but the body is not what the spec says it is."""


# Waiting


class JobFailedError(QomplementError):
    """The job finished with status `failed`; `code` and `message` say why."""

    def __init__(self, job: Job) -> None:
        from qomplement_jobs_client.models import JobError

        error = job.error if isinstance(job.error, JobError) else None
        self.job = job
        self.code: str | None = str(error.code) if error is not None else None
        self.error_message: str | None = error.message if error is not None else None
        reason = f"{self.code}: {self.error_message}" if error else "no reason given"
        super().__init__(f"Job {job.id} failed ({reason})")


class WaitTimeoutError(QomplementError):
    """The job was unfinished at the wait's deadline; `job` is the last seen."""

    def __init__(
        self, message: str, *, job_id: str, job: Job | None, timeout: float | None
    ) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.job = job
        self.timeout = timeout


# Downloading


class DownloadError(QomplementError):
    """Base class of the ways a download can fail once the job is known."""


class JobNotFinishedError(DownloadError):
    """The service answered 409: the job is pending or processing, so no file yet."""


class NoFileError(DownloadError):
    """The service answered 404 with code `no_file`: the job finished without a file."""


class FileExpiredError(DownloadError):
    """The service answered 410: the file was deleted after `result.expires_at`."""


class DownloadIncompleteError(DownloadError):
    """The body ended early or its length did not match Content-Length."""

    def __init__(self, message: str, *, received: int, expected: int | None) -> None:
        # Both counted on the wire, as Content-Length counts: `received` is
        # what arrived, `expected` what Content-Length announced (or None).
        super().__init__(message, status_code=200)
        self.received = received
        self.expected = expected


class DestinationExistsError(DownloadError, FileExistsError):
    """The destination file exists and `overwrite=True` was not given."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} exists; pass overwrite=True to replace it")
        self.path = path


# Webhooks


class InvalidWebhookError(QomplementError, ValueError):
    """A webhook body is not a job-finished event as the spec describes it."""
