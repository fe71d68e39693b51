from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.extract_result_detail import ExtractResultDetail
    from ..models.extract_result_fields import ExtractResultFields


T = TypeVar("T", bound="ExtractResult")


@_attrs_define
class ExtractResult:
    """The output of a completed `extract` job.

    Attributes:
        model (str): The extraction model that ran, such as `qomplement-OCR-v1` or `qomplement-OCR-XL-v1`.
        fields (ExtractResultFields): Extracted values, by field name.
        document_type (str | Unset): The kind of document detected, such as `invoice`.
        language (str | Unset): The document's language as an ISO 639-1 code.
        confidence (int | Unset): Overall confidence of the extraction, in percent.
        tables (list[Any] | Unset): Tables found in the document.
        pages_processed (int | Unset): Number of pages read.
        processing_time_ms (int | Unset): Time the extraction took, in milliseconds.
        detail (ExtractResultDetail | Unset): Entities and a summary, when requested at creation.
        chunks (list[Any] | Unset): Text chunks of the document, when requested at creation.
    """

    model: str
    fields: ExtractResultFields
    document_type: str | Unset = UNSET
    language: str | Unset = UNSET
    confidence: int | Unset = UNSET
    tables: list[Any] | Unset = UNSET
    pages_processed: int | Unset = UNSET
    processing_time_ms: int | Unset = UNSET
    detail: ExtractResultDetail | Unset = UNSET
    chunks: list[Any] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        model = self.model

        fields = self.fields.to_dict()

        document_type = self.document_type

        language = self.language

        confidence = self.confidence

        tables: list[Any] | Unset = UNSET
        if not isinstance(self.tables, Unset):
            tables = self.tables

        pages_processed = self.pages_processed

        processing_time_ms = self.processing_time_ms

        detail: dict[str, Any] | Unset = UNSET
        if not isinstance(self.detail, Unset):
            detail = self.detail.to_dict()

        chunks: list[Any] | Unset = UNSET
        if not isinstance(self.chunks, Unset):
            chunks = self.chunks

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "model": model,
                "fields": fields,
            }
        )
        if document_type is not UNSET:
            field_dict["document_type"] = document_type
        if language is not UNSET:
            field_dict["language"] = language
        if confidence is not UNSET:
            field_dict["confidence"] = confidence
        if tables is not UNSET:
            field_dict["tables"] = tables
        if pages_processed is not UNSET:
            field_dict["pages_processed"] = pages_processed
        if processing_time_ms is not UNSET:
            field_dict["processing_time_ms"] = processing_time_ms
        if detail is not UNSET:
            field_dict["detail"] = detail
        if chunks is not UNSET:
            field_dict["chunks"] = chunks

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.extract_result_detail import ExtractResultDetail
        from ..models.extract_result_fields import ExtractResultFields

        d = dict(src_dict)
        model = d.pop("model")

        fields = ExtractResultFields.from_dict(d.pop("fields"))

        document_type = d.pop("document_type", UNSET)

        language = d.pop("language", UNSET)

        confidence = d.pop("confidence", UNSET)

        tables = cast(list[Any], d.pop("tables", UNSET))

        pages_processed = d.pop("pages_processed", UNSET)

        processing_time_ms = d.pop("processing_time_ms", UNSET)

        _detail = d.pop("detail", UNSET)
        detail: ExtractResultDetail | Unset
        if isinstance(_detail, Unset):
            detail = UNSET
        else:
            detail = ExtractResultDetail.from_dict(_detail)

        chunks = cast(list[Any], d.pop("chunks", UNSET))

        extract_result = cls(
            model=model,
            fields=fields,
            document_type=document_type,
            language=language,
            confidence=confidence,
            tables=tables,
            pages_processed=pages_processed,
            processing_time_ms=processing_time_ms,
            detail=detail,
            chunks=chunks,
        )

        extract_result.additional_properties = d
        return extract_result

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
