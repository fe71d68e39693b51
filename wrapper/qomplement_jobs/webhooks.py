"""Reading the job-finished events the service posts to a `webhook_url`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from qomplement_jobs_client.models import WebhookEvent

from .errors import InvalidWebhookError

__all__ = ["parse_webhook"]

# A webhook body is one job; anything much larger is not one.
MAX_WEBHOOK_BYTES = 10 * 1024 * 1024


def parse_webhook(body: bytes | str | Mapping[str, Any]) -> WebhookEvent:
    """Parse a webhook delivery's body into the generated `WebhookEvent`.

    Accepts the raw request body (bytes or text, JSON) or an already decoded
    mapping. The service signs nothing, so treat the event as a hint and
    confirm it with `Client.get_job(event.job_id)` before acting on it.

    Raises:
        InvalidWebhookError: the body is not JSON, or not a job-finished
            event (`job_id` and a `data` job with `id`, `type`, `status`),
            or its `job_id` is not its job's `id`.

    Example:
        >>> event = parse_webhook(request.body)
        >>> event.data.status
        <KnownJobStatus.COMPLETED: 'completed'>
    """
    data: object
    if isinstance(body, bytes | bytearray | memoryview | str):
        if len(body) > MAX_WEBHOOK_BYTES:
            raise InvalidWebhookError("Webhook body is too large to be a job event")
        try:
            data = json.loads(bytes(body) if not isinstance(body, str) else body)
        except RecursionError:
            # Deeply nested arrays or objects exhaust the parser's stack.
            raise InvalidWebhookError("Webhook body is nested too deeply") from None
        except ValueError as exc:
            # Not JSON, not UTF-8/16/32, or an integer too long to convert.
            raise InvalidWebhookError(f"Webhook body is not JSON: {exc}") from exc
    elif isinstance(body, Mapping):
        data = dict(body)
    else:
        raise InvalidWebhookError(
            f"Webhook body must be bytes, str or a mapping, not {type(body).__name__}"
        )
    if not isinstance(data, dict):
        raise InvalidWebhookError("Webhook body is not a JSON object")
    missing = [key for key in ("job_id", "data") if key not in data]
    if missing:
        raise InvalidWebhookError(f"Webhook body lacks {', '.join(missing)}")
    if not isinstance(data["data"], dict):
        raise InvalidWebhookError("Webhook `data` is not a job object")
    try:
        event = WebhookEvent.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidWebhookError(
            f"Webhook body is not a job-finished event ({type(exc).__name__}: {exc})"
        ) from exc
    except (RecursionError, OverflowError) as exc:
        # A mapping given directly can be nested beyond what the parser's
        # recursion copes with, or hold numbers it cannot convert.
        raise InvalidWebhookError(
            f"Webhook body is not a job-finished event ({type(exc).__name__})"
        ) from None
    if event.job_id != event.data.id:
        raise InvalidWebhookError(
            f"Webhook job_id {event.job_id} differs from data.id {event.data.id}"
        )
    return event
