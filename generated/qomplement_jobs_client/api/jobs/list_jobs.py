from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.http_validation_error import HTTPValidationError
from ...models.job_list import JobList
from ...models.known_job_status import KnownJobStatus
from ...models.known_job_type import KnownJobType
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    status: KnownJobStatus | Unset = UNSET,
    type_: KnownJobType | Unset = UNSET,
    limit: int | Unset = 20,
    offset: int | Unset = 0,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status.value

    params["status"] = json_status

    json_type_: str | Unset = UNSET
    if not isinstance(type_, Unset):
        json_type_ = type_.value

    params["type"] = json_type_

    params["limit"] = limit

    params["offset"] = offset

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/jobs",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | HTTPValidationError | JobList | None:
    if response.status_code == 200:
        response_200 = JobList.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorResponse.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorResponse.from_dict(response.json())

        return response_403

    if response.status_code == 422:
        response_422 = HTTPValidationError.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = ErrorResponse.from_dict(response.json())

        return response_429

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | HTTPValidationError | JobList]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    status: KnownJobStatus | Unset = UNSET,
    type_: KnownJobType | Unset = UNSET,
    limit: int | Unset = 20,
    offset: int | Unset = 0,
) -> Response[ErrorResponse | HTTPValidationError | JobList]:
    """List jobs

     Returns one page of the key's jobs, newest first (by `created_at`, then
    by `id`), optionally filtered by `status` and `type`. Walk all pages by
    increasing `offset` by the page length until `has_more` is false.

    Args:
        status (KnownJobStatus | Unset): A job status this document knows; `completed` and
            `failed` are terminal.
        type_ (KnownJobType | Unset): A job type this document knows.
        limit (int | Unset):  Default: 20.
        offset (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | HTTPValidationError | JobList]
    """

    kwargs = _get_kwargs(
        status=status,
        type_=type_,
        limit=limit,
        offset=offset,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    status: KnownJobStatus | Unset = UNSET,
    type_: KnownJobType | Unset = UNSET,
    limit: int | Unset = 20,
    offset: int | Unset = 0,
) -> ErrorResponse | HTTPValidationError | JobList | None:
    """List jobs

     Returns one page of the key's jobs, newest first (by `created_at`, then
    by `id`), optionally filtered by `status` and `type`. Walk all pages by
    increasing `offset` by the page length until `has_more` is false.

    Args:
        status (KnownJobStatus | Unset): A job status this document knows; `completed` and
            `failed` are terminal.
        type_ (KnownJobType | Unset): A job type this document knows.
        limit (int | Unset):  Default: 20.
        offset (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | HTTPValidationError | JobList
    """

    return sync_detailed(
        client=client,
        status=status,
        type_=type_,
        limit=limit,
        offset=offset,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    status: KnownJobStatus | Unset = UNSET,
    type_: KnownJobType | Unset = UNSET,
    limit: int | Unset = 20,
    offset: int | Unset = 0,
) -> Response[ErrorResponse | HTTPValidationError | JobList]:
    """List jobs

     Returns one page of the key's jobs, newest first (by `created_at`, then
    by `id`), optionally filtered by `status` and `type`. Walk all pages by
    increasing `offset` by the page length until `has_more` is false.

    Args:
        status (KnownJobStatus | Unset): A job status this document knows; `completed` and
            `failed` are terminal.
        type_ (KnownJobType | Unset): A job type this document knows.
        limit (int | Unset):  Default: 20.
        offset (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | HTTPValidationError | JobList]
    """

    kwargs = _get_kwargs(
        status=status,
        type_=type_,
        limit=limit,
        offset=offset,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    status: KnownJobStatus | Unset = UNSET,
    type_: KnownJobType | Unset = UNSET,
    limit: int | Unset = 20,
    offset: int | Unset = 0,
) -> ErrorResponse | HTTPValidationError | JobList | None:
    """List jobs

     Returns one page of the key's jobs, newest first (by `created_at`, then
    by `id`), optionally filtered by `status` and `type`. Walk all pages by
    increasing `offset` by the page length until `has_more` is false.

    Args:
        status (KnownJobStatus | Unset): A job status this document knows; `completed` and
            `failed` are terminal.
        type_ (KnownJobType | Unset): A job type this document knows.
        limit (int | Unset):  Default: 20.
        offset (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | HTTPValidationError | JobList
    """

    return (
        await asyncio_detailed(
            client=client,
            status=status,
            type_=type_,
            limit=limit,
            offset=offset,
        )
    ).parsed
