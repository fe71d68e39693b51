"""The Redocly lint of openapi.yaml: clean as it is, and failing where it should."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from docs_support import ROOT

Spec = dict[str, Any]


def test_spec_lints_with_no_errors_and_no_warnings(redocly: Any) -> None:
    problems = redocly.lint()

    assert [str(problem) for problem in problems] == []


def test_wrong_type_in_an_example_fails_the_lint_and_names_the_place(
    redocly: Any, spec_copy: Path
) -> None:
    text = spec_copy.read_text(encoding="utf-8")
    assert text.count("\n          confidence: 92\n") == 1
    broken = text.replace(
        "\n          confidence: 92\n", '\n          confidence: "high"\n'
    )
    spec_copy.write_text(broken, encoding="utf-8")
    line = broken.splitlines().index('          confidence: "high"') + 1

    completed = redocly.run_redocly(
        "lint", str(spec_copy), f"--config={ROOT / 'redocly.yaml'}", "--format=stylish"
    )
    problems = redocly.lint(spec_copy)

    assert completed.returncode == 1
    assert re.search(
        rf"\b{line}:\d+\s+error\s+no-invalid-media-type-examples",
        (completed.stdout),
    ), completed.stdout
    pointer = "#/components/examples/JobCompletedExtract/value/result/confidence"
    at_the_value = [p for p in problems if p.pointer == pointer]
    assert [(p.rule, p.line) for p in at_the_value] == [
        ("no-invalid-media-type-examples", line)
    ]
    assert "`confidence` property type must be integer" in at_the_value[0].message


def _locate(spec: Spec, pointer: str) -> tuple[Any, str | int]:
    """Return the container of the node at a local JSON pointer, and its key."""
    parts = [
        part.replace("~1", "/").replace("~0", "~")
        for part in pointer.removeprefix("#/").split("/")
    ]
    node: Any = spec
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    return node, int(last) if isinstance(node, list) else last


def _delete(pointer: str) -> Callable[[Spec], None]:
    """Return a change that deletes the node at ``pointer``."""

    def change(spec: Spec) -> None:
        container, key = _locate(spec, pointer)
        del container[key]

    return change


def _set(pointer: str, value: Any) -> Callable[[Spec], None]:
    """Return a change that sets the node at ``pointer`` to ``value``."""

    def change(spec: Spec) -> None:
        container, key = _locate(spec, pointer)
        container[key] = value

    return change


GET_JOB = "#/paths/~1v1~1jobs~1{job_id}/get"
LIST_JOBS = "#/paths/~1v1~1jobs/get"
DOWNLOAD = "#/paths/~1v1~1jobs~1{job_id}~1download/get"
WEBHOOK = "#/webhooks/jobFinished/post"
EXAMPLES = "#/components/examples"
SCHEMAS = "#/components/schemas"

# Each case breaks one thing and names every problem the lint must report for
# it, so a rule that stays silent, or one that fires where it should not, fails.
BROKEN_SPECS: dict[str, tuple[Callable[[Spec], None], set[tuple[str, str]]]] = {
    "operation-without-description": (
        _delete(f"{GET_JOB}/description"),
        {
            ("operation-description", f"{GET_JOB}/description"),
            ("rule/operation-documented", f"{GET_JOB}/description"),
        },
    ),
    "operation-with-empty-summary": (
        _set(f"{LIST_JOBS}/summary", ""),
        {
            ("operation-summary", f"{LIST_JOBS}/summary"),
            ("rule/operation-documented", f"{LIST_JOBS}/summary"),
        },
    ),
    "webhook-without-tags": (
        _delete(f"{WEBHOOK}/tags"),
        {
            ("rule/operation-tagged", f"{WEBHOOK}/tags"),
            # An operation without tags has no declared tag either.
            ("operation-tag-defined", WEBHOOK),
        },
    ),
    "error-response-without-example": (
        _delete(f"{DOWNLOAD}/responses/409/content/application~1json/examples"),
        {
            (
                "rule/response-body-example",
                f"{DOWNLOAD}/responses/409/content/application~1json",
            )
        },
    ),
    "download-header-without-example": (
        _delete(f"{DOWNLOAD}/responses/200/headers/Content-Disposition/example"),
        {
            (
                "rule/response-header-example",
                f"{DOWNLOAD}/responses/200/headers/Content-Disposition",
            )
        },
    ),
    "binary-body-without-description": (
        _delete(
            f"{DOWNLOAD}/responses/200/content/application~1pdf/schema/description"
        ),
        {
            (
                "rule/binary-body-described",
                f"{DOWNLOAD}/responses/200/content/application~1pdf/schema/description",
            )
        },
    ),
    "success-response-without-body": (
        _delete(f"{LIST_JOBS}/responses/200/content"),
        {
            ("rule/response-has-body", f"{LIST_JOBS}/responses/200/content"),
            # Its schema and example were used only there.
            ("no-unused-components", f"{SCHEMAS}/JobList"),
            ("no-unused-components", f"{EXAMPLES}/JobListPage"),
        },
    ),
    "property-without-description": (
        _delete(f"{SCHEMAS}/JobProgress/properties/current/description"),
        {
            (
                "rule/schema-property-description",
                f"{SCHEMAS}/JobProgress/properties/current/description",
            )
        },
    ),
    "property-with-empty-description": (
        _set(f"{SCHEMAS}/ValidationError/properties/msg/description", ""),
        {
            (
                "rule/schema-property-description",
                f"{SCHEMAS}/ValidationError/properties/msg/description",
            )
        },
    ),
    "unknown-property-in-error-example": (
        _set(f"{EXAMPLES}/JobNotFoundError/value/detial", "Job not found"),
        {
            (
                "no-invalid-media-type-examples",
                f"{EXAMPLES}/JobNotFoundError/value/detial",
            )
        },
    ),
    "unknown-property-in-listed-job": (
        _set(f"{EXAMPLES}/JobListPage/value/jobs/0/create_at", "2025-02-26T10:30:00Z"),
        {
            (
                "qomplement/job-known-properties",
                f"{EXAMPLES}/JobListPage/value/jobs/0/create_at",
            )
        },
    ),
    "wrong-type-in-webhook-result": (
        _set(
            f"{EXAMPLES}/WebhookCompletedFillPdf/value/data/result/fields_filled", "8"
        ),
        {
            (
                "no-invalid-media-type-examples",
                f"{EXAMPLES}/WebhookCompletedFillPdf/value/data/result/fields_filled",
            ),
            # The same mistake seen from the enclosing result and job, through
            # the spec's type-to-result condition.
            (
                "no-invalid-media-type-examples",
                f"{EXAMPLES}/WebhookCompletedFillPdf/value/data/result",
            ),
            (
                "no-invalid-media-type-examples",
                f"{EXAMPLES}/WebhookCompletedFillPdf/value/data",
            ),
        },
    ),
    "webhook-body-without-examples": (
        _delete(f"{WEBHOOK}/requestBody/content/application~1json/examples"),
        {
            (
                "rule/request-body-example",
                f"{WEBHOOK}/requestBody/content/application~1json",
            ),
            # The webhook examples were used only there.
            ("no-unused-components", f"{EXAMPLES}/WebhookCompletedExtract"),
            ("no-unused-components", f"{EXAMPLES}/WebhookCompletedFillPdf"),
            ("no-unused-components", f"{EXAMPLES}/WebhookFailedExtract"),
        },
    ),
    "parameter-example-of-wrong-type": (
        _set(f"{LIST_JOBS}/parameters/2/example", "ten"),
        {("no-invalid-parameter-examples", f"{LIST_JOBS}/parameters/2/example")},
    ),
}


@pytest.fixture(scope="module")
def broken_spec_problems(
    redocly: Any, spec: Spec, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, set[tuple[str, str]]]:
    """Lint every broken copy of the spec in one run; return problems by case."""
    folder = tmp_path_factory.mktemp("broken-specs")
    files = {}
    for case, (change, _) in BROKEN_SPECS.items():
        broken = yaml.safe_load(yaml.safe_dump(spec))
        change(broken)
        path = folder / f"{case}.yaml"
        path.write_text(yaml.safe_dump(broken, sort_keys=False), encoding="utf-8")
        files[path.resolve()] = case

    problems: dict[str, set[tuple[str, str]]] = {case: set() for case in BROKEN_SPECS}
    for problem in redocly.lint(*files):
        problems[files[problem.source]].add((problem.rule, problem.pointer))
    return problems


@pytest.mark.parametrize("case", list(BROKEN_SPECS))
def test_lint_reports_each_broken_rule_at_its_place(
    case: str, broken_spec_problems: dict[str, set[tuple[str, str]]]
) -> None:
    _, expected = BROKEN_SPECS[case]

    assert broken_spec_problems[case] == expected
