"""Builders for the pure planner's tests: properties, packages, requests of several
resources, hand-made ownership, and a package driven through plans by SageMaker's
rules at their strictest (rules.apply(strict=True), as the local registry)."""

from __future__ import annotations

from typing import Any

from model_package_resource import rules
from model_package_resource.arns import parse_package_arn
from model_package_resource.ownership import NO_PRIOR, Entry, Item, Manager, Ownership, resource_key
from model_package_resource.plan import Plan, plan
from model_package_resource.properties import FIELDS, Properties
from model_package_resource.request import Identity, Request
from tests.helpers import ARN

PACKAGE = parse_package_arn(ARN)
STACK = "arn:aws:cloudformation:eu-west-1:123456789012:stack/cab/1"
OTHER_STACK = "arn:aws:cloudformation:eu-west-1:123456789012:stack/prod/2"
ME = resource_key(STACK, "Approve")
OTHER = resource_key(OTHER_STACK, "Approve")
APPROVAL: Item = ("field", "ModelApprovalStatus")


def props(metadata: dict[str, str] | None = None, *, overwrite: bool = False, **api: Any) -> Properties:
    return Properties(
        PACKAGE,
        fields={k: v for k, v in api.items() if k in FIELDS},
        metadata=dict(metadata or {}),
        keys_to_remove=tuple(api.get("CustomerMetadataPropertiesToRemove", ())),
        specifications=tuple(api.get("AdditionalInferenceSpecificationsToAdd", ())),
        overwrite_existing_metadata=overwrite,
    )


def live(metadata: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    return {"ModelPackageArn": ARN, "ModelPackageGroupName": "churn", "ModelPackageVersion": 2,
            "ModelPackageStatus": "Completed", "ModelApprovalStatus": "PendingManualApproval",
            "CustomerMetadataProperties": dict(metadata or {}), **fields}


def identity(request_type: str = "Update", stack: str = STACK, request_id: str = "r-1") -> Identity:
    return Identity(request_type, request_id, stack, "Approve", ARN)


def create(new: Properties, package: dict[str, Any], ownership: Ownership | None = None,
           stack: str = STACK, request_id: str = "r-1") -> Plan:
    request = Request(identity("Create", stack, request_id), "Create", "create", new)
    return plan(request, package, ownership or Ownership(), now=1.0)


def update(old: Properties, new: Properties, package: dict[str, Any], ownership: Ownership,
           stack: str = STACK) -> Plan:
    return plan(Request(identity("Update", stack), "Update", "update", new, baseline=old), package, ownership, 1.0)


def release(old: Properties, package: dict[str, Any], ownership: Ownership, stack: str = STACK) -> Plan:
    return plan(Request(identity("Delete", stack), "Delete", "release", old), package, ownership, now=1.0)


def body(call: Any) -> dict[str, Any]:
    request = call.request if hasattr(call, "request") else call
    return {k: v for k, v in request.items() if k != "ModelPackageArn"}


def bodies(planned: Plan) -> list[dict[str, Any]]:
    return [body(call) for call in planned.calls]


def apply_all(package: dict[str, Any], planned: Plan) -> dict[str, Any]:
    for call in planned.calls:
        package = rules.apply(package, call.request, strict=True)
    return package


def owned(entries: dict[Item, Entry]) -> Ownership:
    return Ownership(entries=entries)


def entry(*managers: tuple[Any, ...], prior: Any = NO_PRIOR) -> Entry:
    """An item's entry: managers as (resource, value), or (resource, value, True) for
    one that changed the item (a call was needed), in the order they set it."""
    return Entry(tuple(Manager(m[0], m[1], bool(m[2]) if len(m) > 2 else False) for m in managers), prior)
