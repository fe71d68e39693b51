"""The qomplement local API: a real server that behaves like the live service.

It answers ``GET /v1/jobs/{job_id}``, ``GET /v1/jobs`` and
``GET /v1/jobs/{job_id}/download`` as openapi.yaml says, from jobs that
advance with a clock, and adds a control surface (``/_local/``) to create
jobs, inject faults and set rate limits.

Example::

    from qomplement_local_api import ManualClock, serve

    with serve(clock=ManualClock()) as api:
        job_id = api.create_job(type="fill_pdf", duration=2.0)
        api.clock.advance(2.0)
"""

from .clock import Clock, ManualClock, MonotonicClock
from .control import LocalAPIControl, LocalAPIControlError
from .deviations import Deviation, Exchange
from .faults import FAULT_KINDS, Fault
from .jobs import (
    SAMPLE_EXPIRED_JOB_ID,
    SAMPLE_EXTRACT_JOB_ID,
    SAMPLE_FAILED_JOB_ID,
    SAMPLE_FILL_EXCEL_JOB_ID,
    SAMPLE_FILL_PDF_JOB_ID,
    SAMPLE_PENDING_JOB_ID,
    SAMPLE_PROCESSING_JOB_ID,
)
from .server import LocalAPI, serve

__all__ = [
    "FAULT_KINDS",
    "SAMPLE_EXPIRED_JOB_ID",
    "SAMPLE_EXTRACT_JOB_ID",
    "SAMPLE_FAILED_JOB_ID",
    "SAMPLE_FILL_EXCEL_JOB_ID",
    "SAMPLE_FILL_PDF_JOB_ID",
    "SAMPLE_PENDING_JOB_ID",
    "SAMPLE_PROCESSING_JOB_ID",
    "Clock",
    "Deviation",
    "Exchange",
    "Fault",
    "LocalAPI",
    "LocalAPIControl",
    "LocalAPIControlError",
    "ManualClock",
    "MonotonicClock",
    "serve",
]
