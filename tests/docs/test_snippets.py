"""Every Python and CLI snippet in the README and the guide runs as written.

Each ```python block runs in its own interpreter, and each `$ qomplement ...`
line of a ```console block runs the installed CLI, against a local API with
its sample data, with `QOMPLEMENT_API_KEY` and `QOMPLEMENT_BASE_URL` set the
way a user would set them.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from qomplement_local_api import serve

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", ROOT / "docs" / "guide.md"]
FENCE = re.compile(r"^```(?P<lang>[a-z]*)\n(?P<body>.*?)^```$", re.S | re.M)
SNIPPET_TIMEOUT = 60


def _blocks(language: str) -> list[tuple[str, str]]:
    """Return (id, body) of every fenced block in `language`, in order."""
    found = []
    for document in DOCUMENTS:
        if not document.exists():
            continue
        text = document.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            if match.group("lang") == language:
                line = text.count("\n", 0, match.start()) + 1
                found.append((f"{document.name}:{line}", match.group("body")))
    return found


def _cli_lines() -> list[tuple[str, str]]:
    """Return (id, command) of every `$ qomplement ...` line in console blocks."""
    lines = []
    for block_id, body in _blocks("console"):
        for command in body.splitlines():
            if command.startswith("$ qomplement "):
                lines.append((block_id, command.removeprefix("$ ").split("  #")[0]))
    return lines


@pytest.fixture(scope="module")
def user_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of a user whose service is the local API."""
    with serve() as api:
        env = dict(os.environ)
        env["QOMPLEMENT_API_KEY"] = api.api_key
        env["QOMPLEMENT_BASE_URL"] = api.base_url
        yield env


def _run(
    command: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run a snippet as a user would, bounded in time."""
    return subprocess.run(
        command,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=SNIPPET_TIMEOUT,
        check=False,
    )


def test_the_readme_has_snippets_for_every_capability() -> None:
    code = "\n".join(body for _, body in _blocks("python"))
    for call in ("client.wait(", "wait_many(", "client.download(", "iter_jobs("):
        assert call in code, f"no README/guide snippet calls {call}"
    commands = {shlex.split(line)[1] for _, line in _cli_lines()}
    assert {"get", "list", "wait", "download"} <= commands


@pytest.mark.parametrize(("block_id", "code"), _blocks("python"))
def test_python_snippet_runs(
    block_id: str, code: str, user_env: dict[str, str], tmp_path: Path
) -> None:
    done = _run([sys.executable, "-c", code], user_env, tmp_path)

    assert done.returncode == 0, f"{block_id} failed:\n{done.stderr}"
    assert user_env["QOMPLEMENT_API_KEY"] not in done.stdout + done.stderr


@pytest.mark.parametrize(("block_id", "command"), _cli_lines())
def test_cli_snippet_runs(
    block_id: str, command: str, user_env: dict[str, str], tmp_path: Path
) -> None:
    executable = Path(sys.executable).with_name("qomplement")
    argv = [str(executable), *shlex.split(command)[1:]]
    (tmp_path / "downloads").mkdir()

    done = _run(argv, user_env, tmp_path)

    assert done.returncode == 0, f"{block_id}: {command} failed:\n{done.stderr}"
    assert user_env["QOMPLEMENT_API_KEY"] not in done.stdout + done.stderr
