"""A client for the ``/_local/`` routes, to steer a server in another process.

Example::

    with LocalAPIControl("http://127.0.0.1:8000") as control:
        job_id = control.create_job(type="fill_excel", duration=1.0)
        control.inject(Fault("status", path="/v1/jobs/*", status=503))
        print(control.stats()["requests"])
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from .faults import Fault

__all__ = ["LocalAPIControl", "LocalAPIControlError"]


class LocalAPIControlError(Exception):
    """Raised when a control route refuses a request or cannot be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LocalAPIControl:
    """The control surface of a running local API, over HTTP.

    Method for method the same as :class:`~qomplement_local_api.LocalAPI`.
    """

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._info: dict[str, Any] | None = None

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def __enter__(self) -> LocalAPIControl:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalAPIControl({self.base_url!r})"

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        """Send one control request and return its JSON answer (or None)."""
        try:
            response = self._client.request(method, "/_local" + path, json=body)
        except httpx.HTTPError as error:
            raise LocalAPIControlError(
                f"{method} /_local{path} failed: {error}"
            ) from None
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise LocalAPIControlError(
                f"{method} /_local{path} answered {response.status_code}: {detail}",
                response.status_code,
            )
        return response.json() if response.content else None

    def info(self) -> dict[str, Any]:
        """Return the server's base URL, keys, clock kind, time and deviations."""
        self._info = self._call("GET", "/info")
        return self._info

    @property
    def api_key(self) -> str:
        """A valid key of the server."""
        return str((self._info or self.info())["api_key"])

    @property
    def revoked_key(self) -> str:
        """A revoked key of the server."""
        return str((self._info or self.info())["revoked_key"])

    def create_job(self, **arguments: Any) -> str:
        """Create a job (same arguments as ``LocalAPI.create_job``); return its id."""
        return str(self._call("POST", "/jobs", arguments)["id"])

    def new_key(self, *, revoked: bool = False) -> str:
        """Register another key and return it."""
        return str(self._call("POST", "/keys", {"revoked": revoked})["key"])

    def inject(self, fault: Fault) -> None:
        """Queue ``fault`` for the next matching requests."""
        self._call("POST", "/faults", fault.to_json())

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        self._call("DELETE", "/faults")

    def faults(self) -> list[dict[str, Any]]:
        """Return the queued faults and the requests each has left."""
        return list(self._call("GET", "/faults"))

    def set_rate_limit(self, rps: float | None, burst: int | None = None) -> None:
        """Limit each key to ``rps`` requests a second (``None``: no limit)."""
        self._call("PUT", "/rate-limit", {"rps": rps, "burst": burst})

    def stats(self) -> dict[str, Any]:
        """Return the server's request counts."""
        return dict(self._call("GET", "/stats"))

    def reset(self) -> None:
        """Drop created jobs, extra keys, faults, the rate limit and the counts."""
        self._call("POST", "/reset")

    def advance_clock(self, seconds: float) -> float:
        """Move a server's ManualClock forward; return its new time.

        Raises:
            LocalAPIControlError: the server's clock is not a ManualClock (409).
        """
        return float(self._call("POST", "/clock/advance", {"seconds": seconds})["now"])
