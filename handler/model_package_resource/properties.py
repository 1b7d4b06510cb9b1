"""The resource's properties: parse, coerce and validate, once, into `Properties`.

CloudFormation delivers every scalar as a string ("true", "5"). Each value is coerced
to the type that botocore's service model gives its UpdateModelPackage parameter, at
any depth, and checked against the model's enums, lengths and counts (shapes.py).
The resource's own properties (ServiceTimeout, OverwriteExistingMetadata, RoleArn)
and the rules across properties are here. Nothing here calls AWS."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .arns import PackageArn, RoleArn, parse_package_arn, parse_role_arn
from .errors import InvalidProperty, ResourceError, UnknownProperty, kind_of, unknown_name
from .shapes import boolean, coerce, integer, update_input_shape

if TYPE_CHECKING:
    from botocore.model import StructureShape

ARN_PROPERTY = "ModelPackageArn"
ROLE_PROPERTY = "RoleArn"
# Properties of the resource that are not UpdateModelPackage parameters.
RESOURCE_PROPERTIES = ("ServiceToken", "ServiceTimeout", "OverwriteExistingMetadata", ROLE_PROPERTY)
# Never a property: derived per call from the RequestId and the call's content.
DERIVED_PARAMETERS = ("ClientToken",)
# Top-level collections are declarations, not requests: an empty one means "none",
# so the model's minimum counts (which apply to a request) are not applied to them.
DECLARED_COLLECTIONS = (
    "CustomerMetadataProperties",
    "CustomerMetadataPropertiesToRemove",
    "AdditionalInferenceSpecificationsToAdd",
)
# Parameters compared with their live value, sent when they differ, and given
# back their prior value when the properties stop declaring them.
FIELDS = (
    "ModelApprovalStatus",
    "ApprovalDescription",
    "ModelPackageRegistrationType",
    "InferenceSpecification",
    "SourceUri",
    "ModelLifeCycle",
    "ModelCard",
)
SERVICE_TIMEOUT_RANGE = (1, 3600)


@dataclass(frozen=True)
class Properties:
    """Validated properties: what the resource declares of one package."""

    package: PackageArn
    fields: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)
    keys_to_remove: tuple[str, ...] = ()
    specifications: tuple[Mapping[str, Any], ...] = ()
    overwrite_existing_metadata: bool = False
    service_timeout: int | None = None
    role: RoleArn | None = None


def parse_properties(raw: Mapping[str, Any], shape: StructureShape | None = None) -> Properties:
    """Parse the event's ResourceProperties (or OldResourceProperties)."""
    shape = shape or update_input_shape()
    allowed = [n for n in shape.members if n not in DERIVED_PARAMETERS] + list(RESOURCE_PROPERTIES)
    for name in raw:
        if name in DERIVED_PARAMETERS:
            raise InvalidProperty("is not a property: each call's token is derived from the RequestId", name)
        if name not in allowed:
            raise UnknownProperty(unknown_name(name, allowed), str(name))
    package = parse_package_arn(raw.get(ARN_PROPERTY))
    api = {
        name: coerce(raw[name], member, name, declared=name in DECLARED_COLLECTIONS)
        for name, member in shape.members.items()
        if name in raw and name != ARN_PROPERTY
    }
    properties = Properties(
        package=package,
        fields={name: api[name] for name in FIELDS if name in api},
        metadata=api.get("CustomerMetadataProperties", {}),
        keys_to_remove=tuple(api.get("CustomerMetadataPropertiesToRemove", ())),
        specifications=tuple(api.get("AdditionalInferenceSpecificationsToAdd", ())),
        overwrite_existing_metadata=_overwrite(raw),
        service_timeout=_service_timeout(raw),
        role=parse_role_arn(raw[ROLE_PROPERTY], package) if ROLE_PROPERTY in raw else None,
    )
    _check_across(properties)
    return properties


def salvage_properties(raw: object, package: PackageArn) -> tuple[Properties, list[str]]:
    """For Delete, which must never fail on properties it cannot parse: every
    declared field, metadata entry and the RoleArn that is valid, and a line for
    each one left out."""
    if not isinstance(raw, Mapping):
        return Properties(package), [f"properties are {kind_of(raw)}, not a map"]
    from botocore.model import MapShape

    shape = update_input_shape()
    skipped: list[str] = []
    fields: dict[str, Any] = {}
    for name in FIELDS:
        if name in raw:
            try:
                fields[name] = coerce(raw[name], shape.members[name], name)
            except ResourceError as error:
                skipped.append(str(error))
    metadata: dict[str, str] = {}
    declared = raw.get("CustomerMetadataProperties", {})
    if not isinstance(declared, Mapping):
        skipped.append(f"CustomerMetadataProperties is {kind_of(declared)}, not a map")
        declared = {}
    entries = shape.members["CustomerMetadataProperties"]
    assert isinstance(entries, MapShape)  # noqa: S101 - botocore's model: a map of strings
    for key, value in declared.items():
        try:
            name = coerce(key, entries.key, "CustomerMetadataProperties")
            metadata[name] = coerce(value, entries.value, f"CustomerMetadataProperties.{key}")
        except ResourceError as error:
            skipped.append(str(error))
    role = None
    if ROLE_PROPERTY in raw:
        try:
            role = parse_role_arn(raw[ROLE_PROPERTY], package)
        except ResourceError as error:
            skipped.append(str(error))
    return Properties(package, fields=fields, metadata=metadata, role=role), skipped


def service_timeout_of(raw: object) -> int | None:
    """The declared ServiceTimeout, or None when absent or invalid."""
    if not isinstance(raw, Mapping) or "ServiceTimeout" not in raw:
        return None
    try:
        return _service_timeout(raw)
    except ResourceError:
        return None


def _overwrite(raw: Mapping[str, Any]) -> bool:
    if "OverwriteExistingMetadata" not in raw:
        return False
    return boolean(raw["OverwriteExistingMetadata"], "OverwriteExistingMetadata")


def _service_timeout(raw: Mapping[str, Any]) -> int | None:
    if "ServiceTimeout" not in raw:
        return None
    low, high = SERVICE_TIMEOUT_RANGE
    timeout = integer(raw["ServiceTimeout"], "ServiceTimeout")
    if not low <= timeout <= high:
        raise InvalidProperty(f"must be {low} to {high} seconds, got {timeout}", "ServiceTimeout")
    return timeout


def _check_across(properties: Properties) -> None:
    both = sorted(set(properties.metadata) & set(properties.keys_to_remove))
    if both:
        raise InvalidProperty(
            f"keys both set and removed: {', '.join(both)}", "CustomerMetadataPropertiesToRemove"
        )
    seen: set[str] = set()
    for i, spec in enumerate(properties.specifications):
        if spec["Name"] in seen:
            raise InvalidProperty(
                f"Name {spec['Name']} is declared twice", f"AdditionalInferenceSpecificationsToAdd[{i}].Name"
            )
        seen.add(spec["Name"])
