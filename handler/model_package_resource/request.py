"""The CloudFormation event, parsed once at the edge into a frozen `Request`.

`identify` never fails: it gives what every response echoes and every log line
carries. `parse_request` validates the event and its properties and decides what
kind of change it is; nothing after it reads the raw event again."""

from __future__ import annotations

import calendar
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from .arns import PackageArn, parse_package_arn
from .errors import InvalidEvent, InvalidProperty, ResourceError
from .ownership import resource_key
from .properties import ARN_PROPERTY, Properties, parse_properties, salvage_properties, service_timeout_of

RequestType = Literal["Create", "Update", "Delete"]
# create: act on a package as its first declaration; update: the same package,
# old properties the baseline; replacement: an Update onto another package (a
# Create of the new one; CloudFormation's Delete releases the old one later);
# replacement-rollback: the rollback of a replacement that failed (act on the
# package CloudFormation still holds, the restored properties the baseline, and
# release what the failed one left on the other package); release: Delete;
# nothing: a Delete whose properties and id name no package.
Kind = Literal["create", "update", "replacement", "replacement-rollback", "release", "nothing"]
REQUEST_TYPES: tuple[RequestType, ...] = ("Create", "Update", "Delete")
REQUIRED_FIELDS: Mapping[str, tuple[str, ...]] = {
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
ECHOED = ("StackId", "RequestId", "LogicalResourceId")


@dataclass(frozen=True)
class Identity:
    """What each response echoes and each log line carries; never fails."""

    request_type: str
    request_id: str
    stack_id: str
    logical_id: str
    physical_id: str | None

    @property
    def resource(self) -> str:
        """The resource's key in a package's record: StackId and LogicalResourceId."""
        return resource_key(self.stack_id, self.logical_id)

    def failure_id(self) -> str:
        """The PhysicalResourceId of a response that leaves no package to release (a
        FAILED event that changed nothing, a Delete of such an id): the one
        CloudFormation holds, or, for a Create, an id that is no package ARN, so
        that the Delete that follows changes nothing."""
        return self.physical_id or FAILED_CREATE_PREFIX + (self.request_id or "unknown")


@dataclass(frozen=True)
class Request:
    identity: Identity
    request_type: RequestType
    kind: Kind
    # The package the event acts on, with what is declared of it now (for a
    # release: the properties it releases); None only for kind "nothing".
    declared: Properties | None
    # The baseline of ownership: what the resource declared of it before.
    baseline: Properties | None = None
    # A replacement-rollback's failed properties, naming the other package.
    abandoned: Properties | None = None
    # Parts of a Delete's properties that could not be parsed, skipped.
    skipped: tuple[str, ...] = ()
    service_timeout: int | None = None
    # When CloudFormation signed the ResponseURL (epoch seconds), if it says.
    signed_at: float | None = None

    @property
    def package(self) -> PackageArn | None:
        return self.declared.package if self.declared else None

    @property
    def stack_name(self) -> str:
        # arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/ID
        return self.identity.stack_id.split(":")[-1].split("/")[1] if "/" in self.identity.stack_id else ""


def is_eventbridge(event: Mapping[str, Any]) -> bool:
    """An EventBridge event, not CloudFormation's: no RequestType, and EventBridge's
    own envelope (detail-type, source). Such events go to watch.py."""
    return "RequestType" not in event and ("detail-type" in event or "source" in event)


def identify(event: Mapping[str, Any]) -> Identity:
    def text(name: str) -> str:
        value = event.get(name)
        return value[:1024] if isinstance(value, str) else ""

    return Identity(
        text("RequestType"), text("RequestId"), text("StackId"), text("LogicalResourceId"),
        text("PhysicalResourceId") or None,
    )


def parse_request(event: Mapping[str, Any], response_url: str) -> Request:
    request_type = event.get("RequestType")
    if request_type not in REQUEST_TYPES:
        raise InvalidEvent(f"RequestType {str(request_type)[:40]!r} is none of Create, Update, Delete", "RequestType")
    for name in REQUIRED_FIELDS[str(request_type)]:
        value = event.get(name)
        if name.endswith("Properties"):
            if not isinstance(value, Mapping):
                raise InvalidEvent(f"{name} is missing or not a map", name)
        elif not isinstance(value, str) or not value:
            raise InvalidEvent(f"{name} is missing or not a string", name)
    identity = identify(event)
    signed_at = signed_time(response_url)
    raw = event.get("ResourceProperties")
    if request_type == "Delete":
        return _delete(identity, raw, signed_at)
    new = parse_properties(_mapping(raw))
    timeout = new.service_timeout
    if request_type == "Create":
        return Request(identity, "Create", "create", new, service_timeout=timeout, signed_at=signed_at)
    old = _old_properties(_mapping(event["OldResourceProperties"]), new)
    if old.package.arn == new.package.arn:
        kind: Kind = "update"
        return Request(identity, "Update", kind, new, baseline=old, service_timeout=timeout, signed_at=signed_at)
    if identity.physical_id == new.package.arn:
        return Request(
            identity, "Update", "replacement-rollback", new, baseline=new, abandoned=old,
            service_timeout=timeout, signed_at=signed_at,
        )
    return Request(identity, "Update", "replacement", new, service_timeout=timeout, signed_at=signed_at)


def _mapping(value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):  # pragma: no cover - parse_request checked it
        raise InvalidEvent("properties are not a map", "ResourceProperties")
    return value


def _delete(identity: Identity, raw: object, signed_at: float | None) -> Request:
    """A Delete releases what the record shows for its resource on the properties'
    package, whatever the PhysicalResourceId (a Create whose answer never reached
    CloudFormation is deleted with an id that names no package); properties that
    name none fall back to the id."""
    timeout = service_timeout_of(raw)
    package = None
    for value, path in ((raw.get(ARN_PROPERTY) if isinstance(raw, Mapping) else None, ARN_PROPERTY),
                        (identity.physical_id, "PhysicalResourceId")):
        try:
            package = parse_package_arn(value, path)
            break
        except InvalidProperty:
            continue
    if package is None:
        return Request(identity, "Delete", "nothing", None, service_timeout=timeout, signed_at=signed_at)
    declared, skipped = salvage_properties(raw if raw is not None else {}, package)
    return Request(
        identity, "Delete", "release", declared, skipped=tuple(skipped), service_timeout=timeout, signed_at=signed_at
    )


def _old_properties(raw: Mapping[str, Any], new: Properties) -> Properties:
    """The properties CloudFormation held before. In a rollback they are the ones
    that failed. Invalid ones were refused before any change, so the package is
    still as the new (restored) properties left it: diff against those. But when
    they name another package (the function was upgraded with stricter checks, or
    a failed replacement is rolled back), what they declare of it is salvaged: the
    change is still a replacement."""
    try:
        return parse_properties(raw)
    except ResourceError:
        try:
            package = parse_package_arn(raw.get("ModelPackageArn"))
        except ResourceError:
            return new
        if package.arn == new.package.arn:
            return new
        return salvage_properties(raw, package)[0]


def signed_time(response_url: str) -> float | None:
    """When the presigned ResponseURL was signed (its X-Amz-Date), epoch seconds."""
    try:
        values = parse_qs(urlsplit(response_url).query).get("X-Amz-Date", [])
        return float(calendar.timegm(time.strptime(values[0], "%Y%m%dT%H%M%SZ"))) if values else None
    except (ValueError, IndexError):
        return None
