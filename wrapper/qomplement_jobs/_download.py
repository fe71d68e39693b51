"""Writing a download to disk so that the destination is complete or absent."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import httpx

from . import errors
from ._headers import extension_for, parse_content_disposition, safe_filename

logger = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024

# A destination ending in one of these ("out/") names a directory.
_SEPARATORS = tuple(sep for sep in (os.sep, os.altsep) if sep)

DownloadProgressCallback = Callable[[int, int | None], object]


def expected_length(response: httpx.Response) -> int | None:
    """The body length Content-Length announces, or None when absent or unreadable."""
    value = response.headers.get("content-length")
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        return None
    return length if length >= 0 else None


def check_length(response: httpx.Response) -> None:
    """Raise `DownloadIncompleteError` if the body's length is not Content-Length.

    The comparison uses the bytes that arrived on the wire, which is what
    Content-Length counts even when the body was compressed.
    """
    expected = expected_length(response)
    on_wire = response.num_bytes_downloaded
    if expected is not None and on_wire != expected:
        raise errors.DownloadIncompleteError(
            f"Download ended after {on_wire} of {expected} bytes",
            received=on_wire,
            expected=expected,
        )


def check_file_answer(response: httpx.Response) -> None:
    """Raise `InvalidResponseError` if a 200 download answer carries JSON, not a file.

    The service answers errors in JSON and files in their own media types, so
    JSON with a 200 is a broken answer (a proxy's, or a server's error page),
    which must not end up on disk as the job's file.
    """
    media_type = response.headers.get("content-type", "")
    essence = media_type.split(";", 1)[0].strip().lower()
    if essence == "application/json" or essence.endswith("+json"):
        raise errors.InvalidResponseError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code} with {essence} instead of a file",
            status_code=response.status_code,
        )


def incomplete(
    response: httpx.Response, cause: errors.TransportError
) -> errors.DownloadIncompleteError:
    """The error for a body cut off by a transport failure.

    It counts the bytes that arrived on the wire, not those handed out in
    chunks so far: a chunk is handed out only once it is full (or the body
    ends), so that count lags, and is 0 for a file smaller than one chunk.
    """
    expected = expected_length(response)
    received = response.num_bytes_downloaded
    of = f" of {expected}" if expected is not None else ""
    error = errors.DownloadIncompleteError(
        f"Download interrupted after {received}{of} bytes: {cause.message}",
        received=received,
        expected=expected,
    )
    error.__cause__ = cause
    return error


class DownloadTarget:
    """The destination of one download and the temporary file beside it.

    The body goes to a hidden temporary file in the destination's directory;
    only a complete, synced file is renamed onto the destination, so the
    destination never holds a partial file. `abort` removes the temporary
    file on any failure.
    """

    def __init__(
        self, destination: str | os.PathLike[str], *, job_id: str, overwrite: bool
    ) -> None:
        text = os.fspath(destination)
        path = Path(text).expanduser()
        self.job_id = job_id
        self.overwrite = overwrite
        # Path() drops a trailing separator, which is the only sign that the
        # caller meant a directory; without this check "out/" would become a
        # file named "out".
        names_directory = text.endswith(_SEPARATORS)
        self.into_directory = names_directory or path.is_dir()
        self.path: Path | None = None if self.into_directory else path
        self.directory = path if self.into_directory else path.parent
        self._temp: Path | None = None
        self._fd: int | None = None
        if not self.directory.is_dir():
            shown = text if names_directory else str(self.directory)
            if self.directory.exists():
                raise errors.DownloadError(f"{shown} is not a directory")
            raise errors.DownloadError(f"Directory {shown} does not exist")
        if self.path is not None:
            self._refuse_existing(self.path)

    def open(self, response: httpx.Response) -> Path:
        """Choose the final path from the headers; create the temporary file."""
        if self.path is None:
            name = safe_filename(
                parse_content_disposition(response.headers.get("content-disposition"))
            )
            if name is None:
                media_type = response.headers.get("content-type")
                name = f"{self.job_id}{extension_for(media_type)}"
            self.path = self.directory / name
            self._refuse_existing(self.path)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        while True:
            temp = self.directory / f".qomplement-{secrets.token_hex(6)}.part"
            try:
                self._fd = os.open(temp, flags, 0o666)
            except FileExistsError:
                continue
            self._temp = temp
            break
        logger.debug("Downloading job %s to %s via %s", self.job_id, self.path, temp)
        return self.path

    def write(self, chunk: bytes) -> None:
        """Append a chunk to the temporary file."""
        assert self._fd is not None
        view = memoryview(chunk)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def sync(self) -> None:
        """Flush the temporary file to storage (slow: keep it off the event loop)."""
        assert self._fd is not None
        os.fsync(self._fd)

    def publish(self) -> Path:
        """Move the complete temporary file onto the destination, atomically.

        Raises:
            DestinationExistsError: the destination appeared meanwhile and
                `overwrite` is false.
        """
        assert self._fd is not None and self._temp is not None and self.path is not None
        os.close(self._fd)
        self._fd = None
        if self.overwrite:
            os.replace(self._temp, self.path)
        else:
            self._link_without_overwriting(self._temp, self.path)
        self._temp = None
        _sync_directory(self.directory)
        return self.path

    def abort(self) -> None:
        """Close and delete the temporary file; safe to call more than once."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        if self._temp is not None:
            with contextlib.suppress(FileNotFoundError):
                self._temp.unlink()
            self._temp = None

    def _refuse_existing(self, path: Path) -> None:
        """Raise `DestinationExistsError` if `path` exists and may not be replaced."""
        if path.is_dir():
            raise errors.DestinationExistsError(path)
        if not self.overwrite and (path.exists() or path.is_symlink()):
            raise errors.DestinationExistsError(path)

    def _link_without_overwriting(self, temp: Path, path: Path) -> None:
        """Rename `temp` to `path` unless `path` exists, in one atomic step."""
        try:
            os.link(temp, path)
        except FileExistsError:
            self.abort()
            raise errors.DestinationExistsError(path) from None
        except OSError as exc:
            if exc.errno not in (
                errno.EPERM,
                errno.ENOTSUP,
                errno.EOPNOTSUPP,
                errno.EXDEV,
            ):
                raise
            # Limitation: a file system without hard links gets a check then a
            # rename, so a file created between the two would be replaced.
            if path.exists():
                self.abort()
                raise errors.DestinationExistsError(path) from None
            os.replace(temp, path)
            return
        temp.unlink()


def _sync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable (POSIX; a no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
