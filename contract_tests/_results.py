"""Record pass or fail for every operation and check, for the main job to read.

Schemathesis' checks are recorded from its ``after_validate`` hook, one entry per
check per response; the explicit tests record theirs through
:class:`CheckRecorder.check` or, for a whole test, the ``conformance`` marker.
A check fails for an operation when any response failed it; the request that
showed the last such failure is kept (after Hypothesis has shrunk a failure, the
last one is the smallest).

The file written at the end of the session (JSON)::

    {"target": {"base_url", "kind"}, "max_examples": int,
     "examples": {"total": int, "by_operation": {...}},
     "explicit_requests": {"total": int, "by_operation": {...}},
     "tests": {"passed", "failed", "skipped", "error"}, "exit_status": int,
     "duration_s": float,
     "results": [{"operation", "check", "status", "runs", "failures",
                  "failure": {"message", "method", "url", "curl",
                              "status_code"} | null,
                  "skip_reason": str | null}],
     "errors": [{"test", "message"}]}

``examples`` counts the generated cases schemathesis sent (stateful steps
included), ``explicit_requests`` the explicit tests' own requests.
"""

from __future__ import annotations

import json
import shlex
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PASSED = "passed"
FAILED = "failed"
SKIPPED = "skipped"

MAX_MESSAGE_CHARS = 4000


@dataclass
class RequestShown:
    """The request that shows a failure, ready to be replayed with curl."""

    method: str
    url: str
    curl: str
    status_code: int | None = None


@dataclass
class CheckOutcome:
    """How one check fared for one operation over the whole run."""

    operation: str
    check: str
    runs: int = 0
    failures: int = 0
    skipped: int = 0
    message: str | None = None
    request: RequestShown | None = None

    @property
    def status(self) -> str:
        """``failed`` if any run failed, ``passed`` if any passed, else ``skipped``."""
        if self.failures:
            return FAILED
        if self.runs > self.skipped:
            return PASSED
        return SKIPPED

    def as_dict(self) -> dict[str, Any]:
        """Return the outcome as the results file writes it."""
        failure = None
        if self.failures:
            failure = {"message": self.message, **asdict(self.request or _NO_REQUEST)}
        return {
            "operation": self.operation,
            "check": self.check,
            "status": self.status,
            "runs": self.runs,
            "failures": self.failures,
            "failure": failure,
            "skip_reason": self.message if self.status == SKIPPED else None,
        }


_NO_REQUEST = RequestShown(method="", url="", curl="")


def curl_line(
    method: str,
    url: str,
    headers: Mapping[str, str],
    redact: Callable[[str], str] = str,
) -> str:
    """Return a curl command for a body-less request, keys redacted.

    ``redact`` is applied to the finished line (see ``Target.redact``).
    """
    parts = ["curl", "-X", method.upper()]
    for name, value in headers.items():
        if name.lower() == "authorization":
            scheme = value.split(" ", 1)[0] if " " in value else ""
            value = f"{scheme} [REDACTED]".strip()
        # curl sends these itself.
        if name.lower() in {"host", "user-agent", "accept-encoding", "connection"}:
            continue
        if name.lower() == "accept" and value == "*/*":
            continue
        parts += ["-H", f"{name}: {value}"]
    parts.append(url)
    return redact(shlex.join(parts))


def shown_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    redact: Callable[[str], str] = str,
    status_code: int | None = None,
) -> RequestShown:
    """Describe a sent request for a report: URL and curl line, keys redacted."""
    return RequestShown(
        method=method.upper(),
        url=redact(url),
        curl=curl_line(method, url, headers, redact),
        status_code=status_code,
    )


@dataclass
class CheckRecorder:
    """Collects check outcomes during a pytest session and writes them out."""

    redact: Callable[[str], str] = str
    outcomes: dict[tuple[str, str], CheckOutcome] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    soft_failures: list[str] = field(default_factory=list)

    def _outcome(self, operation: str, check: str) -> CheckOutcome:
        key = (operation, check)
        if key not in self.outcomes:
            self.outcomes[key] = CheckOutcome(operation=operation, check=check)
        return self.outcomes[key]

    def passed(self, operation: str, check: str) -> None:
        """Record one passing run of ``check`` for ``operation``."""
        self._outcome(operation, check).runs += 1

    def skipped(self, operation: str, check: str, reason: str) -> None:
        """Record that ``check`` could not run for ``operation``."""
        outcome = self._outcome(operation, check)
        outcome.runs += 1
        outcome.skipped += 1
        if outcome.message is None:
            outcome.message = reason

    def failed(
        self,
        operation: str,
        check: str,
        message: str,
        request: RequestShown | None = None,
    ) -> None:
        """Record one failing run, keeping its message and request."""
        outcome = self._outcome(operation, check)
        outcome.runs += 1
        outcome.failures += 1
        outcome.message = self.redact(message)[:MAX_MESSAGE_CHARS]
        if request is not None:
            request.url = self.redact(request.url)
            request.curl = self.redact(request.curl)
            outcome.request = request

    def error(self, test: str, message: str) -> None:
        """Record a test that failed outside any check (setup, transport)."""
        self.errors.append(
            {"test": test, "message": self.redact(message)[:MAX_MESSAGE_CHARS]}
        )

    def failure_counts(self) -> dict[tuple[str, str], int]:
        """Failures recorded so far, by (operation, check)."""
        return {key: outcome.failures for key, outcome in self.outcomes.items()}

    def failed_since(self, before: Mapping[tuple[str, str], int]) -> list[CheckOutcome]:
        """The outcomes that gained a failure since ``before`` was taken."""
        return [
            outcome
            for key, outcome in self.outcomes.items()
            if outcome.failures > before.get(key, 0)
        ]

    @contextmanager
    def check(
        self, operation: str, check: str, request: RequestShown | None = None
    ) -> Iterator[None]:
        """Record the block as one run of ``check``; an assertion failure is kept.

        The failure does not propagate: the test goes on with its next check
        and calls :meth:`raise_soft_failures` at its end.
        """
        try:
            yield
        except AssertionError as failure:
            message = str(failure) or "".join(traceback.format_exception_only(failure))
            # pytest appends its rewritten expression after the message.
            message = message.split("\nassert ", 1)[0].strip()
            self.failed(operation, check, message, request)
            self.soft_failures.append(f"{operation} / {check}: {message}")
        else:
            self.passed(operation, check)

    def raise_soft_failures(self) -> None:
        """Fail the current test if any of its checks failed (then forget them)."""
        failures, self.soft_failures = self.soft_failures, []
        if failures:
            raise AssertionError(self.redact("\n".join(failures)))

    def as_dict(self) -> dict[str, Any]:
        """Return the checks in a stable order: by operation, then by check."""
        return {
            "results": [
                self.outcomes[key].as_dict() for key in sorted(self.outcomes.keys())
            ],
            "errors": self.errors,
        }

    def write(self, path: Path, extra: Mapping[str, Any]) -> None:
        """Write the results file (creating its folder)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {**extra, **self.as_dict()}
        text = self.redact(json.dumps(document, indent=2, sort_keys=False))
        path.write_text(text + "\n", encoding="utf-8")
