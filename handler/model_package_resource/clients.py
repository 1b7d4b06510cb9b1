"""botocore clients, made on first use and cached per service, region, credentials
and timeouts (a warm Lambda reuses them); never at import time.

Each call carries its invocation's `Deadline`: the caller passes it as the private
parameter DEADLINE, which the `provide-client-params` hook moves into the call's
request context, and the `request-created` hook (run before every attempt,
botocore's retries included) checks it. So no attempt starts that could still run
when the response must go, even in a worker thread whose invocation was answered
already; and a client shared by two invocations checks each call against its own."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import timing
from .shapes import session

if TYPE_CHECKING:
    from .timing import Deadline

DEADLINE = "__deadline"
# Environment settings that decide where a client calls and as whom: part of the
# cache key, so a process whose settings change (a local registry restarted on
# another port) never reuses a stale client.
SETTINGS = (
    "AWS_ENDPOINT_URL_SAGEMAKER",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
)


def client(
    service: str, region: str, deadline: Deadline, credentials: Mapping[str, str] | None = None
) -> Any:
    settings = tuple(os.environ.get(name) for name in SETTINGS)
    frozen = tuple(sorted((credentials or {}).items()))
    return _client(service, region, settings, frozen, deadline.connect_timeout, deadline.read_timeout)


@functools.lru_cache(maxsize=32)
def _client(
    service: str,
    region: str,
    settings: tuple[str | None, ...],
    credentials: tuple[tuple[str, str], ...],
    connect_timeout: float,
    read_timeout: float,
) -> Any:
    from botocore.config import Config

    config = Config(  # type: ignore[call-arg]  # user_agent_appid: newer than the stubs
        retries={"mode": "standard", "total_max_attempts": timing.ATTEMPTS},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        user_agent_appid="model-package-resource",
    )
    keys = dict(credentials)
    made = session().create_client(
        service,
        region_name=region,
        config=config,
        aws_access_key_id=keys.get("aws_access_key_id"),
        aws_secret_access_key=keys.get("aws_secret_access_key"),
        aws_session_token=keys.get("aws_session_token"),
    )
    return watch_deadline(made)


def watch_deadline(made: Any) -> Any:
    """Let `made` carry each call's DEADLINE and check it before every attempt."""
    made.meta.events.register("provide-client-params", _carry_deadline)
    made.meta.events.register("request-created", _check_deadline)
    return made


def clear() -> None:
    """Forget the cached clients (runners that change client settings)."""
    _client.cache_clear()


def _carry_deadline(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    deadline = params.pop(DEADLINE, None)
    if deadline is not None:
        context[DEADLINE] = deadline


def _check_deadline(request: Any, operation_name: str, **_: Any) -> None:
    deadline = request.context.get(DEADLINE)
    if deadline is not None:
        deadline.check(operation_name, int(request.context.get("retries", {}).get("attempt", 1)))
