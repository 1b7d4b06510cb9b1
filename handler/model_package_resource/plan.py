"""The planner: (old properties, new properties, live package) -> ordered
UpdateModelPackage requests. Pure: no AWS, no clock, no logging.

Ownership comes from the declared properties; the live state (a
DescribeModelPackage response) decides what still needs sending.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import MetadataConflict, SpecificationConflict
from .properties import Properties

MAX_SPECIFICATIONS = 15
# Parameters compared with their live value and sent when they differ; a parameter
# dropped from the properties is left as it is (SageMaker has no way to unset it).
COMPARED = (
    "ModelApprovalStatus",
    "ApprovalDescription",
    "ModelPackageRegistrationType",
    "InferenceSpecification",
    "SourceUri",
    "ModelLifeCycle",
)
WAITING, UNUSABLE = ("Pending", "InProgress"), ("Failed", "Deleting")


@dataclass
class Plan:
    requests: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def plan_create(new: Properties, live: Mapping[str, Any]) -> Plan:
    """A Create, or an Update onto another package: every declared key starts
    being managed, and the listed keys are removed."""
    return _plan(new, live, managed_before={}, remove_listed=True, dropped_specs=[])


def plan_update(old: Properties, new: Properties, live: Mapping[str, Any]) -> Plan:
    """An Update on the same package (a rollback is just an Update with old and
    new swapped). Keys dropped since `old` are released."""
    new_names = {s["Name"] for s in new.specifications}
    dropped = [s["Name"] for s in old.specifications if s["Name"] not in new_names]
    return _plan(
        new,
        live,
        managed_before=old.metadata,
        remove_listed=sorted(old.keys_to_remove) != sorted(new.keys_to_remove),
        dropped_specs=dropped,
    )


def plan_delete(arn: str, declared: Mapping[str, str], live: Mapping[str, Any]) -> Plan:
    """Release the managed keys whose live value is still the declared one."""
    plan = Plan()
    remove, left = _release(declared, _metadata(live))
    plan.warnings += left
    if remove:
        plan.requests.append({"ModelPackageArn": arn, "CustomerMetadataPropertiesToRemove": remove})
    return plan


def _plan(
    new: Properties,
    live: Mapping[str, Any],
    *,
    managed_before: Mapping[str, str],
    remove_listed: bool,
    dropped_specs: Sequence[str],
) -> Plan:
    plan = Plan()
    live_metadata = _metadata(live)
    _check_ownership(new, live_metadata, managed_before)
    specs = _specifications_to_add(new, live)

    first: dict[str, Any] = {}
    second: dict[str, Any] = {}
    to_set = {k: v for k, v in new.metadata.items() if live_metadata.get(k) != v}
    dropped = {k: v for k, v in managed_before.items() if k not in new.metadata}
    to_remove, left = _release(dropped, live_metadata)
    plan.warnings += left
    if remove_listed:
        to_remove += [k for k in new.keys_to_remove if k in live_metadata and k not in to_remove]
    if to_set:
        first["CustomerMetadataProperties"] = to_set
    if to_remove:
        first["CustomerMetadataPropertiesToRemove"] = sorted(to_remove)
    if specs:
        first["AdditionalInferenceSpecificationsToAdd"] = specs
    for name in COMPARED:
        if name in new.api and not _declared_in(new.api[name], live.get(name)):
            first[name] = new.api[name]
    # SageMaker refuses SourceUri with InferenceSpecification in one call.
    if "SourceUri" in first and "InferenceSpecification" in first:
        second["SourceUri"] = first.pop("SourceUri")
    card_first, card_second = _model_card(new.api.get("ModelCard"), live.get("ModelCard"))
    if card_first:
        first["ModelCard"] = card_first
    if card_second:
        second["ModelCard"] = card_second

    live_names = {s.get("Name") for s in live.get("AdditionalInferenceSpecifications") or []}
    for name in dropped_specs:
        if name in live_names:
            plan.warnings.append(
                f"AdditionalInferenceSpecification {name} was dropped from the properties; "
                "it stays on the package (SageMaker cannot remove one)"
            )
    for request in (first, second):
        if request:
            plan.requests.append({"ModelPackageArn": new.package.arn, **request})
    return plan


def _check_ownership(
    new: Properties, live_metadata: Mapping[str, str], managed_before: Mapping[str, str]
) -> None:
    if new.overwrite_existing_metadata:
        return
    conflicts = sorted(
        k
        for k, v in new.metadata.items()
        if k not in managed_before and k in live_metadata and live_metadata[k] != v
    )
    if conflicts:
        raise MetadataConflict(
            f"keys already hold other values on the package: {', '.join(conflicts)} "
            '(set OverwriteExistingMetadata to "true" to take them over)',
            "CustomerMetadataProperties",
        )


def _specifications_to_add(new: Properties, live: Mapping[str, Any]) -> list[dict[str, Any]]:
    on_package = {s.get("Name"): s for s in live.get("AdditionalInferenceSpecifications") or []}
    to_add = []
    for i, spec in enumerate(new.specifications):
        existing = on_package.get(spec["Name"])
        if existing is None:
            to_add.append(spec)
        elif not _declared_in(spec, existing):
            raise SpecificationConflict(
                f"{spec['Name']} is already on the package with other content; "
                "specifications are append-only, so give the changed one a new Name",
                f"AdditionalInferenceSpecificationsToAdd[{i}]",
            )
    if len(on_package) + len(to_add) > MAX_SPECIFICATIONS:
        raise SpecificationConflict(
            f"the package would hold {len(on_package) + len(to_add)} additional inference "
            f"specifications; SageMaker allows {MAX_SPECIFICATIONS}",
            "AdditionalInferenceSpecificationsToAdd",
        )
    return to_add


def _release(declared: Mapping[str, str], live_metadata: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """Keys to remove (live value still the declared one) and warnings for the
    keys left because someone else changed them since."""
    remove, left = [], []
    for key in sorted(declared):
        if key not in live_metadata:
            continue
        if live_metadata[key] == declared[key]:
            remove.append(key)
        else:
            left.append(f"metadata key {key} was changed since it was declared; left on the package")
    return remove, left


def _model_card(
    declared: Mapping[str, Any] | None, live: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model card's changes, split in two calls where SageMaker refuses the
    status with the content. An archived card takes no content, so its status goes
    first; otherwise the content goes first and the status (say, Approved) after."""
    if not declared:
        return {}, {}
    live = live or {}
    content = {}
    status = {}
    if "ModelCardContent" in declared and not _same_card_content(
        declared["ModelCardContent"], live.get("ModelCardContent")
    ):
        content = {"ModelCardContent": declared["ModelCardContent"]}
    if "ModelCardStatus" in declared and declared["ModelCardStatus"] != live.get("ModelCardStatus"):
        status = {"ModelCardStatus": declared["ModelCardStatus"]}
    if content and status:
        return (status, content) if live.get("ModelCardStatus") == "Archived" else (content, status)
    return content or status, {}


def _same_card_content(declared: str, live: Any) -> bool:
    if declared == live:
        return True
    try:
        return bool(json.loads(declared) == json.loads(live))
    except (TypeError, ValueError):
        return False


def _declared_in(declared: Any, live: Any) -> bool:
    """Whether the live value already holds everything declared. SageMaker fills in
    fields it derives (an image digest, defaults), so extra live fields are not a
    difference; declared fields must all be equal."""
    if isinstance(declared, Mapping):
        return isinstance(live, Mapping) and all(_declared_in(v, live.get(k)) for k, v in declared.items())
    if isinstance(declared, list):
        return (
            isinstance(live, list)
            and len(declared) == len(live)
            and all(_declared_in(d, v) for d, v in zip(declared, live, strict=True))
        )
    return bool(declared == live)


def _metadata(live: Mapping[str, Any]) -> dict[str, str]:
    return dict(live.get("CustomerMetadataProperties") or {})


def package_status(live: Mapping[str, Any]) -> str:
    return str(live.get("ModelPackageStatus", "Completed"))


def resource_data(live: Mapping[str, Any], requests: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Fn::GetAtt attributes, flat strings, from the package as the requests leave it."""
    approval = live.get("ModelApprovalStatus", "")
    for request in requests:
        approval = request.get("ModelApprovalStatus", approval)
    return {
        "ModelPackageArn": str(live.get("ModelPackageArn", "")),
        "ModelPackageGroupName": str(live.get("ModelPackageGroupName", "")),
        "ModelPackageVersion": str(live.get("ModelPackageVersion", "")),
        "ModelApprovalStatus": str(approval),
        "ModelPackageStatus": package_status(live),
    }
