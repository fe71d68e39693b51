"""Every operation of openapi.yaml, tested with generated requests.

Schemathesis runs its examples phase (every example in the spec), its coverage
phase (boundary and invalid values of each parameter) and its fuzzing phase,
in positive and negative mode, and applies every response check it has to each
answer, `ignored_auth` included (the key is sent as an explicit bearer header,
so schemathesis probes each operation without it and with a wrong one).
"""

from __future__ import annotations

from schemathesis import Case

from contract_tests._spec import contract_schema
from contract_tests._target import Target

schema = contract_schema()


@schema.parametrize()
def test_operation_conforms_to_spec(case: Case, target: Target) -> None:
    """Each generated request's answer passes every schemathesis check."""
    response = target.send_case(case)
    case.validate_response(
        response,
        headers=target.auth_headers,
        transport_kwargs={"base_url": target.base_url, "headers": target.auth_headers},
    )
