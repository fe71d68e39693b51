"""Reading the target's answers in the explicit tests: body, validity, report."""

from __future__ import annotations

from typing import Any

import httpx

from contract_tests._results import RequestShown, shown_request
from contract_tests._spec import schema_errors
from contract_tests._target import Target


def shown_answer(response: httpx.Response, target: Target) -> RequestShown:
    """Describe the request behind ``response`` for the report."""
    request = response.request
    return shown_request(
        request.method,
        str(request.url),
        dict(request.headers),
        target.redact,
        response.status_code,
    )


def json_body(response: httpx.Response) -> Any:
    """The parsed body; an assertion failure when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        raise AssertionError(f"answer is not JSON: {response.text[:200]!r}") from None


def assert_valid(body: Any, pointer: str) -> None:
    """Assert ``body`` is valid under the spec's schema at ``pointer``."""
    errors = schema_errors(body, pointer)
    assert not errors, f"answer breaks {pointer.rsplit('/', 1)[-1]}: " + "; ".join(
        errors[:5]
    )
