"""The qomplement Jobs SDK: wait for jobs, download their files, page through them.

The clients return the models generated from the spec
(`qomplement_jobs_client.models`); this package adds the behaviour around
them: waiting with progress-aware polling, atomic streaming downloads,
lazy paging, typed errors and a CLI (`qomplement`).

Example:
    >>> from qomplement_jobs import Client
    >>> with Client() as client:              # QOMPLEMENT_API_KEY from the environment
    ...     job = client.wait(job_id, timeout=300)
    ...     path = client.download(job.id, "downloads/")
"""

from qomplement_jobs_client.models import (
    Job,
    JobError,
    JobList,
    JobProgress,
    KnownJobErrorCode,
    KnownJobStatus,
    KnownJobType,
    WebhookEvent,
)

from ._client import AsyncClient, Client
from ._waiting import WaitOutcome
from .clock import Clock, SystemClock
from .errors import (
    AuthenticationError,
    ConfigurationError,
    DestinationExistsError,
    DownloadError,
    DownloadIncompleteError,
    FileExpiredError,
    InvalidResponseError,
    InvalidWebhookError,
    JobFailedError,
    JobNotFinishedError,
    NoFileError,
    NotFoundError,
    PermissionDeniedError,
    QomplementError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnexpectedStatusError,
    ValidationError,
    WaitTimeoutError,
)
from .polling import Polling
from .webhooks import parse_webhook

__all__ = [
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "Clock",
    "ConfigurationError",
    "DestinationExistsError",
    "DownloadError",
    "DownloadIncompleteError",
    "FileExpiredError",
    "InvalidResponseError",
    "InvalidWebhookError",
    "Job",
    "JobError",
    "JobFailedError",
    "JobList",
    "JobNotFinishedError",
    "JobProgress",
    "KnownJobErrorCode",
    "KnownJobStatus",
    "KnownJobType",
    "NoFileError",
    "NotFoundError",
    "PermissionDeniedError",
    "Polling",
    "QomplementError",
    "RateLimitedError",
    "ServerError",
    "SystemClock",
    "TransportError",
    "UnexpectedStatusError",
    "ValidationError",
    "WaitOutcome",
    "WaitTimeoutError",
    "WebhookEvent",
    "parse_webhook",
]
