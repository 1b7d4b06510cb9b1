"""The one module that talks to SageMaker: a client per region (made on first use,
cached), describe, update, and waiting for a package that is still being made.
Service errors become domain errors."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from .errors import ConcurrentUpdate, PackageNotFound, PackageUnavailable, SageMakerError, TimedOut
from .plan import UNUSABLE, WAITING, package_status
from .service_model import session

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

    from .deadline import Deadline

# Bounded: a call gives up after 3 attempts (standard mode backs off between
# them), each connect within 3 s and each read within 10 s; the deadline check
# before each call keeps the whole invocation inside the Lambda's time.
RETRIES = {"mode": "standard", "total_max_attempts": 3}
CONNECT_TIMEOUT, READ_TIMEOUT = 3, 10
POLL_INTERVALS = (1.0, 2.0, 3.0, 5.0)
_NOT_FOUND_HINTS = ("does not exist", "not found", "cannot be found")
# The deadline of the invocation whose work runs on this thread.
_current = threading.local()


def bind_deadline(deadline: Deadline) -> None:
    """Tie this thread's SageMaker requests to an invocation's deadline: once it has
    passed or the response was sent, no request leaves, botocore's retries included."""
    _current.deadline = deadline


def _before_send(**_: Any) -> None:
    deadline = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.check("a SageMaker request")


# Environment settings that decide where a client calls and as whom: a client is
# cached per region and per their values, so a process whose settings change (a
# local registry restarted on another port) never reuses a stale one.
CLIENT_SETTINGS = ("AWS_ENDPOINT_URL_SAGEMAKER", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_PROFILE")


def client_for(region: str) -> SageMakerClient:
    """The SageMaker client for a package's region (taken from its ARN, so its
    partition and endpoint follow), made on first use. AWS_ENDPOINT_URL_SAGEMAKER,
    botocore's own setting, points it at a local registry."""
    return _client(region, tuple(os.environ.get(name) for name in CLIENT_SETTINGS))


@functools.cache
def _client(region: str, settings: tuple[str | None, ...]) -> SageMakerClient:
    from botocore.config import Config

    config = Config(  # type: ignore[call-arg]  # user_agent_appid: newer than the stubs
        retries=RETRIES,  # type: ignore[arg-type]
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        user_agent_appid="model-package-resource",
    )
    client = session().create_client("sagemaker", region_name=region, config=config)
    client.meta.events.register("before-send.sagemaker", _before_send)
    return cast("SageMakerClient", client)


def clear_clients() -> None:
    """Forget the cached clients (tests and runners that change client settings)."""
    _client.cache_clear()


def describe(client: SageMakerClient, arn: str, deadline: Deadline) -> dict[str, Any] | None:
    """The live package, or None when it does not exist."""
    deadline.check("DescribeModelPackage")
    try:
        response = client.describe_model_package(ModelPackageName=arn)
    except client.exceptions.ClientError as error:
        if _is_not_found(error):
            return None
        raise _domain_error("DescribeModelPackage", error) from error
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def describe_ready(
    client: SageMakerClient,
    arn: str,
    deadline: Deadline,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """The live package once it is no longer Pending or InProgress, waiting within
    the invocation's remaining time; a missing, Failed or Deleting one is an error."""
    attempt = 0
    while True:
        live = describe(client, arn, deadline)
        if live is None:
            raise PackageNotFound(f"{arn} does not exist", "ModelPackageArn")
        status = package_status(live)
        if status in UNUSABLE:
            raise PackageUnavailable(f"the package's status is {status}", "ModelPackageArn")
        if status not in WAITING:
            return live
        pause = POLL_INTERVALS[min(attempt, len(POLL_INTERVALS) - 1)]
        attempt += 1
        if deadline.remaining() <= pause:
            raise TimedOut(
                f"the package is still {status}; raise ServiceTimeout and the function's "
                "timeout to wait longer",
                "ModelPackageArn",
            )
        sleep(pause)


def update(client: SageMakerClient, request: Mapping[str, Any], request_id: str, deadline: Deadline) -> None:
    deadline.check("UpdateModelPackage")
    try:
        client.update_model_package(**request, ClientToken=client_token(request_id, request))
    except client.exceptions.ClientError as error:
        raise _domain_error("UpdateModelPackage", error) from error


def client_token(request_id: str, request: Mapping[str, Any]) -> str:
    """Derived from the RequestId and the call's content: a redelivered event sends
    the same token for the same call, and different calls never share one."""
    content = json.dumps(request, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(f"{request_id}\n{content}".encode()).hexdigest()
    return digest[:36]


def _is_not_found(error: Any) -> bool:
    info = error.response.get("Error", {})
    code, message = info.get("Code", ""), info.get("Message", "").lower()
    return code in ("ResourceNotFound", "ResourceNotFoundException") or (
        code == "ValidationException" and any(h in message for h in _NOT_FOUND_HINTS)
    )


def _domain_error(operation: str, error: Any) -> SageMakerError | PackageNotFound:
    if _is_not_found(error):
        return PackageNotFound(f"{operation}: the package does not exist", "ModelPackageArn")
    info = error.response.get("Error", {})
    kind = ConcurrentUpdate if info.get("Code") == "ConflictException" else SageMakerError
    return kind(f"{operation} failed: {info.get('Code', 'Error')}: {info.get('Message', '')}")
