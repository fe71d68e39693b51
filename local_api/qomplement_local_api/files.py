"""The filled files that completed fill jobs download.

A ``fill_pdf`` job downloads an AcroForm PDF whose text fields hold the values
of its ``field_details``; a ``fill_excel`` job an xlsx workbook with the cells
its result counts. A job with ``file_size`` gets the same document padded to
exactly that many bytes: the PDF with an unused stream object, the workbook
with a stored zip member. Files are written once to a temporary folder and
streamed from there, so no file is ever held in memory whole.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import tempfile
import threading
import unicodedata
import uuid
import weakref
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import openpyxl  # type: ignore[import-untyped]

from .jobs import Job, excel_cells, pdf_fields

__all__ = [
    "PDF_MEDIA_TYPE",
    "XLSX_MEDIA_TYPE",
    "FileCache",
    "StoredFile",
    "content_disposition",
    "iter_file",
    "smallest_file_size",
    "write_pdf",
    "write_xlsx",
]

logger = logging.getLogger(__name__)

PDF_MEDIA_TYPE = "application/pdf"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CHUNK = 1024 * 1024
_ZEROS = bytes(_CHUNK)
# zipfile stamps members with this date, so equal jobs give equal bytes.
_ZIP_DATE = (2025, 1, 1, 0, 0, 0)
_PADDING_MEMBER = "customXml/padding.bin"


@dataclass(frozen=True)
class StoredFile:
    """A generated file on disk."""

    path: Path
    size: int
    media_type: str


# -- PDF ----------------------------------------------------------------------


def _pdf_string(text: str) -> bytes:
    """Encode ``text`` as a PDF string: literal when ASCII, else UTF-16BE."""
    if text.isascii() and text.isprintable():
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        return b"(" + escaped.encode("ascii") + b")"
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def _pdf_shown(text: str) -> bytes:
    """Encode ``text`` for a ``Tj`` in Helvetica, which only knows Latin text."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "replace").decode()
    return _pdf_string(plain)


def _stream(dictionary: bytes, data: bytes) -> bytes:
    """Return a stream object's body."""
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (dictionary, len(data), data)


def _pdf_objects(job: Job) -> list[bytes]:
    """Return the bodies of the PDF's objects; object ``n`` is item ``n - 1``."""
    fields = pdf_fields(job)
    first_field = 6
    field_refs = b" ".join(
        b"%d 0 R" % (first_field + 2 * index) for index in range(len(fields))
    )
    lines = [b"BT /Helv 16 Tf 72 740 Td (Filled form) Tj ET"]
    widgets: list[bytes] = []
    for index, item in enumerate(fields):
        top = 700 - 40 * index
        lines.append(
            b"BT /Helv 10 Tf 72 %d Td %s Tj ET" % (top + 6, _pdf_string(item.label))
        )
        shown = b"" if item.value is None else _pdf_shown(item.value)
        appearance = (
            b"/Tx BMC"
            + (b" BT /Helv 10 Tf 2 6 Td %s Tj ET" % shown if shown else b"")
            + b" EMC"
        )
        value = b"" if item.value is None else b" /V " + _pdf_string(item.value)
        widgets.append(
            b"<< /Type /Annot /Subtype /Widget /FT /Tx /T %s /TU %s%s"
            b" /Rect [200 %d 520 %d] /P 3 0 R /F 4 /DA (/Helv 10 Tf 0 g)"
            b" /AP << /N %d 0 R >> >>"
            % (
                _pdf_string(item.name),
                _pdf_string(item.label),
                value,
                top,
                top + 22,
                first_field + 2 * index + 1,
            )
        )
        widgets.append(
            _stream(
                b"/Type /XObject /Subtype /Form /BBox [0 0 320 22]"
                b" /Resources << /Font << /Helv 5 0 R >> >>",
                appearance,
            )
        )
    font_resources = b"/DR << /Font << /Helv 5 0 R >> >>"
    return [
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [%s]"
        b" /NeedAppearances true /DA (/Helv 10 Tf 0 g) %s >> >>"
        % (field_refs, font_resources),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /Helv 5 0 R >> >> /Annots [%s] >>" % field_refs,
        _stream(b"", b"\n".join(lines)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica"
        b" /Encoding /WinAnsiEncoding >>",
        *widgets,
    ]


@dataclass(frozen=True)
class _PdfLayout:
    """A PDF's bytes around its optional padding stream of ``padding`` bytes."""

    head: bytes
    padding: int
    tail: bytes

    @property
    def size(self) -> int:
        return len(self.head) + self.padding + len(self.tail)


def _pdf_layout(job: Job, padding: int | None, slack: int = 0) -> _PdfLayout:
    """Lay the PDF out, with an unused padding stream of ``padding`` bytes.

    ``slack`` spaces in the padding object's dictionary fine-tune the size.
    """
    head = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = []
    for number, body in enumerate(_pdf_objects(job), start=1):
        offsets.append(len(head))
        head += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    tail = bytearray()
    position = len(head)
    if padding is not None:
        offsets.append(len(head))
        head += b"%d 0 obj\n<< /Length %d%s >>\nstream\n" % (
            len(offsets),
            padding,
            b" " * slack,
        )
        tail += b"\nendstream\nendobj\n"
        position = len(head) + padding + len(tail)
    count = len(offsets) + 1
    tail += b"xref\n0 %d\n0000000000 65535 f \n" % count
    tail += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    tail += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        count,
        position,
    )
    return _PdfLayout(bytes(head), padding or 0, bytes(tail))


def _padded_pdf_layout(job: Job, size: int) -> _PdfLayout:
    """Return the layout whose total is exactly ``size`` bytes.

    The padding's own digits and the ``startxref`` offset grow with the
    padding, so the padding is found by correcting a guess; where a digit
    boundary skips the size, a space of slack closes the gap.

    Raises:
        ValueError: ``size`` is smaller than the smallest padded PDF.
    """
    for slack in range(3):
        padding = max(0, size - _pdf_layout(job, 0, slack).size)
        for _ in range(4):
            layout = _pdf_layout(job, padding, slack)
            if layout.size == size:
                return layout
            padding = max(0, padding + size - layout.size)
    raise ValueError(f"cannot pad a PDF to exactly {size} bytes")


def write_pdf(job: Job, target: BinaryIO) -> None:
    """Write ``job``'s filled PDF, padded to ``job.file_size`` when set."""
    if job.file_size is None:
        layout = _pdf_layout(job, None)
    else:
        layout = _padded_pdf_layout(job, job.file_size)
    target.write(layout.head)
    # Seeking over the padding leaves a hole the file system fills with zeros.
    target.seek(layout.padding, os.SEEK_CUR)
    target.write(layout.tail)


# -- xlsx ---------------------------------------------------------------------


def _xlsx_bytes(job: Job) -> bytes:
    """Return ``job``'s filled workbook as openpyxl writes it."""
    workbook = openpyxl.Workbook()
    default = workbook.active
    for index, (title, cells) in enumerate(excel_cells(job).items()):
        sheet = (
            default if index == 0 and default is not None else workbook.create_sheet()
        )
        sheet.title = title
        for coordinate, value in cells.items():
            sheet[coordinate] = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _with_bin_content_type(manifest: bytes) -> bytes:
    """Declare the ``.bin`` extension in ``[Content_Types].xml``."""
    start = manifest.index(b"<Types")
    end = manifest.index(b">", start) + 1
    default = b'<Default Extension="bin" ContentType="application/octet-stream"/>'
    return manifest[:end] + default + manifest[end:]


def _write_padded_xlsx(workbook: bytes, target: BinaryIO, padding: int) -> None:
    """Copy ``workbook`` into ``target`` and add a stored member of zeros."""
    with (
        zipfile.ZipFile(io.BytesIO(workbook)) as source,
        zipfile.ZipFile(target, "w") as packed,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "[Content_Types].xml":
                data = _with_bin_content_type(data)
            member = zipfile.ZipInfo(info.filename, date_time=_ZIP_DATE)
            member.compress_type = info.compress_type
            packed.writestr(member, data)
        member = zipfile.ZipInfo(_PADDING_MEMBER, date_time=_ZIP_DATE)
        member.compress_type = zipfile.ZIP_STORED
        with packed.open(member, "w") as stream:
            left = padding
            while left:
                step = min(left, _CHUNK)
                stream.write(_ZEROS[:step])
                left -= step


def write_xlsx(job: Job, target: BinaryIO) -> None:
    """Write ``job``'s filled workbook, padded to ``job.file_size`` when set.

    Raises:
        ValueError: ``file_size`` is smaller than the smallest padded workbook.
    """
    workbook = _xlsx_bytes(job)
    if job.file_size is None:
        target.write(workbook)
        return
    probe = io.BytesIO()
    _write_padded_xlsx(workbook, probe, 0)
    padding = job.file_size - len(probe.getvalue())
    if padding < 0:
        raise ValueError(f"cannot pad a workbook to {job.file_size} bytes")
    _write_padded_xlsx(workbook, target, padding)


def smallest_file_size(job: Job) -> int:
    """Return the smallest ``file_size`` that ``job``'s file can be padded to."""
    if job.type == "fill_pdf":
        return _pdf_layout(job, 0).size
    buffer = io.BytesIO()
    _write_padded_xlsx(_xlsx_bytes(job), buffer, 0)
    return len(buffer.getvalue())


# -- Content-Disposition ------------------------------------------------------


def content_disposition(job: Job) -> str:
    """Return the ``Content-Disposition`` value of ``job``'s download.

    ASCII names go out as a quoted ``filename``; other names also get a
    ``filename*`` (RFC 6266 and RFC 5987) with an ASCII stand-in in
    ``filename``.
    """
    if job.content_disposition is not None:
        return job.content_disposition
    extension = ".pdf" if job.type == "fill_pdf" else ".xlsx"
    name = job.filename or f"filled_form{extension}"
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = "".join(c if c.isprintable() else "_" for c in fallback).strip()
    fallback = fallback.replace("\\", "_").replace('"', "_") or f"download{extension}"
    value = f'attachment; filename="{fallback}"'
    if fallback != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


# -- the cache ----------------------------------------------------------------


class FileCache:
    """Generated files of one server, written once each, deleted at close.

    The temporary folder is made with the first file, and deleted at
    :meth:`close` or, for a server that was never stopped, at interpreter exit.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._folder: Path | None = None
        self._cleanup: weakref.finalize[Any, FileCache] | None = None
        self._job_locks: dict[uuid.UUID, threading.Lock] = {}
        self._files: dict[uuid.UUID, StoredFile] = {}

    def _ensure_folder(self) -> Path:
        """Return the folder, making it first if needed."""
        with self._lock:
            if self._folder is None:
                self._folder = Path(tempfile.mkdtemp(prefix="qomplement-local-api-"))
                self._cleanup = weakref.finalize(
                    self, shutil.rmtree, str(self._folder), ignore_errors=True
                )
            return self._folder

    def get(self, job: Job) -> StoredFile:
        """Return ``job``'s file, writing it first if needed (blocking)."""
        with self._lock:
            job_lock = self._job_locks.setdefault(job.id, threading.Lock())
        with job_lock:
            stored = self._files.get(job.id)
            if stored is None or not stored.path.exists():
                stored = self._write(job)
                with self._lock:
                    self._files[job.id] = stored
            return stored

    def _write(self, job: Job) -> StoredFile:
        """Write ``job``'s file into the folder."""
        pdf = job.type == "fill_pdf"
        path = self._ensure_folder() / f"{job.id}{'.pdf' if pdf else '.xlsx'}"
        partial = path.with_suffix(".part")
        # Someone may have cleaned the temporary folder under a running server.
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as target:
            if pdf:
                write_pdf(job, target)
            else:
                write_xlsx(job, target)
        partial.replace(path)
        media_type = PDF_MEDIA_TYPE if pdf else XLSX_MEDIA_TYPE
        size = path.stat().st_size
        logger.debug("wrote %s (%d bytes)", path, size)
        return StoredFile(path, size, media_type)

    def drop(self, job_ids: list[uuid.UUID]) -> None:
        """Delete the files of ``job_ids``."""
        with self._lock:
            for job_id in job_ids:
                stored = self._files.pop(job_id, None)
                self._job_locks.pop(job_id, None)
                if stored is not None:
                    stored.path.unlink(missing_ok=True)

    def close(self) -> None:
        """Delete the folder and every file in it."""
        with self._lock:
            self._files.clear()
            cleanup, self._cleanup, self._folder = self._cleanup, None, None
        if cleanup is not None:
            cleanup()


def iter_file(stored: StoredFile) -> Iterator[bytes]:
    """Yield ``stored``'s bytes in chunks of at most 1 MiB."""
    with stored.path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            yield chunk
