"""Fixtures of the hostile-input tests.

Every test here runs under a key watch: all logging, at DEBUG, is scanned
for the API keys in use, and the test fails if one shows up. Tests add the
exceptions and results they get with `key_watch.saw(...)`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from qomplement_local_api import LocalAPI, ManualClock, serve

# The suite imports test modules by path, so the helper beside them is put
# on the path explicitly.
sys.path.insert(0, str(Path(__file__).parent))

from hostile_support import (
    EXAMPLES,
    OFFLINE_KEY,
    AnswerAnything,
    KeyWatch,
    describe_leaks,
)

_WATCH = KeyWatch()
_WATCH.guard(OFFLINE_KEY)


@pytest.fixture(scope="session")
def watch() -> KeyWatch:
    """The session's key watch."""
    return _WATCH


@pytest.fixture(autouse=True)
def key_watch(watch: KeyWatch) -> Iterator[KeyWatch]:
    """Scan every log record of the test at DEBUG; fail if a key appears."""
    root = logging.getLogger()
    level = root.level
    root.addHandler(watch)
    root.setLevel(logging.DEBUG)
    leaks_before = len(watch.leaks)
    try:
        yield watch
    finally:
        root.removeHandler(watch)
        root.setLevel(level)
    leaks = watch.leaks[leaks_before:]
    assert not leaks, f"an API key appeared in: {describe_leaks(leaks)}"


@pytest.fixture(scope="module")
def answers() -> AnswerAnything:
    """The deviation through which a module's server answers anything."""
    return AnswerAnything()


@pytest.fixture(scope="module")
def server(answers: AnswerAnything) -> Iterator[LocalAPI]:
    """A local API on a manual clock that can be told to answer anything."""
    with serve(clock=ManualClock(start=1_000.0), deviations=[answers]) as api:
        _WATCH.guard(api.api_key, api.revoked_key)
        yield api


@pytest.fixture
def api(server: LocalAPI, answers: AnswerAnything) -> Iterator[LocalAPI]:
    """The local API with only its sample data and its own answers."""
    answers.stop()
    server.reset()
    yield server
    answers.stop()
    server.reset()


@pytest.fixture(autouse=True)
def _no_ambient_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's own key and URL out of the tests."""
    monkeypatch.delenv("QOMPLEMENT_API_KEY", raising=False)
    monkeypatch.delenv("QOMPLEMENT_BASE_URL", raising=False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Report how many hypothesis examples the hostile-input properties ran."""
    if not EXAMPLES:
        return
    report = (
        f"hostile input: {sum(EXAMPLES.values())} hypothesis examples over "
        f"{len(EXAMPLES)} properties; key watch scanned "
        + ", ".join(f"{n} {kind} texts" for kind, n in sorted(_WATCH.scanned.items()))
        + f"; {len(_WATCH.leaks)} leaks"
    )
    _WATCH.scan([report], "the hostile-input summary")
    terminalreporter.write_line(report)
    for name, n in sorted(EXAMPLES.items()):
        terminalreporter.write_line(f"  {n:6d}  {name}")
