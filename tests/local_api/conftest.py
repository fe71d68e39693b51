"""Fixtures: a local API on loopback with a manual clock, clients, and the spec.

Each test gets its own server, so the clock and the jobs start fresh.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[2]
# The in-repo packages are importable without installing the distribution.
for folder in ("generated", "local_api", "wrapper"):
    if str(ROOT / folder) not in sys.path:
        sys.path.append(str(ROOT / folder))

from qomplement_local_api import LocalAPI, ManualClock, serve  # noqa: E402

SPEC_URI = "urn:qomplement:openapi"

SchemaCheck = Callable[[Any, str], None]


@pytest.fixture
def clock() -> ManualClock:
    """The server's clock; tests move it with ``advance``."""
    return ManualClock(start=1_000.0)


@pytest.fixture
def api(clock: ManualClock) -> Iterator[LocalAPI]:
    """A local API with the sample data, stopped after the test."""
    with serve(clock=clock) as server:
        yield server


@pytest.fixture
def client(api: LocalAPI) -> Iterator[httpx.Client]:
    """An httpx client sending the server's valid key."""
    headers = {"Authorization": f"Bearer {api.api_key}"}
    with httpx.Client(base_url=api.base_url, headers=headers, timeout=10.0) as http:
        yield http


@pytest.fixture(scope="module")
def shared_api() -> Iterator[LocalAPI]:
    """One server for a module's tests that change nothing (no jobs, no time)."""
    with serve(clock=ManualClock(start=1_000.0)) as server:
        yield server


@pytest.fixture(scope="module")
def shared_client(shared_api: LocalAPI) -> Iterator[httpx.Client]:
    """An httpx client of :func:`shared_api` sending its valid key."""
    headers = {"Authorization": f"Bearer {shared_api.api_key}"}
    with httpx.Client(
        base_url=shared_api.base_url, headers=headers, timeout=10.0
    ) as http:
        yield http


@pytest.fixture(scope="session")
def check_schema() -> SchemaCheck:
    """Return ``check(instance, name)``: validate against a spec component schema.

    Formats (``uuid``, ``date-time``) are checked too.
    """
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    format_checker = Draft202012Validator.FORMAT_CHECKER
    assert {"uuid", "date-time"} <= set(format_checker.checkers)

    def check(instance: Any, name: str) -> None:
        schema = {"$ref": f"{SPEC_URI}#/components/schemas/{name}"}
        validator = Draft202012Validator(
            schema, registry=registry, format_checker=format_checker
        )
        validator.validate(instance)

    return check
