"""Content-Disposition values of any shape never name a file outside the
destination directory, a hidden file or an empty name."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_support import CheckedClock, KeyWatch, count, hostile
from hypothesis import example, given
from hypothesis import strategies as st
from qomplement_jobs import Client, QomplementError
from qomplement_jobs._headers import parse_content_disposition, safe_filename
from qomplement_local_api import LocalAPI

# Every property here is bounded in examples; this bounds each in time.
pytestmark = pytest.mark.timeout(120)

# Pieces of hostile headers: parameters, both quoting styles, RFC 8187
# encodings, separators raw and encoded, dot runs, device names, bidi marks.
FRAGMENTS = [
    "attachment",
    "inline",
    "; ",
    ";",
    "filename=",
    "filename*=",
    "FILENAME=",
    "UTF-8''",
    "utf-8'en'",
    "iso-8859-1''",
    '"',
    "\\",
    "/",
    "..",
    ".",
    " ",
    "\t",
    "%2F",
    "%5C",
    "%2E%2E",
    "%00",
    "%C0%AF",
    "%E2%80%AE",
    "%FF",
    "~",
    "CON",
    "nul",
    "a.pdf",
    ".bashrc",
    "C:",
    "\u202e",
    "\uff0e",
    "\u2215",
    "\x00",
    "\x7f",
    "é",
]

header_like = st.lists(
    st.sampled_from(FRAGMENTS) | st.text(max_size=4), max_size=14
).map("".join)
any_header = st.one_of(st.text(), header_like)
# What can travel in a header value: latin-1 without control characters, and
# no whitespace at either end (HTTP/1.1 trims it).
on_the_wire = st.one_of(
    header_like, st.text(st.characters(min_codepoint=32, max_codepoint=255))
).map(lambda value: re.sub(r"[^\t\x20-\x7e\x80-\xff]", "", value).strip(" \t"))


def _as_received(header: str) -> str:
    """The header as httpx hands it over: its latin-1 bytes read as UTF-8 if
    they are valid UTF-8 (httpx tries that first), else as latin-1."""
    raw = header.encode("latin-1")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return header


def assert_safe_name(name: str, directory: Path) -> None:
    """`name` is one non-empty, non-hidden entry directly inside `directory`."""
    assert name
    assert name not in (".", "..")
    assert not name.startswith(".")
    assert not set(name) & {"/", "\\", "\x00"}
    assert len(name.encode("utf-8")) <= 255
    assert (directory / name).resolve().parent == directory.resolve()


@hostile(max_examples=3000)
@given(header=any_header)
@example(header='attachment; filename="../../etc/passwd"')
@example(header="attachment; filename*=UTF-8''..%2F..%2F.ssh%2Fauthorized_keys")
@example(header='attachment; filename="..\\..\\windows\\win.ini"')
@example(header='attachment; filename=".."')
@example(header='attachment; filename="   .   "')
@example(header='attachment; filename="CON.pdf"')
@example(header="attachment; filename*=UTF-8''%00.pdf")
@example(header='attachment; filename="' + "x" * 400 + '.pdf"')
def test_any_header_yields_no_name_or_a_safe_one(header: str, tmp_path: Path) -> None:
    count("content-disposition: parsed names are safe")

    name = safe_filename(parse_content_disposition(header))

    if name is not None:
        assert_safe_name(name, tmp_path)


@pytest.fixture
def client(api: LocalAPI) -> Iterator[Client]:
    with Client(
        api_key=api.api_key, base_url=api.base_url, clock=CheckedClock(max_pause=0)
    ) as client:
        yield client


@hostile(max_examples=150)
@given(header=on_the_wire)
@example(header='attachment; filename="../../../../tmp/escaped.pdf"')
@example(header='attachment; filename=".hidden"')
@example(header='attachment; filename=""')
@example(header="attachment; filename*=UTF-8''%2E%2E%2F%2E%2E%2Fx")
@example(header="attachment; filename=\u00c3\u00a9t\u00c3\u00a9.pdf")
def test_a_download_named_by_any_header_lands_inside_the_directory(
    header: str,
    api: LocalAPI,
    client: Client,
    key_watch: KeyWatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    count("content-disposition: real downloads land inside the directory")
    job_id = api.create_job(duration=0.0, content_disposition=header)
    parent = tmp_path_factory.mktemp("downloads")
    directory = parent / "into"
    directory.mkdir()

    try:
        written = client.download(job_id, directory)
    except QomplementError as exc:
        # Only a header naming a file that is already there (nothing is) or
        # a broken answer may fail; neither leaves anything behind.
        key_watch.saw([exc], "exception from a hostile file name")
        assert os.listdir(directory) == []
    else:
        assert written.parent == directory
        assert_safe_name(written.name, directory)
        assert os.listdir(directory) == [written.name]
        assert written.read_bytes()[:5] == b"%PDF-"
        expected = safe_filename(parse_content_disposition(_as_received(header)))
        assert written.name == (expected or f"{job_id}.pdf")
    assert os.listdir(parent) == ["into"]
