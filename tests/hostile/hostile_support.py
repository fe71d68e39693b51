"""Helpers of the hostile-input tests: hypothesis settings, an example counter, a
clock that checks every pause, a hook that makes the local API answer anything,
and a watch that looks for the API key in everything the SDK produces.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import logging
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from hypothesis import HealthCheck, settings
from qomplement_local_api import Exchange

# CI runs the same examples every time (derandomize); setting
# QOMPLEMENT_HOSTILE_EXPLORE=N runs N times as many, freshly random, to hunt.
_EXPLORE = int(os.environ.get("QOMPLEMENT_HOSTILE_EXPLORE", "0") or 0)

_BASE = settings(
    derandomize=not _EXPLORE,
    database=None,
    print_blob=False,
    # Properties that talk to a server vary in speed with the machine; each
    # test is bounded by pytest-timeout instead of a per-example deadline.
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Examples run per property in this session, by property name.
EXAMPLES: Counter[str] = Counter()

# A key that is never sent to any server: for tests that need no server.
OFFLINE_KEY = "sd_" + "5e" * 24


def hostile(max_examples: int) -> settings:
    """Hypothesis settings for one property: reproducible, bounded, no database."""
    return settings(_BASE, max_examples=max_examples * max(1, _EXPLORE))


def count(name: str) -> None:
    """Count one example of the property `name`."""
    EXAMPLES[name] += 1


class CheckedClock:
    """A `qomplement_jobs.Clock` in virtual time that fails on an unsafe pause.

    Every pause the SDK asks for must be finite, non-negative and at most
    `max_pause` seconds; anything else raises AssertionError at once, which
    no SDK code catches. `sleeps` records the pauses.
    """

    def __init__(self, max_pause: float) -> None:
        self.max_pause = max_pause
        self.sleeps: list[float] = []
        self._now = 0.0
        self._wall = time.time()

    def monotonic(self) -> float:
        """Virtual seconds since the clock was made."""
        return self._now

    def wall(self) -> float:
        """Wall-clock time at the start, plus the virtual seconds since."""
        return self._wall + self._now

    def sleep(self, seconds: float) -> None:
        """Check the pause and pass it in virtual time."""
        self.sleeps.append(seconds)
        if not (math.isfinite(seconds) and 0 <= seconds <= self.max_pause):
            raise AssertionError(f"the SDK asked to sleep {seconds!r} seconds")
        self._now += seconds

    async def asleep(self, seconds: float) -> None:
        """The same as `sleep`, for the async client."""
        self.sleep(seconds)


@dataclasses.dataclass
class _Answer:
    """An answer the local API is to give instead of its own."""

    path: str
    times: int
    status: int | None
    headers: dict[bytes, bytes]
    body: bytes | None


class AnswerAnything:
    """A local API deviation that replaces its next answers with given ones.

    Pass it to `serve(deviations=[...])`, then call `answer` before each
    example. Only answers the app buffers (JSON, and files up to 1 MiB) can
    have their body replaced.
    """

    name = "answer-anything"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answer: _Answer | None = None

    def answer(
        self,
        *,
        path: str = "*",
        times: int = 1_000_000,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> None:
        """Answer the next `times` requests to `path` (a glob) like this.

        `status` None keeps the app's status, `body` None its body; `headers`
        replace the app's headers of the same names.
        """
        encoded = {
            name.lower().encode("latin-1"): value.encode("latin-1")
            for name, value in (headers or {}).items()
        }
        with self._lock:
            self._answer = _Answer(path, times, status, encoded, body)

    def stop(self) -> None:
        """Let the app's own answers through again."""
        with self._lock:
            self._answer = None

    def rewrite(self, exchange: Exchange) -> Exchange:
        """Replace the answer while an `answer` applies to this path."""
        with self._lock:
            answer = self._answer
            if answer is None or not fnmatch.fnmatchcase(exchange.path, answer.path):
                return exchange
            answer.times -= 1
            if answer.times <= 0:
                self._answer = None
        headers = [
            (name, value)
            for name, value in exchange.headers
            if name.lower() not in answer.headers
        ]
        headers += list(answer.headers.items())
        body = (
            exchange.body
            if answer.body is None or exchange.body is None
            else answer.body
        )
        return dataclasses.replace(
            exchange,
            status=answer.status or exchange.status,
            headers=headers,
            body=body,
        )


def texts_of(thing: object) -> list[str]:
    """Everything a user could read from `thing`: str, repr, and for an
    exception its notes, attributes and chained causes."""
    texts: list[str] = []
    seen: set[int] = set()
    pending: list[object] = [thing]
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        texts += [str(item), repr(item)]
        if isinstance(item, BaseException):
            texts += list(getattr(item, "__notes__", []))
            texts += [repr(value) for value in vars(item).values()]
            texts += [str(value) for value in vars(item).values()]
            pending += [c for c in (item.__cause__, item.__context__) if c is not None]
    return texts


class KeyWatch(logging.Handler):
    """Scans log records, exceptions, reprs and reports for API keys.

    Every text is checked as it is seen; only the places where a key showed
    up are kept (never the text, which holds the key), with counts of what
    was scanned so a test can tell the scan was not empty.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.secrets: set[str] = set()
        self.leaks: list[str] = []
        self.scanned: Counter[str] = Counter()
        self._lock = threading.Lock()

    def guard(self, *secrets: str) -> None:
        """Add keys that must never appear."""
        self.secrets.update(secrets)

    def emit(self, record: logging.LogRecord) -> None:
        """Scan a log record, formatted as a handler would write it."""
        try:
            text = self.format(record)
        except Exception:  # a record that cannot be formatted is scanned raw
            text = f"{record.msg!r} {record.args!r}"
        self.scan([text, repr(record.args)], f"log record of {record.name}", "log")

    def saw(self, things: Iterable[object], where: str) -> None:
        """Scan the exceptions and results a test got."""
        for thing in things:
            kind = "exception" if isinstance(thing, BaseException) else "result"
            self.scan(texts_of(thing), where, kind)

    def scan(self, texts: Iterable[str], where: str, kind: str = "report") -> None:
        """Check `texts`; remember `where` for each one holding a key."""
        with self._lock:
            for text in texts:
                self.scanned[kind] += 1
                if any(secret in text for secret in self.secrets):
                    self.leaks.append(where)


def describe_leaks(leaks: list[str]) -> str:
    """Where keys leaked, without the texts that hold them."""
    return ", ".join(f"{where} x{n}" for where, n in Counter(leaks).items())


def unique(values: Iterable[Any]) -> list[Any]:
    """`values` without repeats, in order."""
    return list(dict.fromkeys(values))
