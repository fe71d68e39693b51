from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="FillExcelResult")


@_attrs_define
class FillExcelResult:
    """The output of a completed `fill_excel` job.

    Attributes:
        download_url (str): Path of the download endpoint for the filled workbook, relative to the server.
        expires_at (datetime.datetime | Unset): When the filled file will be deleted.
        cells_written (int | Unset): Cells that received a value.
        sheets_modified (list[str] | Unset): Names of the sheets that were written to.
    """

    download_url: str
    expires_at: datetime.datetime | Unset = UNSET
    cells_written: int | Unset = UNSET
    sheets_modified: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        download_url = self.download_url

        expires_at: str | Unset = UNSET
        if not isinstance(self.expires_at, Unset):
            expires_at = self.expires_at.isoformat()

        cells_written = self.cells_written

        sheets_modified: list[str] | Unset = UNSET
        if not isinstance(self.sheets_modified, Unset):
            sheets_modified = self.sheets_modified

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "download_url": download_url,
            }
        )
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at
        if cells_written is not UNSET:
            field_dict["cells_written"] = cells_written
        if sheets_modified is not UNSET:
            field_dict["sheets_modified"] = sheets_modified

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        download_url = d.pop("download_url")

        _expires_at = d.pop("expires_at", UNSET)
        expires_at: datetime.datetime | Unset
        if isinstance(_expires_at, Unset):
            expires_at = UNSET
        else:
            expires_at = datetime.datetime.fromisoformat(_expires_at)

        cells_written = d.pop("cells_written", UNSET)

        sheets_modified = cast(list[str], d.pop("sheets_modified", UNSET))

        fill_excel_result = cls(
            download_url=download_url,
            expires_at=expires_at,
            cells_written=cells_written,
            sheets_modified=sheets_modified,
        )

        fill_excel_result.additional_properties = d
        return fill_excel_result

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
