"""botocore clients, made on first use and cached per service, region, credentials
and timeouts (a warm Lambda reuses them); never at import time.

Each call carries its invocation's `Budget`: the caller passes it as the private
parameter BUDGET, which the `provide-client-params` hook moves into the call's
request context, and the `request-created` hook (run before every attempt,
botocore's retries included) checks it. So no attempt starts that could still run
when the response must go, even in a worker thread whose invocation was answered
already; and a client shared by two invocations checks each call against its own.

Retries are botocore's own, through its `needs-retry` event, but with the policy of
retry.py in place of the standard mode's 3 attempts: SageMaker and STS calls are
retried until the budget's deadline (less the time kept for a revert), the
prior-state table's for a few seconds only."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import retry, timing
from .shapes import session

if TYPE_CHECKING:
    from .timing import Budget

BUDGET = "__budget"
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
    service: str, region: str, budget: Budget, credentials: Mapping[str, str] | None = None
) -> Any:
    settings = tuple(os.environ.get(name) for name in SETTINGS)
    frozen = tuple(sorted((credentials or {}).items()))
    return _client(service, region, settings, frozen, budget.connect_timeout, budget.read_timeout)


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
        retries={"mode": "standard"},  # its checks of what is retryable; its limit is replaced below
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
    return watch_budget(install_retries(made, service))


def install_retries(made: Any, service: str) -> Any:
    """Replace the standard mode's retry handler of `made` (3 attempts) with the
    policy of retry.py: the prior-state table's for DynamoDB, the deadline's for
    SageMaker and STS (AssumeRole comes before any change, so waiting costs no
    revert, and an event that cannot assume its role cannot do anything else)."""
    name = made.meta.service_model.service_id.hyphenize()
    # botocore 1.44's unique ids for the standard mode's handlers: the retry decision,
    # and the "max=3" it would announce in each attempt's amz-sdk-request header.
    made.meta.events.unregister(f"needs-retry.{name}", unique_id=f"retry-config-{name}")
    made.meta.events.unregister(f"request-created.{name}", unique_id=f"seed-max-attempts-{name}")
    if service == "dynamodb":
        policy = retry.RetryPolicy(cap=timing.TABLE_RETRY_CAP, within=timing.TABLE_RETRY_SECONDS)
    else:
        policy = retry.RetryPolicy(cap=timing.RETRY_CAP)
    hook = retry.RetryHook(policy, BUDGET)
    made.meta.events.register(f"needs-retry.{name}", hook, unique_id=f"retry-config-{name}")
    return made


def watch_budget(made: Any) -> Any:
    """Let `made` carry each call's BUDGET and check it before every attempt."""
    made.meta.events.register("provide-client-params", _carry_budget)
    made.meta.events.register("request-created", _check_budget)
    return made


def clear() -> None:
    """Forget the cached clients (runners that change client settings)."""
    _client.cache_clear()


def _carry_budget(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    budget = params.pop(BUDGET, None)
    if budget is not None:
        context[BUDGET] = budget


def _check_budget(request: Any, operation_name: str, **_: Any) -> None:
    budget = request.context.get(BUDGET)
    if budget is not None:
        budget.check(operation_name, int(request.context.get("retries", {}).get("attempt", 1)))
