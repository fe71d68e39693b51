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
    """Scenarios that follow the spec's links pass every check at every step."""
    linked: dict[str, int] = {GET: 0, DOWNLOAD: 0}

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
            self.seen |= _ids_in(response)
            return response

    scenarios = max(5, max_examples_from_env() // 4)
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
    with recorder.check(GET, "links_followed"):
        assert linked[GET] > 0, (
            f"no scenario of {scenarios} read a job whose id a list answer linked to"
        )
    recorder.raise_soft_failures()
    assert linked[DOWNLOAD] > 0, (
        f"no scenario of {scenarios} downloaded a job whose id an answer linked to"
    )
