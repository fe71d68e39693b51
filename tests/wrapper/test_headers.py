"""Reading Retry-After and Content-Disposition, and naming downloaded files."""

from __future__ import annotations

import pytest
from qomplement_jobs._headers import (
    extension_for,
    parse_content_disposition,
    parse_retry_after,
    safe_filename,
)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("2", 2.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("1.5", 1.5),
    ],
)
def test_retry_after_reads_delay_seconds(value: str, seconds: float) -> None:
    assert parse_retry_after(value) == seconds


@pytest.mark.parametrize("value", [None, "", "soon", "-3", "nan", "inf"])
def test_retry_after_ignores_missing_or_invalid_values(value: str | None) -> None:
    assert parse_retry_after(value) is None


def test_retry_after_date_is_measured_against_the_answers_date_header() -> None:
    seconds = parse_retry_after(
        "Wed, 21 Oct 2015 07:28:30 GMT",
        date="Wed, 21 Oct 2015 07:28:00 GMT",
        now=0.0,  # a wildly wrong local clock must not matter
    )
    assert seconds == 30.0


def test_retry_after_date_without_date_header_uses_now() -> None:
    # 1445412480 is Wed, 21 Oct 2015 07:28:00 GMT.
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT", now=1445412480.0) == 5.0


def test_retry_after_date_in_the_past_means_no_wait() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ('attachment; filename="filled_form.pdf"', "filled_form.pdf"),
        ("attachment; filename=report.xlsx", "report.xlsx"),
        ('attachment; FILENAME="Upper.pdf"', "Upper.pdf"),
        ('attachment; filename="a \\"quoted\\" name.pdf"', 'a "quoted" name.pdf'),
        ('attachment; filename="semi;colon.pdf"; size=3', "semi;colon.pdf"),
        (
            'attachment; filename="fallback.pdf"; '
            "filename*=UTF-8''Gr%C3%BC%C3%9Fe.pdf",
            "Grüße.pdf",
        ),
        (
            "attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf; "
            'filename="EUR rates.pdf"',
            "€ rates.pdf",
        ),
        ("attachment; filename*=iso-8859-1'en'%A3%20rates.pdf", "£ rates.pdf"),
        ("attachment; filename*=UTF-8'ja'%E6%97%A5%E6%9C%AC.pdf", "日本.pdf"),
    ],
)
def test_content_disposition_prefers_filename_star(header: str, name: str) -> None:
    assert parse_content_disposition(header) == name


@pytest.mark.parametrize(
    "header",
    [None, "", "attachment", "inline; size=12", "attachment; filename*=bogus"],
)
def test_content_disposition_without_a_usable_name(header: str | None) -> None:
    assert parse_content_disposition(header) is None


def test_content_disposition_undecodable_filename_star_falls_back_to_filename() -> None:
    header = "attachment; filename*=UTF-8''%FF%FE.pdf; filename=\"plain.pdf\""
    assert parse_content_disposition(header) == "plain.pdf"


def test_content_disposition_unknown_charset_falls_back_to_filename() -> None:
    header = "attachment; filename*=EBCDIC''%C1.pdf; filename=\"plain.pdf\""
    assert parse_content_disposition(header) == "plain.pdf"


@pytest.mark.parametrize(
    ("proposed", "safe"),
    [
        ("filled_form.pdf", "filled_form.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("/absolute/path.pdf", "path.pdf"),
        (".bashrc", "bashrc"),
        ("...hidden.pdf", "hidden.pdf"),
        ("name. ", "name"),
        ("tab\there.pdf", "tab_here.pdf"),
        ("nul\x00byte.pdf", "nul_byte.pdf"),
        ('what?<are>:"these*|.pdf', "what__are___these__.pdf"),
        ("CON.pdf", "_CON.pdf"),
        ("Gr\u0075\u0308\u00dfe.pdf", "Grüße.pdf"),
    ],
)
def test_safe_filename_keeps_the_name_inside_the_directory(
    proposed: str, safe: str
) -> None:
    assert safe_filename(proposed) == safe


@pytest.mark.parametrize(
    "proposed", [None, "", "..", ".", "../", "/", " . ", "___", "\x00"]
)
def test_safe_filename_rejects_names_with_nothing_usable(proposed: str | None) -> None:
    assert safe_filename(proposed) is None


def test_safe_filename_cuts_long_names_keeping_the_extension() -> None:
    name = safe_filename("é" * 300 + ".pdf")
    assert name is not None
    assert name.endswith(".pdf")
    assert len(name.encode("utf-8")) <= 255


@pytest.mark.parametrize(
    ("media_type", "extension"),
    [
        ("application/pdf", ".pdf"),
        ("application/pdf; charset=binary", ".pdf"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
        ("APPLICATION/PDF", ".pdf"),
        ("application/x-unheard-of", ".bin"),
        (None, ".bin"),
    ],
)
def test_extension_for_media_type(media_type: str | None, extension: str) -> None:
    assert extension_for(media_type) == extension
