"""Job ids of any shape never make the SDK send a request outside the documented paths.

The requests are the ones the client really sends to a real local API,
captured with an httpx event hook and cross-checked with the server's own
count of the paths it was asked for.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from hostile_support import CheckedClock, KeyWatch, count, hostile
from hypothesis import example, given
from hypothesis import strategies as st
from qomplement_jobs import Client, Polling, QomplementError
from qomplement_local_api import SAMPLE_FILL_PDF_JOB_ID, LocalAPI

DOCUMENTED = re.compile(
    r"/v1/jobs(/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}(/download)?)?"
)

# Every property here is bounded in examples; this bounds each in time.
pytestmark = pytest.mark.timeout(120)

SAMPLE = uuid.UUID(SAMPLE_FILL_PDF_JOB_ID)
# Digits that int() reads as 0-9, as UUID() does: full-width and Arabic-Indic.
FULL_WIDTH = {ord("0") + i: 0xFF10 + i for i in range(10)}
ARABIC_INDIC = {ord("0") + i: 0x0660 + i for i in range(10)}

# Pieces that have broken path handling somewhere: traversal, encoded
# separators, whitespace, NUL, look-alike characters and the forms UUID() reads.
FRAGMENTS = [
    "../",
    "..",
    "/",
    "\\",
    "%2F",
    "%2f",
    "%2e%2e%2f",
    "%00",
    "\x00",
    " ",
    "\t",
    "\n",
    "\r\n",
    "?",
    "#",
    "&limit=100",
    "download",
    "{",
    "}",
    "urn:uuid:",
    "uuid:",
    "-",
    "_",
    "\u2215",
    "\uff0f",
    "\u0663",
    "\uff10",
    "\u202e",
    "\ufeff",
    str(SAMPLE),
    SAMPLE.hex,
    str(uuid.UUID(int=0)),
]

job_ids = st.one_of(
    st.text(),
    st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3), max_size=8).map("".join),
    st.uuids().map(str),
    st.builds(
        lambda a, u, b: a + str(u) + b,
        st.sampled_from(FRAGMENTS),
        st.uuids(),
        st.sampled_from(FRAGMENTS),
    ),
)


@pytest.fixture
def client(api: LocalAPI) -> Iterator[Client]:
    with Client(
        api_key=api.api_key,
        base_url=api.base_url,
        clock=CheckedClock(max_pause=120.0),
        polling=Polling(max_retries=0),
    ) as client:
        yield client


def _capture(client: Client) -> list[httpx.Request]:
    """Record every request `client` sends from now on."""
    sent: list[httpx.Request] = []
    client.generated.get_httpx_client().event_hooks["request"].append(sent.append)
    return sent


def _operations(
    client: Client, job_id: str, folder: Path
) -> list[Callable[[], object]]:
    """Every SDK call that takes a job id."""
    return [
        lambda: client.get_job(job_id),
        lambda: client.wait(job_id, timeout=0),
        lambda: client.download(job_id, folder, overwrite=True),
        lambda: client.download_bytes(job_id),
        lambda: list(client.iter_download(job_id)),
    ]


@hostile(max_examples=300)
@given(job_id=job_ids)
@example(job_id="../../v1/jobs")
@example(job_id=f"{SAMPLE}/../../../etc/passwd")
@example(job_id=f"{SAMPLE}%2F..%2F")
@example(job_id=f" {SAMPLE}\n")
@example(job_id="{" + str(SAMPLE) + "}")
@example(job_id=f"urn:uuid:{SAMPLE}")
@example(job_id=str(SAMPLE).translate(ARABIC_INDIC))
def test_any_job_id_is_refused_or_sent_as_a_canonical_uuid(
    job_id: str, api: LocalAPI, client: Client, key_watch: KeyWatch, tmp_path: Path
) -> None:
    count("job ids: requests stay on documented paths")
    sent = _capture(client)
    try:
        parsed = uuid.UUID(job_id)
    except ValueError:
        parsed = None

    for operation in _operations(client, job_id, tmp_path):
        before = len(sent)
        try:
            result = operation()
        except ValueError as exc:
            assert parsed is None
            assert not isinstance(exc, QomplementError)
            assert len(sent) == before, "a refused id must not reach the network"
            key_watch.saw([exc], "exception from a hostile id")
        except QomplementError as exc:
            key_watch.saw([exc], "exception from a hostile id")
        else:
            key_watch.saw([result], "result of a hostile id")

    for request in sent:
        path = request.url.raw_path.decode("ascii")
        assert DOCUMENTED.fullmatch(path), path
        assert path.split("/")[3] == str(parsed)
        assert request.url.host == "127.0.0.1"
        assert request.url.query == b""


def test_the_server_was_asked_only_for_documented_paths(
    api: LocalAPI, client: Client, tmp_path: Path
) -> None:
    hostile_ids = [
        "../../v1/jobs",
        "..%2F..%2F_local%2Freset",
        f"{SAMPLE}/../../_local/stats",
        f"{SAMPLE}/download",
        f"{SAMPLE}?limit=100",
        f"{SAMPLE}#fragment",
        "{" + str(SAMPLE) + "}",
        f"urn:uuid:{SAMPLE}",
        SAMPLE.hex.upper(),
        str(SAMPLE).translate(FULL_WIDTH),
    ]
    accepted = 0
    for job_id in hostile_ids:
        for operation in _operations(client, job_id, tmp_path):
            try:
                operation()
                accepted += 1
            except (ValueError, QomplementError):
                pass

    by_path = api.stats()["by_path"]
    assert by_path
    assert all(DOCUMENTED.fullmatch(path) for path in by_path), by_path
    assert set(by_path) <= {f"/v1/jobs/{SAMPLE}", f"/v1/jobs/{SAMPLE}/download"}
    # The brace, URN, bare-hex and full-width forms name the sample job.
    assert accepted == 4 * 5


@hostile(max_examples=150)
@given(status=st.text(), type_=st.text())
def test_any_filter_value_is_refused_or_sent_as_a_known_value(
    status: str, type_: str, api: LocalAPI, client: Client
) -> None:
    count("filters: requests stay on documented paths")
    sent = _capture(client)

    try:
        client.list_jobs(status=status, type=type_, limit=1)
    except ValueError:
        assert sent == []
    for request in sent:
        assert request.url.raw_path == b"/v1/jobs"
        params = request.url.params
        assert params["status"] in {"pending", "processing", "completed", "failed"}
        assert params["type"] in {"extract", "fill_pdf", "fill_excel"}
