"""Contains all the data models used in inputs/outputs"""

from .error_response import ErrorResponse
from .extract_result import ExtractResult
from .extract_result_detail import ExtractResultDetail
from .extract_result_fields import ExtractResultFields
from .field_detail import FieldDetail
from .fill_excel_result import FillExcelResult
from .fill_pdf_result import FillPdfResult
from .http_validation_error import HTTPValidationError
from .job import Job
from .job_error import JobError
from .job_list import JobList
from .job_progress import JobProgress
from .known_job_error_code import KnownJobErrorCode
from .known_job_status import KnownJobStatus
from .known_job_type import KnownJobType
from .other_result import OtherResult
from .partial_job import PartialJob
from .validation_error import ValidationError
from .validation_error_ctx import ValidationErrorCtx
from .webhook_event import WebhookEvent

__all__ = (
    "ErrorResponse",
    "ExtractResult",
    "ExtractResultDetail",
    "ExtractResultFields",
    "FieldDetail",
    "FillExcelResult",
    "FillPdfResult",
    "HTTPValidationError",
    "Job",
    "JobError",
    "JobList",
    "JobProgress",
    "KnownJobErrorCode",
    "KnownJobStatus",
    "KnownJobType",
    "OtherResult",
    "PartialJob",
    "ValidationError",
    "ValidationErrorCtx",
    "WebhookEvent",
)
