"""Benchmarks of the SDK against the hand-written ways of doing the same work.

Run every comparison, print the Markdown table and write it to
``benchmarks/RESULTS.md``::

    python -m benchmarks

Each comparison runs the SDK and its baselines in the same run, against one
local API started in its own process, on jobs with the same plans. Client
code runs in worker processes (``python -m benchmarks.worker``), so a
measurement of memory starts from a fresh process and no strategy steals
the interpreter from another.
"""

import sys
from pathlib import Path

# Measure the packages of this checkout, not whichever copy is installed:
# the workers get the same folders first on their PYTHONPATH.
_REPO = Path(__file__).resolve().parent.parent
for _folder in ("local_api", "wrapper", "generated"):
    if str(_REPO / _folder) not in sys.path:
        sys.path.insert(0, str(_REPO / _folder))
