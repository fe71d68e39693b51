from enum import StrEnum


class KnownJobType(StrEnum):
    EXTRACT = "extract"
    FILL_EXCEL = "fill_excel"
    FILL_PDF = "fill_pdf"

    def __str__(self) -> str:
        return str(self.value)
