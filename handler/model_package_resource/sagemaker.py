"""The one module that talks to SageMaker: a gateway per invocation, bound to its
client (region from the package ARN; the assumed role's credentials when the
resource names a RoleArn), its deadline and its RequestId. Service errors
become domain errors."""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ConnectTimeoutError, ParamValidationError, ReadTimeoutError

from . import retry, timing
from .clients import DEADLINE
from .errors import (
    AccessDenied,
    ConcurrentUpdate,
    PackageNotFound,
    PackageUnavailable,
    Refused,
    ResourceError,
    SageMakerError,
    TimedOut,
    aws_error,
)
from .shapes import sensitive_values

if TYPE_CHECKING:
    from .arns import PackageArn, RoleArn
    from .timing import Deadline

WAITING, UNUSABLE = ("Pending", "InProgress"), ("Failed", "Deleting")
# DescribeModelPackage refusing because the package itself does not exist: SageMaker
# says "ModelPackage ARN does not exist.", its SDK expects "Could not find model
# package ARN", the local registry (moto) "Model package NAME/VERSION not found"
# (rules.PACKAGE_MISSING). The whole message says only that: "Image X referenced by
# model package ARN not found" names an image, and is a refusal.
_MISSING = re.compile(
    r"\s*(?:the\s+)?model\s?package(?:\s+(?:version\s+)?['\"]?(?P<subject>\S+?)['\"]?)?\s+"
    r"(?:does\s+not\s+exist|(?:was\s+)?not\s+found|(?:could\s+not|cannot)\s+be\s+found)"
    r"\.?\s*"
    r"|\s*(?:could\s+not|cannot)\s+find\s+(?:the\s+)?model\s?package(?:\s+['\"]?(?P<object>\S+?)['\"]?)?\.?\s*",
    re.IGNORECASE,
)


@dataclass
class SageMakerGateway:
    client: Any
    deadline: Deadline
    request_id: str
    package: PackageArn
    role: RoleArn | None = None
    # Called with each update request before it is sent: the audit trail.
    on_request: Callable[[Mapping[str, Any]], None] = lambda request: None
    sleep: Callable[[float], None] = time.sleep
    # The current plan's part of each ClientToken (see client_token).
    attempt: str = field(default_factory=lambda: uuid.uuid4().hex)

    def describe(self, *, reverting: bool = False) -> dict[str, Any] | None:
        """The live package, or None when it does not exist. Each description starts
        a new attempt: the calls planned from it share their part of the ClientToken.
        `reverting`: learning what landed before a revert, in the time kept for it."""
        self.attempt = uuid.uuid4().hex
        deadline = self.deadline.for_revert() if reverting else self.deadline
        try:
            response = self.client.describe_model_package(ModelPackageName=self.package.arn, **{DEADLINE: deadline})
        except self.client.exceptions.ClientError as error:
            if self._is_missing(error):
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
            if self.deadline.work_remaining() - pause < self.deadline.attempt_seconds:
                raise TimedOut(
                    f"the package is still {status}; raise ServiceTimeout and the function's timeout to wait longer",
                    "ModelPackageArn",
                )
            self.sleep(pause)

    def update(self, request: Mapping[str, Any], *, reverting: bool = False) -> None:
        """Send one UpdateModelPackage request; a revert may use the time kept for it."""
        self.on_request(request)
        deadline = self.deadline.for_revert() if reverting else self.deadline
        try:
            self.client.update_model_package(
                **request, ClientToken=client_token(self.request_id, request, self.attempt), **{DEADLINE: deadline}
            )
        except self.client.exceptions.ClientError as error:
            raise self._domain_error("UpdateModelPackage", error, request) from error
        except BotoCoreError as error:
            raise _transport_error("UpdateModelPackage", error, request) from error

    def _is_missing(self, error: BaseException) -> bool:
        """DescribeModelPackage's refusal naming this package as missing: not any
        "not found" (an image, an artifact), only the package's own."""
        code, message, _ = aws_error(error)
        if code in ("ResourceNotFound", "ResourceNotFoundException"):
            return True
        match = _MISSING.fullmatch(message) if code == "ValidationException" else None
        if match is None:
            return False
        named = match["subject"] or match["object"]
        package = self.package
        names = {package.arn.lower(), f"{package.name}/{package.version}".lower() if package.version
                 else package.name.lower()}
        return named is None or named.rstrip(".").lower() in names

    def _domain_error(
        self, operation: str, error: BaseException, request: Mapping[str, Any] | None = None
    ) -> SageMakerError | TimedOut:
        code, message, status = aws_error(error)
        path = ", ".join(k for k in request if k != "ModelPackageArn") if request else None
        if code in ("AccessDeniedException", "AccessDenied"):
            return AccessDenied(self._access_hint(operation), "ModelPackageArn")  # access is to the package
        if retry.is_throttling(getattr(error, "response", {})):  # retried until no attempt fitted in the time left
            detail = f"{operation} throttled ({code}) until no time was left to retry"
            return TimedOut(detail, path or "ModelPackageArn")
        message = withheld(message, request)
        if code == "ConflictException":
            return ConcurrentUpdate(f"{operation} failed: {code}: {message}", path)
        if code == "ValidationException":
            return Refused(f"{operation} refused: {code}: {message}", path)
        # A server error (after the retries) may follow an applied call.
        return SageMakerError(f"{operation} failed: {code}: {message}", path, maybe_applied=(status or 400) >= 500)

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


def withheld(message: str, request: Mapping[str, Any] | None) -> str:
    """SageMaker's message, unless it may quote a value botocore marks sensitive (a
    model card's content): then it is withheld, since a Reason is shown in the
    stack's events."""
    if not request:
        return message
    for value in sensitive_values(request):
        words = {word for word in re.split(r"[\s\"'{}\[\],:]+", value) if len(word) >= 6}
        if value and (value in message or any(word in message for word in words)):
            return "(SageMaker's message is withheld: it may quote ModelCardContent)"
    return message


def _transport_error(operation: str, error: Exception, request: Mapping[str, Any] | None) -> ResourceError:
    """No answer from SageMaker (after the retries): a timeout, or no connection."""
    path = ", ".join(k for k in request if k != "ModelPackageArn") if request else "ModelPackageArn"
    if isinstance(error, ParamValidationError):
        return SageMakerError(f"{operation}: botocore refused the request: {withheld(str(error)[:120], request)}", path)
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
