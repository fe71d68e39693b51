"""The fault matrix: which faults the local API injects, which SDK operations meet
them, what each pair must lead to, and how the table in docs/fault-matrix.md reads.

The expectations are data, so the test and the committed table cannot say
different things: the test checks every cell against `expected`, and the
table is rendered from the same function.
"""

from __future__ import annotations

import asyncio
import math
import re
from dataclasses import dataclass
from pathlib import Path

from qomplement_jobs import (
    DownloadIncompleteError,
    InvalidResponseError,
    QomplementError,
    RateLimitedError,
    ServerError,
    TransportError,
    WaitTimeoutError,
)
from qomplement_local_api import Fault, ManualClock

ROOT = Path(__file__).resolve().parents[2]
TABLE_PATH = ROOT / "docs" / "fault-matrix.md"

# Seconds each request may take (every phase) before the SDK gives up on it.
CLIENT_TIMEOUT = 0.4
# Real seconds a single-request operation may take beyond CLIENT_TIMEOUT.
SLACK = 1.5
# Virtual seconds a wait is given; the deadline may be passed by one look.
WAIT_TIMEOUT = 30.0
WAIT_OVERSHOOT = 1.0
# Real seconds a whole wait may take: a few looks that each time out.
WAIT_REAL_LIMIT = 10.0
# How many answers a burst spoils, and how many a persisting fault does.
BURST = 3
PERSISTS = 200
# How long the server holds a slow or stalled answer (real seconds).
HOLD = 2.0
# Looks a wait makes before giving up on transient failures (Polling default).
MAX_RETRIES = 5

# Outcome cells observed by the matrix test, and the real seconds each took;
# the test run's hook turns them into docs/fault-matrix.md.
OBSERVED: dict[tuple[str, str], str] = {}
DURATIONS: dict[tuple[str, str], float] = {}


@dataclass(frozen=True)
class FaultCase:
    """One fault the local API can inject into an answer."""

    key: str
    label: str
    kind: str
    status: int | None = None
    retry_after: int | None = None
    delay: float = 0.0
    after_bytes: int | None = None

    def fault(self, path: str, times: int) -> Fault:
        """The local API's fault for the next `times` requests to `path`."""
        return Fault(
            self.kind,
            path=path,
            times=times,
            status=self.status,
            retry_after=self.retry_after,
            delay=self.delay,
            after_bytes=self.after_bytes,
        )

    @property
    def harmless(self) -> bool:
        """Whether a client should not even notice the fault."""
        return self.key in ("latency", "overlong")


@dataclass(frozen=True)
class Operation:
    """One SDK operation, as the matrix exercises it."""

    key: str
    label: str
    how: str


@dataclass(frozen=True)
class Outcome:
    """What a fault must lead to: completion, or one typed error naming the cause."""

    error: type[QomplementError] | None
    cause: str = ""
    note: str = ""

    @property
    def completes(self) -> bool:
        """Whether the operation must succeed."""
        return self.error is None

    def matches(self, raised: BaseException | None) -> bool:
        """Whether `raised` (None: it completed) is this outcome."""
        if self.error is None:
            return raised is None
        return type(raised) is self.error and bool(re.search(self.cause, str(raised)))

    def cell(self) -> str:
        """The table cell for this outcome."""
        text = "completes" if self.error is None else f"`{self.error.__name__}`"
        return f"{text} ({self.note})" if self.note else text


def _status_label(status: int, retry_after: int | None) -> str:
    """A row label such as `503 + Retry-After: 2`."""
    return f"{status}" + (f" + Retry-After: {retry_after}" if retry_after else "")


FAULTS: tuple[FaultCase, ...] = (
    FaultCase("latency", "latency 50 ms", "latency", delay=0.05),
    FaultCase(
        "slow",
        f"latency {HOLD:.0f} s (past the request timeout)",
        "latency",
        delay=HOLD,
    ),
    FaultCase("reset", "connection reset", "reset"),
    *(
        FaultCase(
            f"{status}{'-ra' if retry_after else ''}",
            _status_label(status, retry_after),
            "status",
            status=status,
            retry_after=retry_after,
        )
        for status in (500, 502, 503, 504, 520)
        for retry_after in (None, 2)
    ),
    FaultCase("429-ra", "429 burst + Retry-After: 1", "status", 429, 1),
    FaultCase("429", "429 burst, no Retry-After", "status", 429),
    FaultCase("malformed", "malformed JSON (200)", "malformed_json"),
    FaultCase("truncate", "body cut short", "truncate"),
    FaultCase("overlong", "body longer than Content-Length", "overlong"),
    FaultCase(
        "stall",
        f"body stalls ({HOLD:.0f} s)",
        "stall",
        delay=HOLD,
        after_bytes=1000,
    ),
)

OPERATIONS: tuple[Operation, ...] = (
    Operation("get_job", "get_job", "one `GET /v1/jobs/{id}` of a completed job"),
    Operation(
        "wait_burst",
        "wait, burst",
        f"`wait` for a 3 s job; the fault spoils its first {BURST} looks",
    ),
    Operation(
        "wait_persists",
        "wait, persisting",
        "`wait` for a 3 s job; the fault spoils every look",
    ),
    Operation(
        "wait_many",
        "wait_many",
        "`wait_many` over 3 jobs; the fault spoils every look at one of them",
    ),
    Operation(
        "async_wait_many",
        "async wait_many",
        f"`AsyncClient.wait_many` over 3 jobs; the fault spoils the first {BURST} "
        "looks, whichever job they are for",
    ),
    Operation(
        "download",
        "download",
        "`download` of a 256 KiB PDF into a directory",
    ),
    Operation(
        "iter_jobs",
        "iter_jobs",
        f"`iter_jobs(page_size=10)` over 45 jobs; the fault spoils {BURST} "
        "requests from page 2 on. A walk that fails has yielded exactly page 1, "
        "and a new walk then yields all 45 jobs once",
    ),
)


def _single_request(case: FaultCase, download: bool) -> Outcome:
    """What one request that meets the fault raises (nothing retries it)."""
    if case.harmless:
        note = "file complete and exact" if download else ""
        return Outcome(None, note=note)
    if case.kind == "status":
        assert case.status is not None
        error = RateLimitedError if case.status == 429 else ServerError
        note = f"status {case.status}"
        if case.retry_after:
            note += f", retry_after={case.retry_after}"
        return Outcome(error, rf"answered {case.status}\b", note)
    if case.key == "reset":
        return Outcome(TransportError, r"failed: ReadError", "connection reset")
    if case.key == "slow":
        return Outcome(TransportError, r"timed out \(ReadTimeout\)", "read timeout")
    if case.key == "malformed":
        if download:
            return Outcome(
                InvalidResponseError,
                r"application/json instead of a file",
                "JSON instead of a file; no file",
            )
        return Outcome(InvalidResponseError, r"not JSON", "body is not JSON")
    if case.key == "truncate":
        if download:
            return Outcome(
                DownloadIncompleteError,
                r"interrupted after \d+ of \d+ bytes",
                "no file left",
            )
        return Outcome(
            TransportError, r"RemoteProtocolError: peer closed", "body cut short"
        )
    if case.key == "stall":
        if download:
            return Outcome(
                DownloadIncompleteError, r"ReadTimeout", "read timeout; no file left"
            )
        return Outcome(TransportError, r"timed out \(ReadTimeout\)", "read timeout")
    raise AssertionError(f"no expectation for {case.key}")


def _giving_up(case: FaultCase) -> Outcome:
    """What a wait raises when the fault spoils every look."""
    single = _single_request(case, download=False)
    if single.completes:
        return single
    if single.error is RateLimitedError:
        note = "honours each Retry-After" if case.retry_after else "backs off"
        return Outcome(WaitTimeoutError, r"did not finish within", note)
    return Outcome(
        single.error,
        single.cause,
        f"after {MAX_RETRIES + 1} looks"
        + (", Retry-After honoured" if case.retry_after else ""),
    )


def expected(case: FaultCase, operation: Operation) -> Outcome:
    """What `operation` must lead to when it meets `case`."""
    if operation.key in ("get_job", "iter_jobs"):
        return _single_request(case, download=False)
    if operation.key == "download":
        return _single_request(case, download=True)
    if operation.key in ("wait_burst", "async_wait_many"):
        note = "Retry-After honoured" if case.retry_after else ""
        return Outcome(None, note=note)
    if operation.key == "wait_persists":
        return _giving_up(case)
    if operation.key == "wait_many":
        outcome = _giving_up(case)
        if outcome.completes:
            return outcome
        return Outcome(
            outcome.error, outcome.cause, "that job's outcome; the other 2 complete"
        )
    raise AssertionError(f"no expectation for {operation.key}")


def render_table(cells: dict[tuple[str, str], str]) -> str:
    """The markdown table of `cells`, keyed by (fault key, operation key)."""
    header = "| fault | " + " | ".join(op.label for op in OPERATIONS) + " |"
    rule = "| --- |" + " --- |" * len(OPERATIONS)
    rows = [
        f"| {case.label} | "
        + " | ".join(cells[case.key, op.key] for op in OPERATIONS)
        + " |"
        for case in FAULTS
    ]
    return "\n".join([header, rule, *rows]) + "\n"


def expected_cells() -> dict[tuple[str, str], str]:
    """Every cell of the table as the expectations give it."""
    return {
        (case.key, op.key): expected(case, op).cell()
        for case in FAULTS
        for op in OPERATIONS
    }


def render_document(table: str, footer: str) -> str:
    """The whole of docs/fault-matrix.md around `table`."""
    operations = "\n".join(f"- **{op.label}**: {op.how}." for op in OPERATIONS)
    return f"""# Fault matrix

What the SDK does when the local API injects a fault into its answers: each
cell is the outcome `tests/faults/test_fault_matrix.py` checks against a real
local API on loopback, for one fault and one operation. "completes" means the
call returned what a faultless server would have given (the same file, byte
for byte; every job of the walk once); otherwise the call raised exactly the
named `qomplement_jobs` exception, whose message names the cause. No failed
download leaves a file or a temporary file behind, and no walk yields a job
twice or skips one before it fails.

Deadlines: every request has a {CLIENT_TIMEOUT} s timeout for each phase, and
a single-request operation ends within {CLIENT_TIMEOUT + SLACK:.1f} s of real time.
A wait is given {WAIT_TIMEOUT:.0f} s on an injected clock that the local API's
clock follows (no test sleeps for real), ends by that deadline plus one
look, and retries up to {MAX_RETRIES} transient failures in a row.

Operations:

{operations}

{table}
Regenerate with `QOMPLEMENT_WRITE_FAULT_MATRIX=1 pytest tests/faults`; the
test run fails when a cell differs from what the tests expect.

{footer}
"""


class VirtualClock:
    """A `qomplement_jobs.Clock` whose sleeps move the local API's manual clock.

    Sleeping for `s` moves the shared clock to at least `s` after the moment
    the sleep began, so concurrent sleepers never add up: time runs like a
    real clock, without the waiting. `sleeps` records every pause asked for.
    """

    def __init__(self, server_clock: ManualClock, wall_offset: float) -> None:
        self.server_clock = server_clock
        self.wall_offset = wall_offset
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """The server's clock."""
        return self.server_clock.now()

    def wall(self) -> float:
        """The server's clock as wall-clock seconds (how its timestamps read)."""
        return self.server_clock.now() + self.wall_offset

    def sleep(self, seconds: float) -> None:
        """Move the clock by `seconds` at once."""
        self.sleeps.append(seconds)
        self.server_clock.advance(_checked(seconds))

    async def asleep(self, seconds: float) -> None:
        """Let other tasks run, then move the clock to this sleep's end."""
        self.sleeps.append(seconds)
        wake = self.monotonic() + _checked(seconds)
        await asyncio.sleep(0.001)
        gap = wake - self.monotonic()
        if gap > 0:
            self.server_clock.advance(gap)


def _checked(seconds: float) -> float:
    """`seconds`, after making sure it is a pause a client may take."""
    if not math.isfinite(seconds) or seconds < 0:
        raise AssertionError(f"the SDK asked to sleep {seconds!r} seconds")
    return seconds
