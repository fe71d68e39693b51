"""Reading the HTTP headers the SDK acts on: Retry-After and Content-Disposition."""

from __future__ import annotations

import contextlib
import email.utils
import logging
import math
import mimetypes
import re
import unicodedata
from urllib.parse import unquote_to_bytes

logger = logging.getLogger(__name__)

# The longest name most file systems accept, in bytes of UTF-8.
_MAX_NAME_BYTES = 255

# Characters that cannot appear in a file name on at least one common system.
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')

_WINDOWS_DEVICE_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{i}" for i in range(1, 10)]
    + [f"LPT{i}" for i in range(1, 10)]
)

_EXTENSIONS = {
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/json": ".json",
    "application/zip": ".zip",
    "text/csv": ".csv",
    "text/plain": ".txt",
}

# RFC 9110 token characters, and the pieces of a Content-Disposition parameter.
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_PARAM = re.compile(
    rf"\s*;\s*(?P<name>{_TOKEN})\s*=\s*(?P<value>{_QUOTED}|[^;]*)", re.DOTALL
)
_EXT_VALUE = re.compile(r"(?P<charset>[^']*)'(?P<lang>[^']*)'(?P<text>.*)", re.DOTALL)


def parse_retry_after(
    value: str | None, *, now: float | None = None, date: str | None = None
) -> float | None:
    """Read a Retry-After header as a number of seconds, or None if absent or invalid.

    Both forms of RFC 9110 are accepted: delay-seconds (`"2"`; a decimal such
    as `"1.5"` is tolerated) and an HTTP-date. A date is measured against the
    answer's own `Date` header when there is one, so a client clock that is
    wrong does not change the delay; otherwise against `now` (wall-clock
    seconds). A date in the past means 0. Negative or unreadable values are
    ignored (None) rather than trusted.

    Example:
        >>> parse_retry_after("2")
        2.0
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        return _retry_after_from_date(text, now=now, date=date)
    if not math.isfinite(seconds) or seconds < 0:
        logger.debug("Ignoring Retry-After %r: not a delay", value)
        return None
    return seconds


def _retry_after_from_date(
    text: str, *, now: float | None, date: str | None
) -> float | None:
    """Turn an HTTP-date Retry-After into seconds from the answer's Date (or `now`)."""
    try:
        retry_at = email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError):
        logger.debug("Ignoring Retry-After %r: neither seconds nor a date", text)
        return None
    reference = now
    if date is not None:
        with contextlib.suppress(TypeError, ValueError, IndexError):
            reference = email.utils.parsedate_to_datetime(date).timestamp()
    if reference is None:
        return None
    return max(0.0, retry_at - reference)


def parse_content_disposition(value: str | None) -> str | None:
    """Return the file name a Content-Disposition header proposes, unsanitised.

    Follows RFC 6266: `filename*` (RFC 8187 encoding, UTF-8 or ISO-8859-1)
    wins over `filename`; a `filename*` that cannot be decoded falls back to
    `filename`. Returns None when neither is present.

    Example:
        >>> parse_content_disposition("attachment; filename*=UTF-8''%E2%82%AC.pdf")
        '€.pdf'
    """
    if not value:
        return None
    semicolon = value.find(";")
    if semicolon < 0:
        return None
    params: dict[str, str] = {}
    for match in _PARAM.finditer(value, semicolon):
        name = match["name"].lower()
        raw = match["value"].strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        # The first occurrence wins: a repeated parameter is a sign of tampering.
        params.setdefault(name, raw)

    extended = params.get("filename*")
    if extended is not None:
        decoded = _decode_ext_value(extended)
        if decoded is not None:
            return decoded
    return params.get("filename")


def _decode_ext_value(value: str) -> str | None:
    """Decode an RFC 8187 ext-value (`charset'lang'percent-encoded`), or None."""
    match = _EXT_VALUE.fullmatch(value)
    if match is None:
        return None
    charset = match["charset"].strip().lower()
    if charset not in ("utf-8", "iso-8859-1"):
        return None
    try:
        return unquote_to_bytes(match["text"]).decode(charset)
    except UnicodeDecodeError:
        return None


def safe_filename(proposed: str | None) -> str | None:
    """Make a proposed file name safe to create inside a chosen directory, or None.

    Only the last path component is kept (`../../etc/passwd` becomes
    `passwd`); control and reserved characters become `_`; leading dots and
    spaces are removed (no hidden files, no `.` or `..`); trailing dots and
    spaces are removed; Windows device names get a `_` prefix; the name is
    cut to 255 bytes of UTF-8 keeping its extension. Returns None when
    nothing usable is left.

    Example:
        >>> safe_filename("../../.bashrc")
        'bashrc'
    """
    if proposed is None:
        return None
    name = unicodedata.normalize("NFC", proposed)
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE_CHARS.sub("_", name)
    name = name.lstrip(". ").rstrip(". ")
    if not name or not name.strip("_"):
        return None
    stem, _dot, _suffix = name.partition(".")
    if stem.upper() in _WINDOWS_DEVICE_NAMES:
        name = f"_{name}"
    return _truncate_name(name)


def _truncate_name(name: str) -> str:
    """Cut a name to the byte limit of common file systems, keeping its extension."""
    if len(name.encode("utf-8")) <= _MAX_NAME_BYTES:
        return name
    stem, dot, suffix = name.rpartition(".")
    if not dot or len(suffix) > 16:
        stem, suffix = name, ""
    else:
        suffix = "." + suffix
    budget = _MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    cut = stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    return cut + suffix


def extension_for(media_type: str | None) -> str:
    """Return the file extension (with its dot) for a media type; `.bin` if unknown.

    Example:
        >>> extension_for("application/pdf; charset=binary")
        '.pdf'
    """
    if not media_type:
        return ".bin"
    essence = media_type.split(";", 1)[0].strip().lower()
    known = _EXTENSIONS.get(essence)
    if known is not None:
        return known
    guessed = mimetypes.guess_extension(essence, strict=False)
    return guessed or ".bin"
