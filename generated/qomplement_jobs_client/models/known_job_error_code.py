from enum import StrEnum


class KnownJobErrorCode(StrEnum):
    NO_FORM_FIELDS = "no_form_fields"
    PROCESSING_ERROR = "processing_error"

    def __str__(self) -> str:
        return str(self.value)
