"""SageMaker's "Model Package State Change" events (EventBridge), checked for drift:
the thin shell around drift.py. SageMaker sends one on every change to a package,
ours included; for a package that the record table holds, the package is described
and every item whose live value is not what its setter declares is logged (one
line per item, "Drift") and counted (metric DriftedItems). Nothing is changed
back, no CloudFormation response is sent, and nothing raises: an event of another
shape, or one that names no package of its own account, is logged and ignored.

    parse ── read the record (none: done) ── describe ── drift ── log, count

The event is parsed once, here, at the edge; the raw event is never logged."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .arns import PackageArn, RoleArn, parse_package_arn, parse_role_arn
from .drift import Drift, declared_ownership, drift
from .errors import InvalidEvent, InvalidProperty, ResourceError, preview
from .logs import logger
from .ownership import Ownership, resource_parts
from .request import Identity

if TYPE_CHECKING:
    from .invocation import Services
    from .timing import Deadline

SOURCE = "aws.sagemaker"
DETAIL_TYPE = "SageMaker Model Package State Change"
# The keys a CloudFormation event's log lines carry: an earlier invocation of a warm
# Lambda may have left them on the logger.
CLOUDFORMATION_KEYS = ("StackId", "LogicalResourceId", "RequestType", "RequestId")


@dataclass(frozen=True)
class StateChange:
    """What the check uses of SageMaker's event."""

    event_id: str
    package: PackageArn


@dataclass(frozen=True)
class Checked:
    """What a check found, for the log and local runners (Lambda ignores it)."""

    package: str = ""
    managed: bool = False
    drifts: tuple[Drift, ...] = ()
    ignored: str = ""  # why the event was not checked

    def summary(self) -> dict[str, Any]:
        return {
            "DriftCheck": not self.ignored,
            "ModelPackageArn": self.package,
            "Managed": self.managed,
            "Drift": [d.fields() for d in self.drifts],
            "Ignored": self.ignored,
        }


@dataclass(frozen=True)
class Watcher:
    """Who the describe is made for (invocation.Caller): the event, and the resource
    whose RoleArn, if any, names the session of the role."""

    identity: Identity

    @property
    def stack_name(self) -> str:
        return resource_parts(f"{self.identity.stack_id}|")[1]


def parse_state_change(event: Mapping[str, Any]) -> StateChange:
    """SageMaker's event, validated: its source and detail-type, a model package ARN
    in detail.ModelPackageArn, and the event's account the package's (SageMaker
    sends a package's events in the account that holds it; a forwarded event keeps
    that account)."""
    source, detail_type = event.get("source"), event.get("detail-type")
    # AWS's published example of this event repeats "source" as a list, whose copy
    # as JSON keeps the list: the value is still SageMaker's.
    if source != SOURCE and source != [SOURCE]:
        raise InvalidEvent(f"source {preview(source)} is not {SOURCE}", "source")
    if detail_type != DETAIL_TYPE:
        raise InvalidEvent(f"detail-type {preview(detail_type)} is not {DETAIL_TYPE!r}", "detail-type")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise InvalidEvent("detail is missing or not a map", "detail")
    try:
        package = parse_package_arn(detail.get("ModelPackageArn"), "detail.ModelPackageArn")
    except InvalidProperty as error:
        raise InvalidEvent(error.detail, error.path) from None
    account = event.get("account")
    if account != package.account:
        raise InvalidEvent(
            f"the event's account {preview(account)} does not hold the package (account {package.account})", "account"
        )
    event_id = event.get("id")
    return StateChange(event_id[:128] if isinstance(event_id, str) and event_id else "unknown", package)


def check_drift(event: Mapping[str, Any], services: Services, deadline: Deadline) -> Checked:
    """Check the event's package for drift; never raises, never changes anything."""
    logger.remove_keys(list(CLOUDFORMATION_KEYS))
    try:
        change = parse_state_change(event)
    except ResourceError as error:
        logger.warning("Event ignored", extra={"reason": str(error)})
        return Checked(ignored=str(error))
    arn = change.package.arn
    try:
        record = services.records(deadline).read(arn)
        if not record.ownership.entries and record.lease is None:
            logger.debug("Not a managed package", extra={"ModelPackageArn": arn})
            return Checked(arn)
        known = (record.ownership, record.lease.intent) if record.lease else (record.ownership,)
        live = _describe(change, known, services, deadline)
        if live is None:
            logger.warning("A managed package no longer exists: every item it declares is absent",
                           extra={"ModelPackageArn": arn})
        found = tuple(drift(declared_ownership(record, live or {}), live or {}))
    except Exception as error:  # noqa: BLE001 - an event must never fail: EventBridge would retry it
        detail = str(error) if isinstance(error, ResourceError) else type(error).__name__
        logger.error("Drift not checked", extra={"ModelPackageArn": arn, "reason": detail},
                     exc_info=None if isinstance(error, ResourceError) else error)
        return Checked(arn, ignored=f"not checked: {detail}")
    for item in found:
        logger.warning("Drift", extra={"ModelPackageArn": arn, **item.fields()})
    logger.info("Drift checked", extra={"ModelPackageArn": arn, "drifted": len(found),
                                        "managed": len(record.ownership.entries)})
    try:
        from . import metrics

        metrics.drift_checked(arn, len(found))
    except Exception:  # noqa: BLE001 - a metric never fails the check
        logger.exception("Metrics not written")
    return Checked(arn, True, found)


def _describe(
    change: StateChange, known: tuple[Ownership, ...], services: Services, deadline: Deadline
) -> dict[str, Any] | None:
    """The live package, described as the resources that manage it were: with the
    function's own role when one of them used it (a package in this account, or one
    whose group's policy grants the function), else as the RoleArn one of them gave."""
    resource, role = _describer(change.package, known)
    stack_id, _, logical_id = resource_parts(resource)
    watcher = Watcher(Identity("Drift", change.event_id, stack_id, logical_id, None))
    return services.sagemaker(change.package, role, deadline, watcher).describe()


def _describer(package: PackageArn, known: tuple[Ownership, ...]) -> tuple[str, RoleArn | None]:
    entries = [entry for ownership in known for entry in ownership.entries.values()]
    involved = sorted(
        {m.resource for entry in entries for m in entry.managers}
        | {entry.left.resource for entry in entries if entry.left is not None}
    )
    infos = {resource: info for ownership in known for resource, info in ownership.resources.items()}
    roles: list[tuple[str, RoleArn]] = []
    for resource in involved:
        info = infos.get(resource)
        if info is None or not info.role:
            return resource, None
        try:
            roles.append((resource, parse_role_arn(info.role, package)))
        except ResourceError:
            logger.warning("The record names a role that is no IAM role ARN", extra={"resource": resource})
    return roles[0] if roles else (involved[0] if involved else "", None)
