"""What each CloudFormation request type does to the package: the thin layer that
joins the pure core (properties, plan) to SageMaker."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from . import sagemaker
from .errors import ConcurrentUpdate, InvalidEvent, InvalidProperty, ResourceError
from .plan import plan_create, plan_delete, plan_update, resource_data
from .properties import Properties, parse_arn, parse_properties, salvage_metadata
from .response import Status

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

    from .deadline import Deadline

REQUEST_TYPES = ("Create", "Update", "Delete")
REQUIRED_FIELDS = {
    "Create": ("RequestId", "StackId", "LogicalResourceId", "ResourceProperties"),
    "Update": (
        "RequestId",
        "StackId",
        "LogicalResourceId",
        "ResourceProperties",
        "OldResourceProperties",
        "PhysicalResourceId",
    ),
    "Delete": ("RequestId", "StackId", "LogicalResourceId", "PhysicalResourceId"),
}
FAILED_CREATE_PREFIX = "failed-create/"
# A ConflictException means the package changed under us: describe and plan again
# from the fresh state, this many times in all (botocore does not retry it).
PLAN_ATTEMPTS = 3

T = TypeVar("T")


@dataclass
class Outcome:
    status: Status
    physical_resource_id: str
    data: dict[str, str] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: BaseException | None = None


@dataclass
class Invocation:
    event: Mapping[str, Any]
    deadline: Deadline
    # Called with each request before it is sent: the audit trail.
    on_request: Callable[[Mapping[str, Any]], None] = lambda request: None
    applied: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def request_id(self) -> str:
        return str(self.event.get("RequestId", ""))

    def failure_id(self) -> str:
        """The PhysicalResourceId of a FAILED response: the one CloudFormation holds,
        or, for a Create, an id that is no package ARN, so the Delete that follows
        a failed Create changes nothing."""
        current = self.event.get("PhysicalResourceId")
        if isinstance(current, str) and current:
            return current
        return FAILED_CREATE_PREFIX + (self.request_id or "unknown")

    def run(self) -> Outcome:
        sagemaker.bind_deadline(self.deadline)
        try:
            request_type = check_event(self.event)
            handler = {"Create": self.create, "Update": self.update, "Delete": self.delete}[request_type]
            physical_id, data = handler()
            return Outcome("SUCCESS", physical_id, data=data, requests=self.applied, warnings=self.warnings)
        except Exception as error:  # noqa: BLE001 - every failure must become one FAILED response
            return Outcome(
                "FAILED", self.failure_id(), requests=self.applied, warnings=self.warnings, error=error
            )

    def create(self) -> tuple[str, dict[str, str]]:
        new = parse_properties(self.event["ResourceProperties"])
        return self._converge(new, None)

    def update(self) -> tuple[str, dict[str, str]]:
        new = parse_properties(self.event["ResourceProperties"])
        old = _old_properties(self.event["OldResourceProperties"], new)
        if old.package.arn != new.package.arn:
            # Replacement: act on the new package as a Create would; the old one is
            # released by the Delete that CloudFormation sends for it afterwards.
            return self._converge(new, None)
        return self._converge(new, old)

    def delete(self) -> tuple[str, dict[str, str]]:
        physical_id = str(self.event["PhysicalResourceId"])
        try:
            package = parse_arn(physical_id, "PhysicalResourceId")
        except InvalidProperty:
            return physical_id, {}  # left by a failed Create: nothing to release
        declared, skipped = salvage_metadata(self.event.get("ResourceProperties", {}))
        self.warnings += [f"not released: {s}" for s in skipped]
        client = sagemaker.client_for(package.region)

        def release() -> None:
            live = sagemaker.describe(client, package.arn, self.deadline)
            if live is None or str(live.get("ModelPackageStatus")) == "Deleting":
                return
            plan = plan_delete(package.arn, declared, live)
            self._apply(client, plan.requests, plan.warnings)

        _replanning(release)
        return physical_id, {}

    def _converge(self, new: Properties, old: Properties | None) -> tuple[str, dict[str, str]]:
        client = sagemaker.client_for(new.package.region)

        def converge() -> dict[str, str]:
            live = sagemaker.describe_ready(client, new.package.arn, self.deadline)
            plan = plan_create(new, live) if old is None else plan_update(old, new, live)
            self._apply(client, plan.requests, plan.warnings)
            return resource_data(live, plan.requests)

        return new.package.arn, _replanning(converge)

    def _apply(self, client: SageMakerClient, requests: list[dict[str, Any]], warnings: list[str]) -> None:
        self.warnings += warnings
        for request in requests:
            self.on_request(request)
            sagemaker.update(client, request, self.request_id, self.deadline)
            self.applied.append(request)


def _replanning(work: Callable[[], T]) -> T:
    for _ in range(PLAN_ATTEMPTS - 1):
        try:
            return work()
        except ConcurrentUpdate:
            continue
    return work()


def check_event(event: Mapping[str, Any]) -> str:
    request_type = event.get("RequestType")
    if request_type not in REQUEST_TYPES:
        raise InvalidEvent(
            f"RequestType {str(request_type)[:40]!r} is none of Create, Update, Delete", "RequestType"
        )
    for name in REQUIRED_FIELDS[request_type]:
        value = event.get(name)
        if name.endswith("Properties"):
            if not isinstance(value, Mapping):
                raise InvalidEvent(f"{name} is missing or not a map", name)
        elif not isinstance(value, str) or not value:
            raise InvalidEvent(f"{name} is missing or not a string", name)
    return str(request_type)


def _old_properties(raw: object, new: Properties) -> Properties:
    """The properties CloudFormation held before. In a rollback they are the ones
    that failed. Invalid ones were refused before any change, so the package is
    still as the new (restored) properties left it: diff against those."""
    try:
        return parse_properties(raw)
    except ResourceError:
        return new
