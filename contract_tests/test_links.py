"""The list -> get -> download path, followed through the spec's OpenAPI links.

Schemathesis builds a state machine from the ``links`` of openapi.yaml: a listed
job's id feeds ``getJob`` and ``downloadJobFile``, a read job's id feeds
``downloadJobFile``. Every response along the way passes every check.
"""

from __future__ import annotations

from typing import Any

import hypothesis
import pytest
from schemathesis import Case, Response

from contract_tests._results import CheckRecorder
from contract_tests._spec import STATEFUL_MAX_STEPS, contract_schema
from contract_tests._target import Target, max_examples_from_env

LIST = "GET /v1/jobs"
GET = "GET /v1/jobs/{job_id}"
DOWNLOAD = "GET /v1/jobs/{job_id}/download"
MAX_BATCHES = 10


def _ids_in(response: Response) -> set[str]:
    """The job ids a list or get answer hands on through its links."""
    if response.status_code != 200:
        return set()
    try:
        body = response.json()
    except ValueError:
        return set()
    if not isinstance(body, dict):
        return set()
    if isinstance(body.get("jobs"), list):
        return {str(job.get("id")) for job in body["jobs"] if isinstance(job, dict)}
    return {str(body["id"])} if "id" in body else set()


@pytest.mark.conformance(DOWNLOAD, "links_followed")
def test_links_lead_from_list_to_get_to_download(
    target: Target, recorder: CheckRecorder
) -> None:
    """Scenarios that follow the spec's links pass every check at every step.

    Which rules a scenario draws is random; when a batch of scenarios followed
    no link into an operation, another batch runs, up to ``MAX_BATCHES``.
    """
    linked: dict[str, int] = {GET: 0, DOWNLOAD: 0}
    listed: set[str] = set()

    class JobLinks(contract_schema().as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            self.seen: set[str] = set()

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"base_url": target.base_url, "headers": target.auth_headers}

        def call(self, case: Case, **kwargs: Any) -> Response:
            job_id = str((case.path_parameters or {}).get("job_id", ""))
            if case.operation.label in linked and job_id in self.seen:
                linked[case.operation.label] += 1
            response = target.send_case(case, **kwargs)
            ids = _ids_in(response)
            self.seen |= ids
            if case.operation.label == LIST:
                listed.update(ids)
            return response

    scenarios = max(10, max_examples_from_env() // 4)
    batches = 0
    while batches < MAX_BATCHES and not all(linked.values()):
        batches += 1
        JobLinks.run(
            settings=hypothesis.settings(
                max_examples=scenarios,
                stateful_step_count=STATEFUL_MAX_STEPS,
                deadline=None,
                database=None,
                phases=[hypothesis.Phase.generate],
                suppress_health_check=list(hypothesis.HealthCheck),
            )
        )
        if not listed:
            break
    if not listed:
        reason = "the target listed no jobs, so no link had an id to carry"
        recorder.skipped(GET, "links_followed", reason)
        pytest.skip(reason)
    tried = f"{batches * scenarios} scenarios"
    with recorder.check(GET, "links_followed"):
        assert linked[GET] > 0, f"none of {tried} read a job a list answer linked to"
    recorder.raise_soft_failures()
    assert linked[DOWNLOAD] > 0, f"none of {tried} downloaded a linked job"
