from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.field_detail import FieldDetail


T = TypeVar("T", bound="FillPdfResult")


@_attrs_define
class FillPdfResult:
    """The output of a completed `fill_pdf` job.

    Attributes:
        download_url (str): Path of the download endpoint for the filled PDF, relative to the server.
        fields_filled (int): Form fields that received a value.
        fields_total (int): Form fields in the PDF.
        expires_at (datetime.datetime | Unset): When the filled file will be deleted.
        field_details (list[FieldDetail] | Unset): How each field was filled.
    """

    download_url: str
    fields_filled: int
    fields_total: int
    expires_at: datetime.datetime | Unset = UNSET
    field_details: list[FieldDetail] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        download_url = self.download_url

        fields_filled = self.fields_filled

        fields_total = self.fields_total

        expires_at: str | Unset = UNSET
        if not isinstance(self.expires_at, Unset):
            expires_at = self.expires_at.isoformat()

        field_details: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.field_details, Unset):
            field_details = []
            for field_details_item_data in self.field_details:
                field_details_item = field_details_item_data.to_dict()
                field_details.append(field_details_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "download_url": download_url,
                "fields_filled": fields_filled,
                "fields_total": fields_total,
            }
        )
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at
        if field_details is not UNSET:
            field_dict["field_details"] = field_details

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.field_detail import FieldDetail

        d = dict(src_dict)
        download_url = d.pop("download_url")

        fields_filled = d.pop("fields_filled")

        fields_total = d.pop("fields_total")

        _expires_at = d.pop("expires_at", UNSET)
        expires_at: datetime.datetime | Unset
        if isinstance(_expires_at, Unset):
            expires_at = UNSET
        else:
            expires_at = datetime.datetime.fromisoformat(_expires_at)

        _field_details = d.pop("field_details", UNSET)
        field_details: list[FieldDetail] | Unset = UNSET
        if _field_details is not UNSET:
            field_details = []
            for field_details_item_data in _field_details:
                field_details_item = FieldDetail.from_dict(field_details_item_data)

                field_details.append(field_details_item)

        fill_pdf_result = cls(
            download_url=download_url,
            fields_filled=fields_filled,
            fields_total=fields_total,
            expires_at=expires_at,
            field_details=field_details,
        )

        fill_pdf_result.additional_properties = d
        return fill_pdf_result

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
