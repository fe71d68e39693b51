from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.known_job_error_code import KnownJobErrorCode

T = TypeVar("T", bound="JobError")


@_attrs_define
class JobError:
    """Why a job failed.

    Attributes:
        code (KnownJobErrorCode | str): A machine-readable reason; a code this document does not list yet is passed
            through as a string.
        message (str): A human-readable reason.
    """

    code: KnownJobErrorCode | str
    message: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        code: str
        if isinstance(self.code, KnownJobErrorCode):
            code = self.code.value
        else:
            code = self.code

        message = self.message

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "code": code,
                "message": message,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_code(data: object) -> KnownJobErrorCode | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                code_type_0 = KnownJobErrorCode(data)

                return code_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(KnownJobErrorCode | str, data)

        code = _parse_code(d.pop("code"))

        message = d.pop("message")

        job_error = cls(
            code=code,
            message=message,
        )

        job_error.additional_properties = d
        return job_error

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
