"""openapi.yaml, loaded once: as a schemathesis schema and as JSON Schema validators."""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import schemathesis
import yaml  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.schemas import OpenApiSchema

from contract_tests._target import (
    Target,
    max_examples_from_env,
    remote_target_from_env,
)

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "openapi.yaml"
SPEC_URI = "urn:qomplement:openapi"

STATEFUL_MAX_STEPS = 4


@functools.cache
def raw_spec() -> dict[str, Any]:
    """Return openapi.yaml as a dict (shared; do not mutate)."""
    with SPEC_PATH.open(encoding="utf-8") as stream:
        loaded = yaml.safe_load(stream)
    assert isinstance(loaded, dict)
    return loaded


def schemathesis_config(
    *, max_examples: int, target: Target | None
) -> SchemathesisConfig:
    """Build the run's configuration: every check, every phase, both data modes.

    ``target`` is the running service when one is named, ``None`` for the
    local API. The request rate is not set here: ``Target.bind`` hands
    schemathesis the target's pacer.
    """
    coverage: dict[str, Any] = {"enabled": True}
    if target is not None and not target.is_local:
        # The coverage phase sends undeclared methods (DELETE, POST, ...) to check
        # for 405; a running service gets nothing but GET.
        coverage["unexpected-methods"] = []
    data: dict[str, Any] = {
        "suppress-health-check": ["too_slow", "filter_too_much"],
        "output": {"sanitization": {"enabled": True}},
        "generation": {
            "mode": "all",
            "max-examples": max_examples,
            "database": "none",
            # Query parameters the spec does not list are ignored, as FastAPI
            # does; the spec cannot promise they are rejected.
            "allow-extra-parameters": False,
            # The real key is always sent; whether the operation refuses a
            # missing or wrong one is what `ignored_auth` probes.
            "with-security-parameters": False,
        },
        "phases": {
            "examples": {"enabled": True, "fill-missing": True},
            "coverage": coverage,
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": True, "max-steps": STATEFUL_MAX_STEPS},
        },
        "request-timeout": 30,
        "checks": {
            # A link from a list page can lead to the download of an expired
            # file, which the spec answers with 410: schemathesis' default
            # statuses for accepted valid data, and 410.
            "positive_data_acceptance": {
                "expected-statuses": [
                    *("2xx", "3xx", "401", "403", "404", "409", "429", "5xx"),
                    "410",
                ]
            },
        },
    }
    return SchemathesisConfig.from_dict(data)


def load_schema(config: SchemathesisConfig) -> OpenApiSchema:
    """Load openapi.yaml for schemathesis, with its ``servers`` removed.

    Without ``servers`` no request can fall back to a URL written in the spec
    (the production service is listed there): every request goes to the base
    URL the suite passes, or fails.
    """
    document = copy.deepcopy(raw_spec())
    document.pop("servers", None)
    schema = schemathesis.openapi.from_dict(document, config=config)
    schema.location = SPEC_PATH.as_uri()
    return schema


@functools.cache
def _registry() -> Registry[Any]:
    """The spec as a JSON Schema resource, for resolving references into it."""
    resource = Resource.from_contents(raw_spec(), default_specification=DRAFT202012)
    return Registry().with_resource(SPEC_URI, resource)


def validator_for(pointer: str) -> jsonschema.protocols.Validator:
    """Return a validator for the spec's schema at ``pointer``.

    ``pointer`` is a JSON pointer into openapi.yaml, such as
    ``/components/schemas/Job``; formats (uuid, date-time) are checked.
    """
    return jsonschema.Draft202012Validator(
        {"$ref": f"{SPEC_URI}#{pointer}"},
        registry=_registry(),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


def schema_errors(instance: Any, pointer: str) -> list[str]:
    """Describe every way ``instance`` breaks the spec's schema at ``pointer``."""
    errors = sorted(
        validator_for(pointer).iter_errors(instance), key=lambda e: list(e.path)
    )
    return [
        f"{'/'.join(str(part) for part in error.path) or '(root)'}: {error.message}"
        for error in errors
    ]


def _resolve(node: Any) -> Any:
    """Follow a local ``$ref`` (one hop at a time) to the node it names."""
    while isinstance(node, Mapping) and "$ref" in node:
        reference = node["$ref"]
        assert reference.startswith("#/"), reference
        node = raw_spec()
        for part in reference[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _pointer(node: Any, fallback: str) -> str:
    """Return where a schema lives: its ``$ref`` target, else ``fallback``."""
    if isinstance(node, Mapping) and "$ref" in node:
        return str(node["$ref"])[1:]
    return fallback


@dataclass(frozen=True)
class NamedExample:
    """One example written in the spec, with the schema it illustrates."""

    operation: str
    where: str
    value: Any
    schema_pointer: str


def _escape(part: str) -> str:
    """Escape ``part`` for use as one JSON pointer segment."""
    return part.replace("~", "~0").replace("/", "~1")


def _examples_of(
    container: Mapping[str, Any], operation: str, where: str, schema_pointer: str
) -> Iterator[NamedExample]:
    """Yield the ``example`` and each of the ``examples`` of a spec node."""
    if "example" in container:
        yield NamedExample(operation, where, container["example"], schema_pointer)
    for name, example in container.get("examples", {}).items():
        resolved = _resolve(example)
        if "value" in resolved:
            yield NamedExample(
                operation,
                f"{where} example {name!r}",
                resolved["value"],
                schema_pointer,
            )


def _parameter_examples(
    parameters: list[Any], operation: str, base: str
) -> Iterator[NamedExample]:
    """Yield the examples of an operation's parameters."""
    for index, parameter in enumerate(parameters):
        resolved = _resolve(parameter)
        pointer = _pointer(parameter, f"{base}/parameters/{index}") + "/schema"
        yield from _examples_of(
            resolved, operation, f"parameter {resolved['name']!r}", pointer
        )


def _response_examples(
    responses: Mapping[str, Any], operation: str, base: str
) -> Iterator[NamedExample]:
    """Yield the examples of an operation's response headers and bodies."""
    for status, response in responses.items():
        resolved = _resolve(response)
        response_pointer = _pointer(response, f"{base}/responses/{status}")
        for header_name, header in resolved.get("headers", {}).items():
            header_resolved = _resolve(header)
            header_pointer = _pointer(
                header, f"{response_pointer}/headers/{_escape(header_name)}"
            )
            yield from _examples_of(
                header_resolved,
                operation,
                f"{status} header {header_name!r}",
                header_pointer + "/schema",
            )
        for media_type, content in resolved.get("content", {}).items():
            content_pointer = f"{response_pointer}/content/{_escape(media_type)}"
            yield from _examples_of(
                content,
                operation,
                f"{status} {media_type}",
                content_pointer + "/schema",
            )


def iter_named_examples() -> Iterator[NamedExample]:
    """Yield every example written in openapi.yaml, with its schema's pointer.

    Operation labels follow schemathesis (``GET /v1/jobs/{job_id}``); the
    webhook is ``WEBHOOK jobFinished``.
    """
    spec = raw_spec()
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if method not in {"get", "put", "post", "delete", "patch"}:
                continue
            label = f"{method.upper()} {path}"
            base = f"/paths/{_escape(path)}/{method}"
            yield from _parameter_examples(operation.get("parameters", []), label, base)
            yield from _response_examples(operation.get("responses", {}), label, base)
    for name, item in spec.get("webhooks", {}).items():
        for method, operation in item.items():
            label = f"WEBHOOK {name}"
            base = f"/webhooks/{_escape(name)}/{method}"
            body = operation.get("requestBody", {})
            for media_type, content in body.get("content", {}).items():
                yield from _examples_of(
                    content,
                    label,
                    f"request body {media_type}",
                    f"{base}/requestBody/content/{_escape(media_type)}/schema",
                )


@functools.cache
def contract_schema() -> OpenApiSchema:
    """Return the schema the suite tests with, configured from the environment.

    Raises:
        TargetConfigError: if the environment's settings are unusable.
    """
    config = schemathesis_config(
        max_examples=max_examples_from_env(), target=remote_target_from_env()
    )
    return load_schema(config)
