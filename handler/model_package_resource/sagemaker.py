"""The one module that talks to SageMaker: a gateway per invocation, bound to its
client (region from the package ARN; the assumed role's credentials when the
resource names a RoleArn), its time budget and its RequestId. Service errors
become domain errors."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ConnectTimeoutError, ParamValidationError, ReadTimeoutError

from . import retry, timing
from .clients import BUDGET
from .errors import (
    AccessDenied,
    ConcurrentUpdate,
    PackageNotFound,
    PackageUnavailable,
    ResourceError,
    SageMakerError,
    TimedOut,
)

if TYPE_CHECKING:
    from .arns import PackageArn, RoleArn
    from .timing import Budget

WAITING, UNUSABLE = ("Pending", "InProgress"), ("Failed", "Deleting")
_NOT_FOUND_HINTS = ("does not exist", "not found", "cannot be found")


@dataclass
class SageMakerGateway:
    client: Any
    budget: Budget
    request_id: str
    package: PackageArn
    role: RoleArn | None = None
    # Called with each update request before it is sent: the audit trail.
    on_request: Callable[[Mapping[str, Any]], None] = lambda request: None
    sleep: Callable[[float], None] = time.sleep
    # The current plan's part of each ClientToken (see client_token).
    attempt: str = field(default_factory=lambda: uuid.uuid4().hex)

    def describe(self) -> dict[str, Any] | None:
        """The live package, or None when it does not exist. Each description starts
        a new attempt: the calls planned from it share their part of the ClientToken."""
        self.attempt = uuid.uuid4().hex
        try:
            response = self.client.describe_model_package(ModelPackageName=self.package.arn, **{BUDGET: self.budget})
        except self.client.exceptions.ClientError as error:
            if _is_not_found(error):
                return None
            raise self._domain_error("DescribeModelPackage", error) from error
        except BotoCoreError as error:
            raise _transport_error("DescribeModelPackage", error, None) from error
        return {k: v for k, v in response.items() if k != "ResponseMetadata"}

    def describe_ready(self) -> dict[str, Any]:
        """The live package once it is no longer Pending or InProgress, waiting within
        the invocation's time; a missing, Failed or Deleting one is an error."""
        attempt = 0
        while True:
            live = self.describe()
            if live is None:
                raise PackageNotFound(f"{self.package.arn} does not exist", "ModelPackageArn")
            status = package_status(live)
            if status in UNUSABLE:
                raise PackageUnavailable(f"the package's status is {status}", "ModelPackageArn")
            if status not in WAITING:
                return live
            pause = timing.POLL_INTERVALS[min(attempt, len(timing.POLL_INTERVALS) - 1)]
            attempt += 1
            if self.budget.work_remaining() - pause < self.budget.attempt_seconds:
                raise TimedOut(
                    f"the package is still {status}; raise ServiceTimeout and the function's timeout to wait longer",
                    "ModelPackageArn",
                )
            self.sleep(pause)

    def update(self, request: Mapping[str, Any]) -> None:
        self.on_request(request)
        try:
            self.client.update_model_package(
                **request, ClientToken=client_token(self.request_id, request, self.attempt), **{BUDGET: self.budget}
            )
        except self.client.exceptions.ClientError as error:
            raise self._domain_error("UpdateModelPackage", error, request) from error
        except BotoCoreError as error:
            raise _transport_error("UpdateModelPackage", error, request) from error

    def _domain_error(
        self, operation: str, error: Any, request: Mapping[str, Any] | None = None
    ) -> SageMakerError | PackageNotFound | TimedOut:
        if _is_not_found(error):
            return PackageNotFound(f"{operation}: the package does not exist", "ModelPackageArn")
        info = error.response.get("Error", {})
        code, message = info.get("Code", "Error"), info.get("Message", "")
        path = ", ".join(k for k in request if k != "ModelPackageArn") if request else None
        if code in ("AccessDeniedException", "AccessDenied"):
            return AccessDenied(self._access_hint(operation), "ModelPackageArn")  # access is to the package
        if retry.is_throttling(error.response):  # retried until no attempt fitted in the time left
            detail = f"{operation} throttled ({code}) until no time was left to retry"
            return TimedOut(detail, path or "ModelPackageArn")
        kind = ConcurrentUpdate if code == "ConflictException" else SageMakerError
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400)
        # A server error (after botocore's retries) may follow an applied call.
        return kind(f"{operation} failed: {code}: {message}", path, maybe_applied=status >= 500)

    def _access_hint(self, operation: str) -> str:
        if self.role is not None:
            return (
                f"{operation} as role {self.role.name} of {self.role.account} refused: let the role call it "
                f"on the package's group in {self.package.account}"
            )
        return (
            f"{operation} on {self.package.account}'s package refused; fix one: grant the function's role in "
            "the group's resource policy, list the account in RegistryAccountIds, or set RoleArn"
        )


def _transport_error(operation: str, error: Exception, request: Mapping[str, Any] | None) -> ResourceError:
    """No answer from SageMaker (after botocore's retries): a timeout, or no connection."""
    path = ", ".join(k for k in request if k != "ModelPackageArn") if request else "ModelPackageArn"
    if isinstance(error, ParamValidationError):
        return SageMakerError(f"{operation}: botocore refused the request: {str(error)[:120]}", path)
    if isinstance(error, ConnectTimeoutError):  # never connected: not sent
        return TimedOut(f"{operation}: SageMaker could not be reached in time", path)
    if isinstance(error, ReadTimeoutError):
        return TimedOut(f"{operation}: SageMaker did not answer in time", path, maybe_applied=True)
    return SageMakerError(
        f"{operation}: SageMaker could not be reached ({type(error).__name__})", path, maybe_applied=True
    )


def package_status(live: Mapping[str, Any]) -> str:
    return str(live.get("ModelPackageStatus", "Completed"))


def client_token(request_id: str, request: Mapping[str, Any], attempt: str) -> str:
    """Derived from the RequestId, the call's content and the plan's attempt:
    botocore's retries of one call share it (SageMaker applies the call once), and
    different calls never share one. A call sent again after its revert, by a new
    plan or a redelivered event, gets a new one: with the same token SageMaker would
    answer it as a replay without applying it. A redelivered event is idempotent by
    the diff against the live state, which sends nothing already there."""
    content = json.dumps(request, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(f"{request_id}\n{attempt}\n{content}".encode()).hexdigest()
    return digest[:36]


def _is_not_found(error: Any) -> bool:
    info = error.response.get("Error", {})
    code, message = info.get("Code", ""), info.get("Message", "").lower()
    return code in ("ResourceNotFound", "ResourceNotFoundException") or (
        code == "ValidationException" and any(h in message for h in _NOT_FOUND_HINTS)
    )
