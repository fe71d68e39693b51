"""The exception hierarchy, and where transport failures are translated."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import qomplement_jobs
import qomplement_jobs.errors as errors_module
from qomplement_jobs import errors

PACKAGE = Path(qomplement_jobs.__file__).parent


def public_exceptions() -> list[type[BaseException]]:
    return [
        value
        for name, value in vars(errors_module).items()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__ == errors_module.__name__
        and not name.startswith("_")
    ]


def test_every_exception_derives_from_one_base() -> None:
    classes = public_exceptions()
    assert len(classes) == 20
    assert all(issubclass(cls, errors.QomplementError) for cls in classes)


def test_every_exception_has_a_one_line_docstring() -> None:
    for cls in public_exceptions():
        doc = cls.__doc__ or ""
        assert doc.strip(), cls
        assert "\n" not in doc.strip(), cls


def test_every_exception_is_exported_from_the_package() -> None:
    for cls in public_exceptions():
        assert getattr(qomplement_jobs, cls.__name__) is cls


def test_download_errors_share_a_base() -> None:
    for cls in (
        errors.JobNotFinishedError,
        errors.NoFileError,
        errors.FileExpiredError,
        errors.DownloadIncompleteError,
        errors.DestinationExistsError,
    ):
        assert issubclass(cls, errors.DownloadError)


def test_every_error_carries_status_code_body_and_retry_after() -> None:
    error = errors.ServerError("boom", status_code=503, retry_after=2.0)
    assert (error.status_code, error.body, error.retry_after) == (503, None, 2.0)
    assert repr(error) == "ServerError('boom', status_code=503)"


def test_httpx_exceptions_are_translated_in_exactly_one_module() -> None:
    translating = []
    for path in PACKAGE.glob("*.py"):
        source = path.read_text()
        if re.search(r"except[^:\n]*httpx\.", source):
            translating.append(path.name)
    assert translating == ["_http.py"]
