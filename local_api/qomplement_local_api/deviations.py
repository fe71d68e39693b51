"""Named departures from openapi.yaml that the local API can be told to make.

A deviation rewrites answers on their way out, so the conformance suite can
be shown a server that breaks the spec in one known way. The registry is
empty for now; :func:`resolve` keeps unknown names so they stay visible.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["KNOWN_DEVIATIONS", "Deviation", "Exchange", "resolve"]

logger = logging.getLogger(__name__)


@dataclass
class Exchange:
    """One request and the answer about to be sent for it.

    ``body`` is ``None`` for streamed answers (downloads): a deviation can
    then change the status and headers only.
    """

    method: str
    path: str
    query_string: bytes
    request_headers: list[tuple[bytes, bytes]]
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes | None


@runtime_checkable
class Deviation(Protocol):
    """A named rewrite of answers."""

    name: str

    def rewrite(self, exchange: Exchange) -> Exchange:
        """Return the answer to send instead (or ``exchange`` unchanged)."""
        ...


KNOWN_DEVIATIONS: dict[str, Deviation] = {}


def resolve(deviations: Iterable[str | Deviation]) -> tuple[list[str], list[Deviation]]:
    """Return the names of ``deviations`` and the ones that can be applied.

    A name missing from :data:`KNOWN_DEVIATIONS` is kept among the names,
    applies nothing, and is logged as a warning.
    """
    names: list[str] = []
    active: list[Deviation] = []
    for item in deviations:
        if isinstance(item, str):
            names.append(item)
            known = KNOWN_DEVIATIONS.get(item)
            if known is None:
                logger.warning("deviation %r is not known; it changes nothing", item)
            else:
                active.append(known)
        else:
            names.append(item.name)
            active.append(item)
    return names, active
