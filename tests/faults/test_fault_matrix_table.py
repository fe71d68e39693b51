"""The committed docs/fault-matrix.md says what the fault matrix test checks."""

from __future__ import annotations

import os

import pytest
from fault_matrix import (
    FAULTS,
    OPERATIONS,
    TABLE_PATH,
    expected_cells,
    render_document,
    render_table,
)


@pytest.mark.skipif(
    bool(os.environ.get("QOMPLEMENT_WRITE_FAULT_MATRIX")),
    reason="this run rewrites docs/fault-matrix.md",
)
def test_committed_fault_matrix_matches_the_expectations() -> None:
    committed = TABLE_PATH.read_text(encoding="utf-8")

    current = render_document(render_table(expected_cells()), footer="")

    assert committed.startswith(current.rstrip("\n")), (
        "docs/fault-matrix.md is stale: run "
        "QOMPLEMENT_WRITE_FAULT_MATRIX=1 pytest tests/faults"
    )


def test_fault_matrix_covers_every_fault_and_operation() -> None:
    cells = expected_cells()

    assert len(FAULTS) == 19
    assert len(OPERATIONS) == 7
    assert len(cells) == len(FAULTS) * len(OPERATIONS)
    assert {case.kind for case in FAULTS} == {
        "latency",
        "reset",
        "status",
        "malformed_json",
        "truncate",
        "overlong",
        "stall",
    }
    statuses = {(case.status, bool(case.retry_after)) for case in FAULTS}
    for status in (500, 502, 503, 504, 520):
        assert {(status, False), (status, True)} <= statuses
    assert (429, True) in statuses
