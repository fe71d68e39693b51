"""A worker process: `python -m benchmarks.worker TASK`, arguments as a JSON line.

It runs one strategy of one comparison and prints its measurements as JSON
on stdout. Each task's module is imported only when asked for, so a
download worker's idle memory is not inflated by code it does not use.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

# Task name -> (module, function) taking the JSON arguments.
TASKS = {
    "wait": ("benchmarks.waiting", "work"),
    "download": ("benchmarks.download", "work"),
    "overhead": ("benchmarks.overhead", "work"),
    "many": ("benchmarks.many_jobs", "work"),
}


def main(argv: list[str]) -> int:
    """Run the task named in `argv` and print its JSON answer."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if len(argv) != 1 or argv[0] not in TASKS:
        print(
            f"usage: python -m benchmarks.worker {{{','.join(TASKS)}}}", file=sys.stderr
        )
        return 2
    module_name, function_name = TASKS[argv[0]]
    arguments = json.loads(sys.stdin.readline())
    work: Callable[[dict[str, Any]], Any] = getattr(
        importlib.import_module(module_name), function_name
    )
    print(json.dumps(work(arguments)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
