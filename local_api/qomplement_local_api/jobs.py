"""Jobs, keys and the time-driven state machine of the local API.

A job is created with a *plan* (how long it stays pending, how long it
processes, how it ends) and its state at any moment is computed from the
clock, so nothing has to run in the background for jobs to advance.
"""

from __future__ import annotations

import math
import re
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from .clock import Clock

__all__ = [
    "FILL_TYPES",
    "KNOWN_STATUSES",
    "KNOWN_TYPES",
    "MAX_FILE_SIZE",
    "SAMPLE_EXPIRED_JOB_ID",
    "SAMPLE_EXTRACT_JOB_ID",
    "SAMPLE_FAILED_JOB_ID",
    "SAMPLE_FILL_EXCEL_JOB_ID",
    "SAMPLE_FILL_PDF_JOB_ID",
    "SAMPLE_PENDING_JOB_ID",
    "SAMPLE_PROCESSING_JOB_ID",
    "FormField",
    "Job",
    "JobState",
    "JobStore",
    "KeyStatus",
    "excel_cells",
    "format_datetime",
    "new_api_key",
    "pdf_fields",
]

KNOWN_TYPES = ("extract", "fill_pdf", "fill_excel")
KNOWN_STATUSES = ("pending", "processing", "completed", "failed")
FILL_TYPES = ("fill_pdf", "fill_excel")
# Longer plans would push timestamps past what datetime can hold.
MAX_SECONDS = 100 * 365 * 86400.0
# zipfile needs ZIP64 records beyond 2 GiB; the padded files stay below that.
MAX_FILE_SIZE = 2**31 - 2**20

KEY_PATTERN = re.compile(r"sd_[0-9a-f]{48}")

# The spec's example id: a completed fill_pdf job whose download works.
SAMPLE_FILL_PDF_JOB_ID = "550e8400-e29b-41d4-a716-446655440000"
_SAMPLE_NAMESPACE = uuid.UUID("6f1c2a9e-2d7b-4c55-9a51-3f0d8c1e7b42")


def _sample_id(name: str) -> str:
    """Return the fixed id of the sample job called ``name``."""
    return str(uuid.uuid5(_SAMPLE_NAMESPACE, name))


SAMPLE_EXPIRED_JOB_ID = _sample_id("expired-fill-pdf")
SAMPLE_FAILED_JOB_ID = _sample_id("failed-no-form-fields")
SAMPLE_PROCESSING_JOB_ID = _sample_id("processing-extract")
SAMPLE_PENDING_JOB_ID = _sample_id("pending-extract")
SAMPLE_FILL_EXCEL_JOB_ID = _sample_id("completed-fill-excel")
SAMPLE_EXTRACT_JOB_ID = _sample_id("completed-extract")

_DEFAULT_ERROR_MESSAGES = {
    "no_form_fields": "The PDF has no fillable form fields",
    "processing_error": "Could not extract text from document",
}

KeyStatus = Literal["valid", "revoked", "unknown"]

# (name, label, value) of the form fields of every filled PDF.
_FORM_FIELDS = (
    ("full_name", "Full name", "Ada Lovelace"),
    ("date_of_birth", "Date of birth", "1815-12-10"),
    ("email", "Email", "ada@example.com"),
    ("phone", "Phone", "+44 20 7946 0958"),
    ("address", "Address", "12 St James's Square"),
    ("city", "City", "London"),
    ("postal_code", "Postal code", "SW1Y 4JH"),
    ("country", "Country", "United Kingdom"),
    ("invoice_number", "Invoice number", "INV-2025-001234"),
    ("total_amount", "Total amount", "1500.50"),
    ("vendor_name", "Vendor", "ABC Corp"),
    ("signature_date", "Signed on", "2025-02-26"),
)


def new_api_key() -> str:
    """Return a fresh key in the service's format: ``sd_`` and 48 hex digits."""
    return "sd_" + secrets.token_hex(24)


def format_datetime(moment: datetime) -> str:
    """Render ``moment`` (UTC) as RFC 3339 with a ``Z``, seconds when exact."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    return text + "Z"


@dataclass(frozen=True)
class Job:
    """A job and the plan it follows; its state comes from :meth:`state_at`."""

    id: uuid.UUID
    owner: str
    type: str
    created: float
    created_at: datetime
    pending: float
    duration: float
    outcome: str
    error_code: str | None
    error_message: str | None
    progress_steps: int | None
    status_override: str | None
    file_size: int | None
    filename: str | None
    content_disposition: str | None
    expires_in: float
    retry_after: int | None
    sample: bool = False

    @property
    def has_file(self) -> bool:
        """Whether the job produces a download once completed."""
        return self.type in FILL_TYPES and self.outcome == "completed"

    @property
    def finishes(self) -> float:
        """Clock time at which the job completes or fails."""
        return self.created + self.pending + self.duration

    @property
    def expires(self) -> float:
        """Clock time after which the job's file is gone."""
        return self.finishes + self.expires_in

    def state_at(self, now: float) -> JobState:
        """Return the job as it is at clock time ``now``."""
        started_at = self.created_at + timedelta(seconds=self.pending)
        completed_at = started_at + timedelta(seconds=self.duration)
        if self.status_override is not None:
            return JobState(self, self.status_override)
        elapsed = now - self.created
        if elapsed < self.pending:
            return JobState(self, "pending")
        if elapsed < self.pending + self.duration:
            return JobState(
                self,
                "processing",
                progress=self._progress(elapsed - self.pending),
                started_at=started_at,
            )
        status = "completed" if self.outcome == "completed" else "failed"
        return JobState(
            self,
            status,
            started_at=started_at,
            completed_at=completed_at,
            processing_time_ms=round(self.duration * 1000),
            expired=now > self.expires,
        )

    def _progress(self, running: float) -> dict[str, Any] | None:
        """Return the ``progress`` object after ``running`` seconds of work."""
        if self.progress_steps is None:
            return None
        total = self.progress_steps
        fraction = running / self.duration if self.duration > 0 else 1.0
        current = min(total, 1 + math.floor(fraction * total))
        return {
            "current": current,
            "total": total,
            "message": f"Processing document {current} of {total}...",
        }


@dataclass(frozen=True)
class JobState:
    """What a job looks like at one moment."""

    job: Job
    status: str
    progress: dict[str, Any] | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    processing_time_ms: int | None = None
    expired: bool = False

    @property
    def expires_at(self) -> datetime | None:
        """When the job's file is deleted, once it has completed with one."""
        if self.completed_at is None:
            return None
        return self.completed_at + timedelta(seconds=self.job.expires_in)

    def to_json(self) -> dict[str, Any]:
        """Return the job as the Jobs endpoints send it."""
        job = self.job
        return {
            "id": str(job.id),
            "type": job.type,
            "status": self.status,
            "progress": self.progress,
            "result": self._result(),
            "error": self._error(),
            "created_at": format_datetime(job.created_at),
            "started_at": _optional_datetime(self.started_at),
            "completed_at": _optional_datetime(self.completed_at),
            "processing_time_ms": self.processing_time_ms,
        }

    def _error(self) -> dict[str, str] | None:
        """Return the ``error`` object of a failed job."""
        if self.status != "failed" or self.job.status_override is not None:
            return None
        code = self.job.error_code or (
            "no_form_fields" if self.job.type == "fill_pdf" else "processing_error"
        )
        message = self.job.error_message or _DEFAULT_ERROR_MESSAGES.get(
            code, "The job failed"
        )
        return {"code": code, "message": message}

    def _result(self) -> dict[str, Any] | None:
        """Return the typed ``result`` of a completed job."""
        if self.status != "completed" or self.job.status_override is not None:
            return None
        job = self.job
        download = {
            "download_url": f"/v1/jobs/{job.id}/download",
            "expires_at": _optional_datetime(self.expires_at),
        }
        if job.type == "fill_pdf":
            fields = pdf_fields(job)
            filled = [item for item in fields if item.value is not None]
            return {
                **download,
                "fields_filled": len(filled),
                "fields_total": len(fields),
                "field_details": [
                    {
                        "field_name": item.name,
                        "value": item.value,
                        "source": item.source,
                        "confidence": item.confidence,
                    }
                    for item in filled
                ],
            }
        if job.type == "fill_excel":
            cells = excel_cells(job)
            return {
                **download,
                "cells_written": sum(len(sheet) for sheet in cells.values()),
                "sheets_modified": list(cells),
            }
        if job.type == "extract":
            return {
                "model": "qomplement-OCR-v1",
                "document_type": "invoice",
                "language": "en",
                "confidence": 80 + job.id.int % 20,
                "fields": {
                    "invoice_number": f"INV-2025-{job.id.int % 1_000_000:06d}",
                    "total_amount": f"{job.id.int % 100_000 / 100:.2f}",
                    "vendor_name": "ABC Corp",
                },
                "tables": [],
                "pages_processed": job.progress_steps or 3,
                "processing_time_ms": self.processing_time_ms,
            }
        return {"output": f"Result of a {job.type} job"}


@dataclass(frozen=True)
class FormField:
    """One form field of a filled PDF and how it was filled."""

    name: str
    label: str
    value: str | None
    source: str | None
    confidence: float | None


def pdf_fields(job: Job) -> list[FormField]:
    """Return the form fields of ``job``'s PDF; the first few are filled.

    The last field always holds the job's id, so a downloaded file can be
    matched to its job.
    """
    filled = 5 + job.id.int % 7
    fields = [
        FormField(name, label, value, "document", 0.9)
        if index < filled
        else FormField(name, label, None, None, None)
        for index, (name, label, value) in enumerate(_FORM_FIELDS[:-1])
    ]
    fields.append(FormField("job_reference", "Job reference", str(job.id), "job", 1.0))
    return fields


def excel_cells(job: Job) -> dict[str, dict[str, str | float]]:
    """Return the cells written into ``job``'s workbook, by sheet name."""
    cells: dict[str, dict[str, str | float]] = {
        "Invoice": {
            "A1": "Invoice number",
            "B1": f"INV-2025-{job.id.int % 1_000_000:06d}",
            "A2": "Vendor",
            "B2": "ABC Corp",
            "A3": "Total amount",
            "B3": 1500.5,
            "A4": "Job reference",
            "B4": str(job.id),
        }
    }
    if job.id.int % 2:
        cells["Summary"] = {"A1": "Cells written", "B1": 9.0}
    return cells


def _optional_datetime(moment: datetime | None) -> str | None:
    """Render ``moment`` or pass ``None`` through."""
    return None if moment is None else format_datetime(moment)


@dataclass
class _Keys:
    """API keys the server knows, each valid or revoked."""

    primary: str
    revoked: str
    extra: dict[str, bool] = field(default_factory=dict)

    def status(self, key: str) -> KeyStatus:
        if key == self.primary:
            return "valid"
        if key == self.revoked:
            return "revoked"
        if key in self.extra:
            return "revoked" if self.extra[key] else "valid"
        return "unknown"


class JobStore:
    """All jobs and keys of one server, safe to use from several threads.

    Clock times map to wall-clock datetimes through one anchor taken when
    the store is made, so ``created_at``, ``started_at`` and ``completed_at``
    are as far apart as the clock says.
    """

    def __init__(self, clock: Clock, *, api_key: str | None = None) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._anchor = clock.now()
        self._anchor_wall = datetime.now(UTC).replace(microsecond=0)
        primary = api_key if api_key is not None else new_api_key()
        if not KEY_PATTERN.fullmatch(primary):
            raise ValueError(
                "api_key must be 'sd_' followed by 48 lowercase hex digits"
            )
        self._keys = _Keys(primary=primary, revoked=new_api_key())
        self._jobs: dict[uuid.UUID, Job] = {}

    @property
    def api_key(self) -> str:
        """The key that owns the sample data."""
        return self._keys.primary

    @property
    def revoked_key(self) -> str:
        """A well-formed key that is revoked."""
        return self._keys.revoked

    def new_key(self, *, revoked: bool = False) -> str:
        """Register and return another key (valid unless ``revoked``)."""
        key = new_api_key()
        with self._lock:
            self._keys.extra[key] = revoked
        return key

    def key_status(self, key: str) -> KeyStatus:
        """Return ``"valid"``, ``"revoked"`` or ``"unknown"``."""
        with self._lock:
            return self._keys.status(key)

    def wall(self, at: float) -> datetime:
        """Return the wall-clock datetime of clock time ``at``.

        Raises:
            ValueError: the time is outside what a datetime can hold.
        """
        try:
            return self._anchor_wall + timedelta(seconds=at - self._anchor)
        except OverflowError:
            raise ValueError("the clock is beyond what a datetime can hold") from None

    def create(
        self,
        *,
        owner: str | None = None,
        type: str = "fill_pdf",
        duration: float = 2.0,
        pending: float = 0.0,
        outcome: str = "completed",
        error_code: str | None = None,
        error_message: str | None = None,
        progress_steps: int | None = None,
        status_override: str | None = None,
        file_size: int | None = None,
        filename: str | None = None,
        content_disposition: str | None = None,
        expires_in: float = 7 * 86400,
        retry_after: int | None = None,
        job_id: str | None = None,
        age: float = 0.0,
        sample: bool = False,
        check: Callable[[Job], None] | None = None,
    ) -> Job:
        """Create a job that starts ``age`` seconds ago and return it.

        ``check`` may veto the new job by raising ValueError before it is
        stored (the file module checks ``file_size`` that way).

        Raises:
            ValueError: an argument is out of range (see the messages).
        """
        _check_plan(
            type=type,
            duration=duration,
            pending=pending,
            outcome=outcome,
            progress_steps=progress_steps,
            file_size=file_size,
            expires_in=expires_in,
            retry_after=retry_after,
            age=age,
        )
        if filename is not None:
            if not filename:
                raise ValueError("filename must not be empty")
            _check_header_text("filename", filename, latin1=False)
        if content_disposition is not None:
            _check_header_text("content_disposition", content_disposition, latin1=True)
        created = self.clock.now() - age
        owner = owner if owner is not None else self._keys.primary
        if self.key_status(owner) == "unknown":
            raise ValueError("owner must be a key this server knows")
        job = Job(
            id=uuid.UUID(job_id) if job_id is not None else uuid.uuid4(),
            owner=owner,
            type=type,
            created=created,
            created_at=self.wall(created),
            pending=float(pending),
            duration=float(duration),
            outcome=outcome,
            error_code=error_code,
            error_message=error_message,
            progress_steps=progress_steps,
            status_override=status_override,
            file_size=file_size,
            filename=filename,
            content_disposition=content_disposition,
            expires_in=float(expires_in),
            retry_after=retry_after,
            sample=sample,
        )
        try:
            job.created_at + timedelta(seconds=job.pending + job.duration + expires_in)
        except OverflowError:
            raise ValueError(
                "the job would end beyond what a datetime can hold"
            ) from None
        if check is not None:
            check(job)
        with self._lock:
            if job.id in self._jobs:
                raise ValueError(f"a job with id {job.id} exists already")
            self._jobs[job.id] = job
        return job

    def get(self, owner: str, job_id: uuid.UUID) -> Job | None:
        """Return the job ``job_id`` if ``owner`` owns it."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.owner != owner:
            return None
        return job

    def page(
        self,
        owner: str,
        *,
        status: str | None = None,
        type: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> tuple[list[JobState], int]:
        """Return one page of ``owner``'s jobs, newest first, and the total.

        Jobs are ordered by ``created_at`` and then ``id``, both descending,
        so pages of an unchanged set never overlap or skip.
        """
        now = self.clock.now()
        with self._lock:
            jobs = [job for job in self._jobs.values() if job.owner == owner]
        states = [job.state_at(now) for job in jobs]
        matching = [
            state
            for state in states
            if (status is None or state.status == status)
            and (type is None or state.job.type == type)
        ]
        matching.sort(key=lambda s: (s.job.created_at, str(s.job.id)), reverse=True)
        return matching[offset : offset + limit], len(matching)

    def reset(self) -> list[Job]:
        """Drop every job that is not sample data and every extra key.

        Returns the dropped jobs, so their files can be deleted.
        """
        with self._lock:
            dropped = [job for job in self._jobs.values() if not job.sample]
            for job in dropped:
                del self._jobs[job.id]
            self._keys.extra.clear()
        return dropped

    def add_sample_data(self) -> None:
        """Create the fixed sample jobs, aged so they are in their states."""
        for spec in _sample_plans():
            self.create(sample=True, **spec)


def _check_plan(
    *,
    type: str,
    duration: float,
    pending: float,
    outcome: str,
    progress_steps: int | None,
    file_size: int | None,
    expires_in: float,
    retry_after: int | None,
    age: float,
) -> None:
    """Raise ValueError when a job plan cannot be followed."""
    if not isinstance(type, str) or not type:
        raise ValueError("type must be a non-empty string")
    for name, value in (
        ("duration", duration),
        ("pending", pending),
        ("expires_in", expires_in),
        ("age", age),
    ):
        if not isinstance(value, int | float) or not 0 <= value <= MAX_SECONDS:
            raise ValueError(f"{name} must be a number of seconds from 0 to 100 years")
    if outcome not in ("completed", "failed"):
        raise ValueError("outcome must be 'completed' or 'failed'")
    if progress_steps is not None and (
        not isinstance(progress_steps, int) or progress_steps < 1
    ):
        raise ValueError("progress_steps must be an integer >= 1 or None")
    if retry_after is not None and (
        not isinstance(retry_after, int) or retry_after < 0
    ):
        raise ValueError("retry_after must be an integer >= 0 or None")
    if file_size is not None:
        if type not in FILL_TYPES:
            raise ValueError("file_size applies to fill_pdf and fill_excel jobs")
        if not isinstance(file_size, int) or file_size > MAX_FILE_SIZE:
            raise ValueError(f"file_size must be an integer <= {MAX_FILE_SIZE}")


def _check_header_text(name: str, value: str, *, latin1: bool) -> None:
    """Raise ValueError unless ``value`` can go into a header (once encoded)."""
    if latin1 and any(ord(char) > 255 for char in value):
        raise ValueError(f"{name} must be latin-1 text")
    if any((ord(char) < 32 and char != "\t") or ord(char) == 127 for char in value):
        raise ValueError(f"{name} must not contain control characters")


def _sample_plans() -> Iterable[dict[str, Any]]:
    """Yield the create() arguments of the sample jobs, newest first."""
    minute = 60.0
    yield {
        "job_id": SAMPLE_PENDING_JOB_ID,
        "type": "extract",
        "age": 2 * minute,
        "pending": 12 * 3600.0,
        "duration": 60.0,
        "progress_steps": 4,
    }
    yield {
        "job_id": SAMPLE_PROCESSING_JOB_ID,
        "type": "extract",
        "age": 10 * minute,
        "pending": 5.0,
        "duration": 12 * 3600.0,
        "progress_steps": 5,
    }
    yield {
        "job_id": _sample_id("processing-fill-excel"),
        "type": "fill_excel",
        "age": 12 * minute,
        "pending": 5.0,
        "duration": 12 * 3600.0,
    }
    yield {
        "job_id": _sample_id("pending-fill-pdf"),
        "type": "fill_pdf",
        "age": 15 * minute,
        "pending": 12 * 3600.0,
    }
    yield {
        "job_id": SAMPLE_FILL_PDF_JOB_ID,
        "type": "fill_pdf",
        "age": 60 * minute,
        "pending": 5.0,
        "duration": 307.0,
    }
    yield {
        "job_id": SAMPLE_FAILED_JOB_ID,
        "type": "fill_pdf",
        "age": 75 * minute,
        "pending": 3.0,
        "duration": 4.0,
        "outcome": "failed",
        "error_code": "no_form_fields",
    }
    yield {
        "job_id": SAMPLE_FILL_EXCEL_JOB_ID,
        "type": "fill_excel",
        "age": 90 * minute,
        "pending": 2.0,
        "duration": 21.0,
    }
    yield {
        "job_id": SAMPLE_EXTRACT_JOB_ID,
        "type": "extract",
        "age": 105 * minute,
        "pending": 5.0,
        "duration": 8.0,
        "progress_steps": 3,
    }
    yield {
        "job_id": _sample_id("failed-extract"),
        "type": "extract",
        "age": 120 * minute,
        "pending": 1.0,
        "duration": 6.0,
        "outcome": "failed",
        "error_code": "processing_error",
    }
    # Two jobs created in the same second: the order falls back to the id.
    for twin in ("twin-a", "twin-b"):
        yield {
            "job_id": _sample_id(twin),
            "type": "extract",
            "age": 135 * minute,
            "pending": 2.0,
            "duration": 9.0,
        }
    types = ("extract", "fill_pdf", "fill_excel")
    for index in range(32):
        yield {
            "job_id": _sample_id(f"history-{index}"),
            "type": types[index % 3],
            "age": (150 + 47 * index) * minute,
            "pending": float(index % 4),
            "duration": 5.0 + 13 * (index % 7),
            "outcome": "failed" if index % 9 == 4 else "completed",
            "error_code": "processing_error" if index % 9 == 4 else None,
            "progress_steps": 2 + index % 4 if index % 2 else None,
        }
    yield {
        "job_id": _sample_id("expired-fill-excel"),
        "type": "fill_excel",
        "age": 9 * 86400.0,
        "pending": 2.0,
        "duration": 30.0,
    }
    yield {
        "job_id": SAMPLE_EXPIRED_JOB_ID,
        "type": "fill_pdf",
        "age": 10 * 86400.0,
        "pending": 5.0,
        "duration": 60.0,
    }
