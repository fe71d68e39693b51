"""The FastAPI app: the three Jobs endpoints of openapi.yaml and ``/_local/``.

The Jobs endpoints answer exactly as openapi.yaml describes the live
service. The ``/_local/`` routes are the control surface only the local API
has; they take no API key and are answered only to loopback clients.
"""

# No `from __future__ import annotations` here: FastAPI reads the route
# signatures, and ApiKey is local to create_app.
import enum
import logging
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict

from .clock import Clock, ManualClock
from .deviations import Deviation
from .faults import Fault, FaultQueue, RateLimiter, Stats
from .files import FileCache, content_disposition, iter_file, smallest_file_size
from .jobs import KEY_PATTERN, Job, JobStore

__all__ = ["Backend", "create_app"]

logger = logging.getLogger(__name__)


@dataclass
class Backend:
    """Everything one local API server keeps: jobs, files, faults and counts."""

    clock: Clock
    store: JobStore
    files: FileCache = field(default_factory=FileCache)
    faults: FaultQueue = field(default_factory=FaultQueue)
    stats: Stats = field(default_factory=Stats)
    limiter: RateLimiter = field(init=False)
    deviation_names: list[str] = field(default_factory=list)
    deviations: list[Deviation] = field(default_factory=list)
    sample_data: bool = True
    base_url: str = ""

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.clock)

    def create_job(self, **arguments: Any) -> Job:
        """Create a job (see :meth:`JobStore.create`), checking its file size.

        Raises:
            ValueError: an argument is out of range.
        """
        return self.store.create(check=_check_file_size, **arguments)

    def reset(self) -> None:
        """Drop created jobs, extra keys, faults, the rate limit and the counts."""
        dropped = self.store.reset()
        self.files.drop([job.id for job in dropped])
        self.faults.clear()
        self.limiter.configure(None)
        self.stats.reset()

    def info(self) -> dict[str, Any]:
        """Return what a client in another process needs to know."""
        return {
            "base_url": self.base_url,
            "api_key": self.store.api_key,
            "revoked_key": self.store.revoked_key,
            "clock": "manual" if isinstance(self.clock, ManualClock) else "monotonic",
            "now": self.clock.now(),
            "sample_data": self.sample_data,
            "deviations": list(self.deviation_names),
        }


def _check_file_size(job: Job) -> None:
    """Refuse a ``file_size`` smaller than the job's unpadded file."""
    if job.file_size is not None:
        smallest = smallest_file_size(job)
        if job.file_size < smallest:
            raise ValueError(f"file_size must be at least {smallest} for this job")


class KnownJobStatus(enum.StrEnum):
    """Statuses the ``status`` filter accepts."""

    pending = "pending"
    processing = "processing"
    completed = "completed"
    failed = "failed"


class KnownJobType(enum.StrEnum):
    """Types the ``type`` filter accepts."""

    extract = "extract"
    fill_pdf = "fill_pdf"
    fill_excel = "fill_excel"


class JobRequest(BaseModel):
    """Body of ``POST /_local/jobs``: the arguments of ``create_job``."""

    model_config = ConfigDict(extra="forbid")

    type: str = "fill_pdf"
    duration: float = 2.0
    pending: float = 0.0
    outcome: str = "completed"
    error_code: str | None = None
    error_message: str | None = None
    progress_steps: int | None = None
    status_override: str | None = None
    file_size: int | None = None
    filename: str | None = None
    content_disposition: str | None = None
    expires_in: float = 7 * 86400
    retry_after: int | None = None
    key: str | None = None
    job_id: str | None = None


class RateLimitRequest(BaseModel):
    """Body of ``PUT /_local/rate-limit``."""

    model_config = ConfigDict(extra="forbid")

    rps: float | None = None
    burst: int | None = None


class AdvanceRequest(BaseModel):
    """Body of ``POST /_local/clock/advance``."""

    model_config = ConfigDict(extra="forbid")

    seconds: float


class KeyRequest(BaseModel):
    """Body of ``POST /_local/keys``."""

    model_config = ConfigDict(extra="forbid")

    revoked: bool = False


def _unauthorized(detail: str) -> HTTPException:
    """Return the 401 the live service sends, with its challenge."""
    return HTTPException(401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def _error(status: int, detail: str, code: str | None = None) -> JSONResponse:
    """Return an error answer in the service's shape."""
    body = {"detail": detail} if code is None else {"detail": detail, "code": code}
    return JSONResponse(body, status_code=status)


def _bad_request(error: Exception) -> JSONResponse:
    """Return a control route's answer to arguments it cannot use."""
    return _error(400, str(error))


def create_app(backend: Backend) -> FastAPI:
    """Build the FastAPI app serving ``backend``.

    FastAPI's own docs and OpenAPI routes are off: openapi.yaml is the spec.
    """
    app = FastAPI(
        title="qomplement local API",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    store = backend.store

    async def authenticate(request: Request) -> str:
        """Return the request's key, or raise the service's 401 or 403."""
        authorization = request.headers.get("authorization")
        if not authorization:
            raise _unauthorized("Not authenticated")
        scheme, _, credentials = authorization.partition(" ")
        credentials = credentials.strip()
        if scheme.lower() != "bearer" or not credentials:
            raise _unauthorized("Not authenticated")
        if not KEY_PATTERN.fullmatch(credentials):
            raise _unauthorized("Could not validate credentials")
        status = store.key_status(credentials)
        if status == "unknown":
            raise _unauthorized("Could not validate credentials")
        if status == "revoked":
            raise HTTPException(403, detail="API key has been revoked")
        return credentials

    ApiKey = Annotated[str, Depends(authenticate)]

    @app.get("/v1/jobs/{job_id}")
    async def get_job(job_id: uuid.UUID, key: ApiKey) -> Response:
        job = store.get(key, job_id)
        if job is None:
            return _error(404, "Job not found")
        headers = {}
        if job.retry_after is not None:
            headers["Retry-After"] = str(job.retry_after)
        return JSONResponse(
            job.state_at(backend.clock.now()).to_json(), headers=headers
        )

    @app.get("/v1/jobs")
    async def list_jobs(
        key: ApiKey,
        status: KnownJobStatus | None = None,
        job_type: Annotated[KnownJobType | None, Query(alias="type")] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        page, total = store.page(
            key,
            status=None if status is None else status.value,
            type=None if job_type is None else job_type.value,
            limit=limit,
            offset=offset,
        )
        body = {
            "jobs": [state.to_json() for state in page],
            "total": total,
            "has_more": offset + len(page) < total,
        }
        return JSONResponse(body)

    @app.get("/v1/jobs/{job_id}/download")
    async def download_job_file(job_id: uuid.UUID, key: ApiKey) -> Response:
        job = store.get(key, job_id)
        if job is None:
            return _error(404, "Job not found")
        state = job.state_at(backend.clock.now())
        if state.status not in ("completed", "failed"):
            return _error(409, "Job has not completed yet", "job_not_completed")
        if not job.has_file or state.status != "completed" or job.status_override:
            return _error(404, "Job has no downloadable file", "no_file")
        if state.expired:
            return _error(410, "Download has expired", "file_expired")
        stored = await anyio.to_thread.run_sync(backend.files.get, job)
        return StreamingResponse(
            iter_file(stored),
            media_type=stored.media_type,
            headers={
                "Content-Length": str(stored.size),
                "Content-Disposition": content_disposition(job),
            },
        )

    @app.get("/_local/info")
    async def local_info() -> dict[str, Any]:
        return backend.info()

    @app.post("/_local/jobs", status_code=201)
    async def local_create_job(request: JobRequest) -> Response:
        arguments = request.model_dump()
        arguments["owner"] = arguments.pop("key")
        try:
            job = await anyio.to_thread.run_sync(
                lambda: backend.create_job(**arguments)
            )
        except ValueError as error:
            return _bad_request(error)
        return JSONResponse({"id": str(job.id)}, status_code=201)

    @app.post("/_local/keys", status_code=201)
    async def local_create_key(request: KeyRequest) -> dict[str, str]:
        return {"key": store.new_key(revoked=request.revoked)}

    @app.get("/_local/faults")
    async def local_faults() -> list[dict[str, Any]]:
        return backend.faults.pending()

    @app.post("/_local/faults", status_code=201)
    async def local_inject(body: dict[str, Any]) -> Response:
        try:
            fault = Fault.from_json(body)
        except (TypeError, ValueError) as error:
            return _bad_request(error)
        backend.faults.add(fault)
        return JSONResponse(backend.faults.pending(), status_code=201)

    @app.delete("/_local/faults", status_code=204)
    async def local_clear_faults() -> Response:
        backend.faults.clear()
        return Response(status_code=204)

    @app.put("/_local/rate-limit")
    async def local_rate_limit(request: RateLimitRequest) -> Response:
        try:
            backend.limiter.configure(request.rps, request.burst)
        except ValueError as error:
            return _bad_request(error)
        return JSONResponse(backend.limiter.settings)

    @app.get("/_local/stats")
    async def local_stats() -> dict[str, Any]:
        return backend.stats.snapshot()

    @app.post("/_local/reset", status_code=204)
    async def local_reset() -> Response:
        backend.reset()
        return Response(status_code=204)

    @app.post("/_local/clock/advance")
    async def local_advance(request: AdvanceRequest) -> Response:
        clock = backend.clock
        if not isinstance(clock, ManualClock):
            return _error(409, "The server's clock is not a ManualClock")
        try:
            now = clock.advance(request.seconds)
        except ValueError as error:
            return _bad_request(error)
        return JSONResponse({"now": now})

    return app
