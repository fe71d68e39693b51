from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.known_job_status import KnownJobStatus
from ..models.known_job_type import KnownJobType
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.extract_result import ExtractResult
    from ..models.fill_excel_result import FillExcelResult
    from ..models.fill_pdf_result import FillPdfResult
    from ..models.job_error import JobError
    from ..models.job_progress import JobProgress
    from ..models.other_result import OtherResult


T = TypeVar("T", bound="PartialJob")


@_attrs_define
class PartialJob:
    """A job of which the service may omit every property but `id`, `type` and `status`, as in webhook deliveries. `Job` is
    the same with `created_at` required.

        Attributes:
            id (UUID): The job's id.
            type_ (KnownJobType | str): The job's type; a value this document does not list yet is passed through as a
                string.
            status (KnownJobStatus | str): The job's status; a value this document does not list yet is passed through as a
                string.
            progress (JobProgress | None | Unset): Progress of a processing job, or null.
            result (ExtractResult | FillExcelResult | FillPdfResult | None | OtherResult | Unset): The output of a completed
                job, or null: an `ExtractResult` for an
                `extract` job, a `FillPdfResult` for `fill_pdf`, a `FillExcelResult`
                for `fill_excel`.
            error (JobError | None | Unset): Why a failed job failed, or null.
            created_at (datetime.datetime | Unset): When the job was created.
            started_at (datetime.datetime | None | Unset): When processing started, or null before it has.
            completed_at (datetime.datetime | None | Unset): When the job completed or failed, or null before it has.
            processing_time_ms (int | None | Unset): Processing time in milliseconds once finished, or null.
    """

    id: UUID
    type_: KnownJobType | str
    status: KnownJobStatus | str
    progress: JobProgress | None | Unset = UNSET
    result: (
        ExtractResult | FillExcelResult | FillPdfResult | None | OtherResult | Unset
    ) = UNSET
    error: JobError | None | Unset = UNSET
    created_at: datetime.datetime | Unset = UNSET
    started_at: datetime.datetime | None | Unset = UNSET
    completed_at: datetime.datetime | None | Unset = UNSET
    processing_time_ms: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.extract_result import ExtractResult
        from ..models.fill_excel_result import FillExcelResult
        from ..models.fill_pdf_result import FillPdfResult
        from ..models.job_error import JobError
        from ..models.job_progress import JobProgress
        from ..models.other_result import OtherResult

        id = str(self.id)

        type_: str
        if isinstance(self.type_, KnownJobType):
            type_ = self.type_.value
        else:
            type_ = self.type_

        status: str
        if isinstance(self.status, KnownJobStatus):
            status = self.status.value
        else:
            status = self.status

        progress: dict[str, Any] | None | Unset
        if isinstance(self.progress, Unset):
            progress = UNSET
        elif isinstance(self.progress, JobProgress):
            progress = self.progress.to_dict()
        else:
            progress = self.progress

        result: dict[str, Any] | None | Unset
        if isinstance(self.result, Unset):
            result = UNSET
        elif (
            isinstance(self.result, ExtractResult)
            or isinstance(self.result, FillPdfResult)
            or isinstance(self.result, FillExcelResult)
            or isinstance(self.result, OtherResult)
        ):
            result = self.result.to_dict()
        else:
            result = self.result

        error: dict[str, Any] | None | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        elif isinstance(self.error, JobError):
            error = self.error.to_dict()
        else:
            error = self.error

        created_at: str | Unset = UNSET
        if not isinstance(self.created_at, Unset):
            created_at = self.created_at.isoformat()

        started_at: None | str | Unset
        if isinstance(self.started_at, Unset):
            started_at = UNSET
        elif isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        completed_at: None | str | Unset
        if isinstance(self.completed_at, Unset):
            completed_at = UNSET
        elif isinstance(self.completed_at, datetime.datetime):
            completed_at = self.completed_at.isoformat()
        else:
            completed_at = self.completed_at

        processing_time_ms: int | None | Unset
        if isinstance(self.processing_time_ms, Unset):
            processing_time_ms = UNSET
        else:
            processing_time_ms = self.processing_time_ms

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "type": type_,
                "status": status,
            }
        )
        if progress is not UNSET:
            field_dict["progress"] = progress
        if result is not UNSET:
            field_dict["result"] = result
        if error is not UNSET:
            field_dict["error"] = error
        if created_at is not UNSET:
            field_dict["created_at"] = created_at
        if started_at is not UNSET:
            field_dict["started_at"] = started_at
        if completed_at is not UNSET:
            field_dict["completed_at"] = completed_at
        if processing_time_ms is not UNSET:
            field_dict["processing_time_ms"] = processing_time_ms

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.extract_result import ExtractResult
        from ..models.fill_excel_result import FillExcelResult
        from ..models.fill_pdf_result import FillPdfResult
        from ..models.job_error import JobError
        from ..models.job_progress import JobProgress
        from ..models.other_result import OtherResult

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        def _parse_type_(data: object) -> KnownJobType | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_job_type_value_type_0 = KnownJobType(data)

                return componentsschemas_job_type_value_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(KnownJobType | str, data)

        type_ = _parse_type_(d.pop("type"))

        def _parse_status(data: object) -> KnownJobStatus | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_job_status_value_type_0 = KnownJobStatus(data)

                return componentsschemas_job_status_value_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(KnownJobStatus | str, data)

        status = _parse_status(d.pop("status"))

        def _parse_progress(data: object) -> JobProgress | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                progress_type_0 = JobProgress.from_dict(data)

                return progress_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobProgress | None | Unset, data)

        progress = _parse_progress(d.pop("progress", UNSET))

        def _parse_result(
            data: object,
        ) -> (
            ExtractResult | FillExcelResult | FillPdfResult | None | OtherResult | Unset
        ):
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                result_type_0 = ExtractResult.from_dict(data)

                return result_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                result_type_1 = FillPdfResult.from_dict(data)

                return result_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                result_type_2 = FillExcelResult.from_dict(data)

                return result_type_2
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                result_type_3 = OtherResult.from_dict(data)

                return result_type_3
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(
                ExtractResult
                | FillExcelResult
                | FillPdfResult
                | None
                | OtherResult
                | Unset,
                data,
            )

        result = _parse_result(d.pop("result", UNSET))

        def _parse_error(data: object) -> JobError | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = JobError.from_dict(data)

                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobError | None | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        _created_at = d.pop("created_at", UNSET)
        created_at: datetime.datetime | Unset
        if isinstance(_created_at, Unset):
            created_at = UNSET
        else:
            created_at = datetime.datetime.fromisoformat(_created_at)

        def _parse_started_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        started_at = _parse_started_at(d.pop("started_at", UNSET))

        def _parse_completed_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                completed_at_type_0 = datetime.datetime.fromisoformat(data)

                return completed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        completed_at = _parse_completed_at(d.pop("completed_at", UNSET))

        def _parse_processing_time_ms(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        processing_time_ms = _parse_processing_time_ms(
            d.pop("processing_time_ms", UNSET)
        )

        partial_job = cls(
            id=id,
            type_=type_,
            status=status,
            progress=progress,
            result=result,
            error=error,
            created_at=created_at,
            started_at=started_at,
            completed_at=completed_at,
            processing_time_ms=processing_time_ms,
        )

        partial_job.additional_properties = d
        return partial_job

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
